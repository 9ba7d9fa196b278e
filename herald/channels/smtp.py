"""E-mail over SMTP (smtplib), with replies classified as transient or permanent.

| failure | class | why |
| --- | --- | --- |
| connection refused, reset, timeout, server disconnected | transient | the server may come back |
| 4xx reply (421, 450, 451, 452...) | transient | the server asks to try later |
| authentication refused (535...) | transient | a provider-side setting: retried until ops fix it |
| 5xx reply to RCPT or DATA (550, 553, 554...) | permanent (recipient) | the server refuses this recipient or message |
| 5xx reply to MAIL FROM | permanent (provider) | our sender is refused: configuration; a chain tries the next provider |
| non-ASCII address, server without SMTPUTF8 | permanent (provider) | this server can never carry it; a chain tries the next provider |

An address with a non-ASCII local part (``anaïs@example.org``) is sent with SMTPUTF8 when
the server offers it (``send_message`` then adds ``SMTPUTF8`` and ``BODY=8BITMIME``).
"""

from __future__ import annotations

import smtplib
import ssl
from email.utils import parseaddr
from typing import ClassVar

from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Receipt,
    TransientSendError,
)
from herald.channels.email import build_email
from herald.kinds import Channel


def _reply(code: int, msg: bytes | str) -> str:
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return f"{code} {text}".strip()


def classify_smtp_error(err: Exception) -> TransientSendError | PermanentSendError:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        # One recipient per message: the first refusal is the answer.
        code, msg = next(iter(err.recipients.values()))
        reason = f"recipient refused: {_reply(code, msg)}"
        return PermanentSendError(reason) if code >= 500 else TransientSendError(reason)
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return TransientSendError(
            f"SMTP authentication failed: {_reply(err.smtp_code, err.smtp_error)}"
        )
    if isinstance(err, smtplib.SMTPConnectError):
        return TransientSendError(f"SMTP connect failed: {_reply(err.smtp_code, err.smtp_error)}")
    if isinstance(err, smtplib.SMTPSenderRefused) and 500 <= err.smtp_code < 600:
        # Our own sender address refused by our relay: configuration, so a failover chain
        # tries its next provider.
        return PermanentSendError(
            f"sender refused: {_reply(err.smtp_code, err.smtp_error)}", recipient_fault=False
        )
    if isinstance(err, smtplib.SMTPResponseException):
        reason = _reply(err.smtp_code, err.smtp_error)
        return (
            PermanentSendError(reason) if 500 <= err.smtp_code < 600 else TransientSendError(reason)
        )
    if isinstance(err, smtplib.SMTPException | OSError):
        return TransientSendError(f"SMTP connection problem: {type(err).__name__}: {err}")
    raise err


class SmtpProvider:
    name: ClassVar[str] = "smtp"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.EMAIL})

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        use_ssl: bool = False,
        timeout: float = 30.0,
        reply_to: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.sender, self.reply_to = sender, reply_to
        self.username, self._password = username, password
        self.starttls, self.use_ssl, self.timeout = starttls, use_ssl, timeout

    def __repr__(self) -> str:  # never show the password
        return f"SmtpProvider({self.host}:{self.port}, user={self.username!r})"

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            conn.ehlo()
            if conn.has_extn("starttls"):
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            elif self.username:
                # Never send credentials in clear text.
                conn.close()
                raise smtplib.SMTPNotSupportedError("server does not offer STARTTLS")
        return conn

    def send(self, message: OutgoingMessage) -> Receipt:
        mime = build_email(message, sender=self.sender, reply_to=self.reply_to)
        international = not (parseaddr(self.sender)[1] + message.to).isascii()
        try:
            with self._connect() as conn:
                conn.ehlo_or_helo_if_needed()
                if international and not conn.has_extn("smtputf8"):
                    raise PermanentSendError(
                        f"address {message.to!r} needs SMTPUTF8 (non-ASCII characters), "
                        f"which the SMTP server {self.host}:{self.port} does not offer",
                        recipient_fault=False,
                    )
                if self.username:
                    conn.login(self.username, self._password or "")
                conn.send_message(mime, to_addrs=[message.to])
        except PermanentSendError:
            raise
        except Exception as err:
            raise classify_smtp_error(err) from err
        return Receipt(provider=self.name, message_id=mime["Message-ID"])

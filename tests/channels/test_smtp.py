"""E-mail over SMTP (herald/channels/smtp.py) against a real aiosmtpd server."""

from __future__ import annotations

import smtplib
import socket
import threading

import pytest

from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Receipt,
    SendError,
    TransientSendError,
)
from herald.channels.email import message_id
from herald.channels.smtp import SmtpProvider, classify_smtp_error
from herald.kinds import Channel
from tests.smtp_server import SmtpServer, free_port

SENDER = "Prêts <prets@example.org>"
TO = "ada@example.org"
SUBJECT = "Caméra 📷 Sony — à rendre"
TEXT = "Bonjour Adélaïde,\n\nLa Caméra 📷 Sony — à rendre demain à 10 h. Merci !\n"
HTML = "<p>Bonjour Adélaïde,</p><p>La <b>Caméra 📷 Sony</b> — à rendre demain à 10 h.</p>"
PASSWORD = "s3cr3t-Pa55word"


def unix(text: str) -> str:
    """Body text as sent, with the wire's CRLF line endings back to LF."""
    return text.replace("\r\n", "\n")


def outgoing(
    to: str = TO, key: str = "loan-42:loan.reminder_j1@20261124T090000Z:email", **kw: object
) -> OutgoingMessage:
    fields: dict[str, object] = {
        "channel": Channel.EMAIL,
        "to": to,
        "subject": SUBJECT,
        "text": TEXT,
        "html": HTML,
        "key": key,
    }
    fields.update(kw)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def provider(smtp: SmtpServer, **kw: object) -> SmtpProvider:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "sender": SENDER,
        "starttls": False,
        "timeout": 5.0,
    }
    options.update(kw)
    return SmtpProvider(**options)  # type: ignore[arg-type]


# ------------------------------------------------------------------ success


def test_send_delivers_multipart_alternative_with_accents_and_emoji(smtp: SmtpServer) -> None:
    receipt = provider(smtp).send(outgoing())

    received = smtp.handler.to(TO)
    assert len(received) == 1
    [mail] = received
    assert mail.recipients == [TO]
    assert mail.envelope_from == "prets@example.org"
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert mail.subject == SUBJECT
    assert unix(mail.part("plain")).strip() == TEXT.strip()
    assert unix(mail.part("html")).strip() == HTML
    assert str(msg["From"]) == SENDER
    assert msg["From"].addresses[0].display_name == "Prêts"
    assert str(msg["To"]) == TO
    assert msg["Date"] is not None
    assert msg["Reply-To"] is None

    assert isinstance(receipt, Receipt)
    assert receipt.provider == "smtp"
    assert receipt.message_id == msg["Message-ID"]


def test_message_id_derives_from_the_key(smtp: SmtpServer) -> None:
    p = provider(smtp)
    key = "loan-42:loan.overdue#2@20261124T090000Z:email"
    first = p.send(outgoing(key=key))
    again = p.send(outgoing(key=key))
    other = p.send(outgoing(key=key + "-other"))

    expected = message_id(key, SENDER)
    assert expected.endswith("@example.org>")
    assert first.message_id == again.message_id == expected
    assert other.message_id != expected
    ids = [str(m.message["Message-ID"]) for m in smtp.handler.to(TO)]
    assert ids == [expected, expected, other.message_id]


def test_reply_to_and_extra_headers(smtp: SmtpServer) -> None:
    p = provider(smtp, reply_to="Bibliothèque <biblio@example.org>")
    p.send(outgoing(headers={"X-Herald-Kind": "loan.reminder_j1"}))
    [mail] = smtp.handler.to(TO)
    assert str(mail.message["Reply-To"]) == "Bibliothèque <biblio@example.org>"
    assert mail.message["X-Herald-Kind"] == "loan.reminder_j1"


def test_text_only_message(smtp: SmtpServer) -> None:
    provider(smtp).send(outgoing(html=None))
    [mail] = smtp.handler.to(TO)
    assert mail.message.get_content_type() == "text/plain"
    assert unix(mail.message.get_content()).strip() == TEXT.strip()


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.1.1 No such user here",
        "553 5.1.3 Bad recipient address syntax",
        "554 5.7.1 Relay access denied",
    ],
)
def test_permanent_refusal(smtp: SmtpServer, reply: str) -> None:
    to = "nobody@example.org"
    smtp.handler.refuse(to, reply)
    with pytest.raises(PermanentSendError) as err:
        provider(smtp).send(outgoing(to=to))
    assert reply in err.value.reason
    assert str(err.value) == err.value.reason
    assert smtp.handler.rcpt_attempts[to] == 1
    assert smtp.handler.to(to) == []


@pytest.mark.parametrize(
    "reply",
    [
        "451 4.3.0 Temporary local problem",
        "452 4.2.2 Mailbox full",
        "421 4.7.0 Try again later",
    ],
)
def test_transient_refusal(smtp: SmtpServer, reply: str) -> None:
    to = "busy@example.org"
    smtp.handler.refuse(to, reply)
    with pytest.raises(TransientSendError) as err:
        provider(smtp).send(outgoing(to=to))
    assert reply in err.value.reason
    assert smtp.handler.rcpt_attempts[to] == 1
    assert smtp.handler.to(to) == []


def test_transient_refusal_then_success(smtp: SmtpServer) -> None:
    to = "later@example.org"
    smtp.handler.refuse(to, "451 4.3.0 Greylisted, try again", times=1)
    p = provider(smtp)
    with pytest.raises(TransientSendError):
        p.send(outgoing(to=to))
    receipt = p.send(outgoing(to=to))
    assert receipt.provider == "smtp"
    assert smtp.handler.rcpt_attempts[to] == 2
    assert len(smtp.handler.to(to)) == 1


def test_refusal_of_one_address_does_not_affect_another(smtp: SmtpServer) -> None:
    smtp.handler.refuse("nobody@example.org", "550 5.1.1 No such user")
    p = provider(smtp)
    with pytest.raises(PermanentSendError):
        p.send(outgoing(to="nobody@example.org"))
    p.send(outgoing())
    assert len(smtp.handler.to(TO)) == 1


# ------------------------------------------------------------------ network failures


def test_connection_refused_is_transient() -> None:
    port = free_port()  # nothing listens there
    p = SmtpProvider(host="127.0.0.1", port=port, sender=SENDER, starttls=False, timeout=2.0)
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert "ConnectionRefusedError" in err.value.reason
    assert isinstance(err.value.__cause__, ConnectionRefusedError)


def test_server_that_never_answers_times_out_as_transient(silent_server: int) -> None:
    p = SmtpProvider(
        host="127.0.0.1", port=silent_server, sender=SENDER, starttls=False, timeout=0.5
    )
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert "SMTP connection problem" in err.value.reason
    assert "timed out" in err.value.reason


# ------------------------------------------------------------------ classification


@pytest.mark.parametrize(
    ("error", "expected", "fragment"),
    [
        pytest.param(
            smtplib.SMTPRecipientsRefused({TO: (550, b"5.1.1 No such user")}),
            PermanentSendError,
            "550 5.1.1 No such user",
            id="rcpt-550",
        ),
        pytest.param(
            smtplib.SMTPRecipientsRefused({TO: (450, b"4.2.1 Mailbox busy")}),
            TransientSendError,
            "450 4.2.1 Mailbox busy",
            id="rcpt-450",
        ),
        pytest.param(
            smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "prets@example.org"),
            PermanentSendError,
            "553 5.7.1 Sender not allowed",
            id="sender-553",
        ),
        pytest.param(
            smtplib.SMTPDataError(554, b"5.6.0 Message content rejected"),
            PermanentSendError,
            "554 5.6.0 Message content rejected",
            id="data-554",
        ),
        pytest.param(
            smtplib.SMTPDataError(451, b"4.3.0 Try again later"),
            TransientSendError,
            "451 4.3.0 Try again later",
            id="data-451",
        ),
        pytest.param(
            # Documented choice: bad credentials are a provider-side setting, retried
            # until ops fix it rather than failing every notification for good.
            smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"),
            TransientSendError,
            "535 5.7.8 Authentication credentials invalid",
            id="auth-535",
        ),
        pytest.param(
            smtplib.SMTPConnectError(421, b"4.3.2 Too many connections"),
            TransientSendError,
            "421 4.3.2 Too many connections",
            id="connect-421",
        ),
        pytest.param(
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            TransientSendError,
            "Connection unexpectedly closed",
            id="disconnected",
        ),
        pytest.param(
            smtplib.SMTPNotSupportedError("server does not offer STARTTLS"),
            TransientSendError,
            "STARTTLS",
            id="not-supported",
        ),
        pytest.param(
            ConnectionRefusedError(111, "Connection refused"),
            TransientSendError,
            "ConnectionRefusedError",
            id="connection-refused",
        ),
        pytest.param(
            ConnectionResetError(104, "Connection reset by peer"),
            TransientSendError,
            "ConnectionResetError",
            id="connection-reset",
        ),
        pytest.param(TimeoutError("timed out"), TransientSendError, "timed out", id="timeout"),
    ],
)
def test_classify_smtp_error(error: Exception, expected: type[SendError], fragment: str) -> None:
    classified = classify_smtp_error(error)
    assert type(classified) is expected
    assert fragment in classified.reason


def test_classify_smtp_error_reraises_unrelated_errors() -> None:
    with pytest.raises(KeyError):
        classify_smtp_error(KeyError("bug"))


def test_classify_decodes_non_ascii_replies() -> None:
    err = smtplib.SMTPDataError(554, "5.6.0 Message refusé".encode())
    assert classify_smtp_error(err).reason == "554 5.6.0 Message refusé"


# ------------------------------------------------------------------ STARTTLS and secrets


def test_starttls_required_for_credentials_on_a_server_without_it(smtp: SmtpServer) -> None:
    p = provider(smtp, starttls=True, username="prets", password=PASSWORD)
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert "STARTTLS" in err.value.reason
    assert PASSWORD not in err.value.reason
    # The session ended before AUTH, let alone MAIL/RCPT/DATA.
    assert smtp.handler.rcpt_attempts == {}
    assert smtp.handler.messages == []


class ScriptedServer:
    """A minimal SMTP server on a raw socket that offers AUTH but not STARTTLS, and
    records every command line it receives (one connection)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(5)
        self.port = int(self.sock.getsockname()[1])
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn, conn.makefile("rb") as reader:
            conn.sendall(b"220 scripted ESMTP\r\n")
            for raw in reader:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.lines.append(line)
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    conn.sendall(b"250-scripted\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                elif verb == "AUTH":
                    conn.sendall(b"235 2.7.0 Authentication successful\r\n")
                elif verb == "QUIT":
                    conn.sendall(b"221 bye\r\n")
                    break
                else:
                    conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_credentials_never_sent_in_clear_even_when_auth_is_offered() -> None:
    server = ScriptedServer()
    try:
        p = SmtpProvider(
            host="127.0.0.1",
            port=server.port,
            sender=SENDER,
            username="prets",
            password=PASSWORD,
            starttls=True,
            timeout=2.0,
        )
        with pytest.raises(TransientSendError, match="STARTTLS"):
            p.send(outgoing())
    finally:
        server.close()
    assert [line.split(" ", 1)[0].upper() for line in server.lines] == ["EHLO"]
    assert not any(line.upper().startswith(("AUTH", "MAIL", "RCPT")) for line in server.lines)
    assert all(PASSWORD not in line for line in server.lines)


def test_starttls_without_credentials_is_opportunistic(smtp: SmtpServer) -> None:
    # No credentials to protect: a server without STARTTLS still gets the message.
    provider(smtp, starttls=True).send(outgoing())
    assert len(smtp.handler.to(TO)) == 1


def test_login_refused_by_server_without_auth_is_transient(smtp: SmtpServer) -> None:
    p = provider(smtp, username="prets", password=PASSWORD)
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert PASSWORD not in err.value.reason
    assert smtp.handler.messages == []


def test_repr_never_shows_the_password() -> None:
    p = SmtpProvider(
        host="smtp.example.org",
        port=587,
        sender=SENDER,
        username="prets",
        password=PASSWORD,
    )
    assert PASSWORD not in repr(p)
    assert PASSWORD not in str(p)
    assert "smtp.example.org:587" in repr(p)
    assert "prets" in repr(p)


def test_sender_refused_is_the_providers_fault_and_recipient_refused_is_not() -> None:
    sender = classify_smtp_error(smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "x@y"))
    assert isinstance(sender, PermanentSendError) and sender.recipient_fault is False
    rcpt = classify_smtp_error(
        smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"5.1.1 No such user")})
    )
    assert isinstance(rcpt, PermanentSendError) and rcpt.recipient_fault is True


def test_a_non_ascii_local_part_is_sent_with_smtputf8_when_offered() -> None:
    server = SmtpServer(smtputf8=True).start()
    try:
        receipt = provider(server).send(outgoing(to="anaïs@example.org"))
        [mail] = server.handler.messages
        assert mail.recipients == ["anaïs@example.org"]
        assert str(mail.message["To"]) == "anaïs@example.org"
        assert mail.message["Message-ID"] == receipt.message_id
        assert unix(mail.part("plain")) == TEXT
    finally:
        server.stop()


def test_a_non_ascii_local_part_is_refused_for_good_without_smtputf8(smtp: SmtpServer) -> None:
    with pytest.raises(PermanentSendError) as err:
        provider(smtp).send(outgoing(to="anaïs@example.org"))
    assert "SMTPUTF8" in err.value.reason and "anaïs@example.org" in err.value.reason
    assert not err.value.recipient_fault  # another provider of a chain may carry it
    assert smtp.handler.messages == []

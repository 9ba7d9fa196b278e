"""A real SMTP server (aiosmtpd) for tests, with refusals that can be programmed per address."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    message: EmailMessage
    mail_options: list[str] = field(default_factory=list)  # e.g. SMTPUTF8, BODY=8BITMIME

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return self.recipients[0]

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return body.get_content()


@dataclass
class _Refusal:
    reply: str
    times: int | None  # None: for ever


@dataclass
class RecordingHandler:
    messages: list[Received] = field(default_factory=list)
    refusals: dict[str, _Refusal] = field(default_factory=dict)
    rcpt_attempts: dict[str, int] = field(default_factory=dict)
    # When set, MAIL FROM is answered with this reply (e.g. "553 5.7.1 Sender rejected").
    refuse_sender: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse(self, address: str, reply: str, times: int | None = None) -> None:
        """Answer RCPT TO for ``address`` with ``reply`` (e.g. ``"550 5.1.1 No such user"``),
        ``times`` times (or for ever), then accept."""
        with self.lock:
            self.refusals[address.lower()] = _Refusal(reply, times)

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if m.to.lower() == address.lower()]

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any
    ) -> str:
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        with self.lock:
            key = address.lower()
            self.rcpt_attempts[key] = self.rcpt_attempts.get(key, 0) + 1
            refusal = self.refusals.get(key)
            if refusal is not None and (refusal.times is None or refusal.times > 0):
                if refusal.times is not None:
                    refusal.times -= 1
                return refusal.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    msg,  # type: ignore[arg-type]
                    list(envelope.mail_options),
                )
            )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    def __init__(self, *, smtputf8: bool = False) -> None:
        """``smtputf8``: offer SMTPUTF8 (addresses with a non-ASCII local part)."""
        self.handler = RecordingHandler()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def reset(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()
            self.handler.refusals.clear()
            self.handler.rcpt_attempts.clear()
            self.handler.refuse_sender = None

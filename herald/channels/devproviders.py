"""Providers for development: an outbox directory and the console. They serve every channel."""

from __future__ import annotations

import email.policy
import hashlib
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from herald.channels.base import OutgoingMessage, Receipt
from herald.channels.email import build_email, needs_utf8
from herald.kinds import Channel

log = logging.getLogger("herald.console")

# Characters of the (sanitised) address in an outbox file name: with the time stamp, the
# channel and the hash, a name stays far below the 255 bytes file systems allow.
NAME_PREFIX = 64


class OutboxProvider:
    """Writes each message as a file: ``.eml`` for e-mail (open it in any mail client),
    ``.txt`` for short texts. The file name derives from the idempotency key, so a retry
    rewrites the same file instead of adding one. It is bounded whatever the address: at most
    ``NAME_PREFIX`` safe characters of it, then a hash of the key."""

    name: ClassVar[str] = "outbox"
    channels: ClassVar[frozenset[Channel]] = frozenset(Channel)

    def __init__(self, directory: Path, sender: str = "Herald <herald@localhost>") -> None:
        self.directory = directory
        self.sender = sender

    def send(self, message: OutgoingMessage) -> Receipt:
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:12]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        safe_to = re.sub(r"[^A-Za-z0-9@.+_-]", "_", message.to)[:NAME_PREFIX]
        # A ``.tmp`` left by a crash mid-write is not a delivered message.
        existing = [p for p in self.directory.glob(f"*-{digest}.*") if p.suffix != ".tmp"]
        if existing:
            return Receipt(provider=self.name, message_id=existing[0].name)
        if message.channel is Channel.EMAIL:
            path = self.directory / f"{stamp}-email-{safe_to}-{digest}.eml"
            mime = build_email(message, sender=self.sender)
            # A non-ASCII local part can only be written as UTF-8, as SMTPUTF8 sends it.
            payload = (
                mime.as_bytes(policy=email.policy.default.clone(utf8=True))
                if needs_utf8(message)
                else bytes(mime)
            )
        else:
            path = self.directory / f"{stamp}-{message.channel.value}-{safe_to}-{digest}.txt"
            payload = (
                f"To: {message.to}\nChannel: {message.channel.value}\n\n{message.text}\n".encode()
            )
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)  # readers never see half a message
        return Receipt(provider=self.name, message_id=path.name)


class ConsoleProvider:
    """Logs each message; for trying Herald without any mail server."""

    name: ClassVar[str] = "console"
    channels: ClassVar[frozenset[Channel]] = frozenset(Channel)

    def send(self, message: OutgoingMessage) -> Receipt:
        log.info(
            "[%s → %s] %s\n%s", message.channel.value, message.to, message.subject, message.text
        )
        return Receipt(provider=self.name, message_id=None)

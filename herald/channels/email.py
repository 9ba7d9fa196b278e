"""MIME construction shared by every e-mail provider: multipart/alternative, text then HTML."""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from herald.channels.base import OutgoingMessage


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the idempotency key, so a resend is recognisable."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "herald.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(
    message: OutgoingMessage, *, sender: str, reply_to: str | None = None
) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = Address(addr_spec=message.to) if "@" in message.to else message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = message_id(message.key, sender)
    if reply_to:
        mime["Reply-To"] = reply_to
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text, charset="utf-8")
    if message.html:
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime

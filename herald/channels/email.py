"""MIME construction shared by every e-mail provider: multipart/alternative, text then HTML."""

from __future__ import annotations

import hashlib
from email.errors import NonASCIILocalPartDefect
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from herald.channels.base import OutgoingMessage


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the idempotency key, so a resend is recognisable."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "herald.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _to(address: str) -> Address | str:
    """One address, never a list a display name could smuggle in. A non-ASCII local part
    (``anaïs@…``) is kept as text: it is written as UTF-8 when sent with SMTPUTF8."""
    if "@" not in address:
        return address
    try:
        return Address(addr_spec=address)
    except NonASCIILocalPartDefect:
        return address


def needs_utf8(message: OutgoingMessage) -> bool:
    """Whether the recipient's address can only be written as UTF-8 (SMTPUTF8)."""
    return not message.to.isascii()


def build_email(
    message: OutgoingMessage, *, sender: str, reply_to: str | None = None
) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = _to(message.to)
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

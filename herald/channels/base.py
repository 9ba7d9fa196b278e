"""The provider interface every channel adapter implements, and its two kinds of failure.

An adapter sends one message and either returns a receipt or raises:
- :class:`TransientSendError` — the provider or the network may succeed later (timeouts,
  throttling, 4xx SMTP replies, 5xx HTTP): Temporal retries the activity with backoff,
  honouring ``retry_after`` when the provider gave one; meanwhile a failover chain tries
  the next provider;
- :class:`PermanentSendError` — retrying this provider cannot help. ``recipient_fault``
  says whose fault it is: the recipient (invalid number, unsubscribed, mailbox unknown:
  no other provider is tried) or the provider itself (auth refused, sender not verified,
  region not enabled: the next provider in the chain is tried).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from herald.kinds import Channel

# The reason stored on a delivery row, and the message of the error Temporal records: kept
# well below Temporal's failure size limit, which drops a failure that exceeds it.
ERROR_TEXT_LIMIT = 1000
FAILURE_MESSAGE_LIMIT = 4000


def bounded_text(text: str, limit: int = ERROR_TEXT_LIMIT) -> str:
    """``text`` safe to store and to send anywhere: NUL and lone surrogates escaped (PostgreSQL
    and UTF-8 refuse them), and at most ``limit`` characters, saying how much was left out."""
    safe = text.replace("\x00", "\\x00")
    if any("\ud800" <= c <= "\udfff" for c in safe):
        safe = safe.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(safe) <= limit:
        return safe
    cut = max(limit - len(f"… ({len(safe)} more characters)"), 0)
    return (safe[:cut] + f"… ({len(safe) - cut} more characters)")[:limit]


@dataclass(frozen=True)
class WhatsAppTemplate:
    """A pre-approved WhatsApp template: required outside the 24-hour customer window."""

    name: str  # Meta template name
    language: str  # Meta language code, e.g. "fr" or "en_US"
    parameters: tuple[str, ...] = ()  # body parameters {{1}}, {{2}}... already rendered
    twilio_content_sid: str | None = None  # the same template registered at Twilio (HX...)
    # (sub_type, value) per button, in order: ("quick_reply", payload) or ("url", suffix)
    buttons: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OutgoingMessage:
    channel: Channel
    to: str  # e-mail address, or E.164 phone number for sms/whatsapp, or subscriber id for in_app
    subject: str
    text: str  # plain-text e-mail body, or the short text for sms/whatsapp/in_app
    html: str | None
    # Idempotency key of the delivery row; adapters pass it on where the provider supports it.
    key: str
    headers: dict[str, str] = field(default_factory=dict)
    # WhatsApp only: send this template instead of free text when set.
    template: WhatsAppTemplate | None = None
    # In-app only: what the inbox shows beside the text.
    priority: str = "medium"
    link: str | None = None
    kind: str = ""


@dataclass(frozen=True)
class Receipt:
    provider: str
    message_id: str | None


class SendError(Exception):
    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # the provider's own error code, when it gave one


class TransientSendError(SendError):
    def __init__(
        self, reason: str, retry_after: float | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    def __init__(
        self, reason: str, *, recipient_fault: bool = True, code: str | None = None
    ) -> None:
        super().__init__(reason, code=code)
        self.recipient_fault = recipient_fault


class Provider(Protocol):
    name: ClassVar[str]
    channels: ClassVar[frozenset[Channel]]

    def send(self, message: OutgoingMessage) -> Receipt: ...

"""The shapes every provider's webhook is parsed into."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

# The raw event kept on a delivery event for audit, at most this many characters.
RAW_LIMIT = 8_000


class SignatureError(Exception):
    """The request is not provably the provider's: bad, missing, stale or replayed signature,
    or a certificate from outside the provider's hosts. Answered 403; nothing changes."""


class State(StrEnum):
    """What a provider's event means for the message, once it was accepted (``sent``).

    The order of :data:`RANK` is how far a message got: a row never moves to a lower rank,
    so events arriving out of order or twice change nothing (a read message stays read)."""

    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    BOUNCED = "bounced"
    READ = "read"
    COMPLAINED = "complained"


# A failure reported after a delivery report wins over it (SES reports a Delivery, then the
# remote server's Bounce); a read proves receipt, so it wins over both; a complaint comes
# after the person received and read it.
RANK: dict[State | None, int] = {
    None: 0,
    State.DELIVERED: 1,
    State.UNDELIVERED: 2,
    State.BOUNCED: 2,
    State.READ: 3,
    State.COMPLAINED: 4,
}


@dataclass(frozen=True)
class ProviderEvent:
    """One thing a provider reported about one message it accepted from Herald.

    ``event_key`` is unique per provider for the event (the provider's own event id, or the
    message id with the status): the same event received twice is stored once.
    ``state`` is None for statuses that change nothing (Twilio's ``queued``/``sent``, SES's
    ``DeliveryDelay``, a transient bounce). ``suppress`` is set when the event means the
    address must not be used again (permanent bounce, complaint), with ``address`` the one
    concerned (an SES bounce names its recipients)."""

    provider: str  # ses | twilio | meta
    channel: str  # email | sms | whatsapp
    provider_message_id: str
    event_key: str
    provider_status: str  # the provider's own word: "Bounce/Permanent", "undelivered", "read"
    state: State | None
    occurred_at: datetime
    reason: str | None = None
    address: str | None = None
    suppress: bool = False
    raw: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A person wrote to Herald's number (SMS or WhatsApp)."""

    provider: str  # twilio | meta
    channel: str  # sms | whatsapp
    address: str  # E.164, without any "whatsapp:" prefix
    message_id: str
    text: str
    received_at: datetime
    raw: str | None = None


def bounded_raw(payload: Any, limit: int = RAW_LIMIT) -> str:
    """The provider's payload as compact JSON text, cut to ``limit`` characters (an audit
    copy, not something to parse again)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    text = text.replace("\x00", "\\u0000")
    if len(text) <= limit:
        return text
    marker = f"… ({len(text) - limit} more characters)"
    return text[: max(0, limit - len(marker))] + marker

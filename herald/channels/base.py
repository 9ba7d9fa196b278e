"""The provider interface every channel adapter implements, and its two kinds of failure.

An adapter sends one message and either returns a receipt or raises:
- :class:`TransientSendError` — the provider or the network may succeed later (timeouts,
  throttling, 4xx SMTP replies, 5xx HTTP): Temporal retries the activity with backoff,
  honouring ``retry_after`` when the provider gave one;
- :class:`PermanentSendError` — retrying cannot help (invalid address, rejected content,
  unsubscribed): the activity fails without retry and the reason is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from herald.kinds import Channel


@dataclass(frozen=True)
class OutgoingMessage:
    channel: Channel
    to: str
    subject: str
    text: str
    html: str | None
    # Idempotency key of the delivery row; adapters pass it on where the provider supports it.
    key: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    provider: str
    message_id: str | None


class SendError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    pass


class Provider(Protocol):
    name: ClassVar[str]
    channels: ClassVar[frozenset[Channel]]

    def send(self, message: OutgoingMessage) -> Receipt: ...

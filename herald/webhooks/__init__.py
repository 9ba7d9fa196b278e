"""What providers tell Herald after a send: verified, parsed into one shape.

Each provider has its own module (``ses``/``sns``, ``twilio``, ``meta``) that checks the
request's signature and turns the provider's payload into :class:`ProviderEvent` (something
happened to a message Herald sent) and :class:`InboundMessage` (a person wrote to Herald's
number). What Herald does with them lives in :mod:`herald.receipts`.
"""

from herald.webhooks.base import (
    RAW_LIMIT,
    InboundMessage,
    ProviderEvent,
    SignatureError,
    State,
    bounded_raw,
)

__all__ = [
    "RAW_LIMIT",
    "InboundMessage",
    "ProviderEvent",
    "SignatureError",
    "State",
    "bounded_raw",
]

"""Twilio's webhooks: message status callbacks and incoming messages (SMS and WhatsApp).

Twilio signs each request with ``X-Twilio-Signature``, an HMAC of the full URL it called
and the form parameters under the account's Auth Token; :func:`verify_twilio` checks it
with the ``twilio`` SDK's own validator.

| ``MessageStatus`` | state |
| --- | --- |
| queued, accepted, scheduled, sending, sent | none (still on its way) |
| delivered | delivered |
| undelivered, failed, canceled | undelivered |
| read (WhatsApp) | read |

Twilio sends no time with a status: the event is dated when it arrives (``now``). A status
callback's ``ErrorCode`` (and ``ErrorMessage`` when Twilio gives it) becomes the reason,
"30006: Landline or unreachable carrier". Incoming messages are checked for the opt-out
keywords Twilio itself honours (:func:`opt_out_keyword`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from twilio.request_validator import RequestValidator

from herald.channels.base import bounded_text
from herald.webhooks import fields
from herald.webhooks.base import InboundMessage, ProviderEvent, SignatureError, State, bounded_raw

WHATSAPP_PREFIX = "whatsapp:"
# The longest body Herald reads from an incoming message (SMS: 1600, WhatsApp: 4096).
BODY_LIMIT = 4_096
STATES: dict[str, State | None] = {
    "queued": None,
    "accepted": None,
    "scheduled": None,
    "sending": None,
    "sent": None,
    "delivered": State.DELIVERED,
    "undelivered": State.UNDELIVERED,
    "failed": State.UNDELIVERED,
    "canceled": State.UNDELIVERED,
    "read": State.READ,
}
# What Twilio's delivery error codes mean, when the callback gives the code alone
# (https://www.twilio.com/docs/api/errors).
ERROR_TEXTS: dict[str, str] = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered",
    "30008": "Unknown error",
    "30034": "Message from an unregistered number",
    "21610": "Attempt to send to unsubscribed recipient",
    "63016": "Outside the allowed window",
}
# Twilio's default opt-out and opt-in keywords (matched as the whole message).
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
START_WORDS = frozenset({"start", "unstop", "yes"})
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")
_ERROR_CODE = re.compile(r"[0-9]{1,6}")


def verify_twilio(
    url: str, params: Mapping[str, str], signature: str | None, auth_token: str
) -> None:
    """Return if ``signature`` (``X-Twilio-Signature``) is Twilio's for this request: the
    full ``url`` Twilio called (with its query) and the POSTed form ``params``."""
    if not auth_token:
        raise SignatureError("no Twilio auth token configured")
    if not signature:
        raise SignatureError("X-Twilio-Signature missing")
    if not RequestValidator(auth_token).validate(url, dict(params), signature):
        raise SignatureError("X-Twilio-Signature does not match the request")


def _param(params: Mapping[str, str], *names: str, limit: int = fields.ID_LIMIT) -> str | None:
    for name in names:
        value = fields.text(params, name, "Twilio", limit=limit)
        if value:
            return value
    return None


def _address(value: str, where: str) -> tuple[str, bool]:
    """A number without its ``whatsapp:`` prefix, and whether it had one."""
    whatsapp = value.startswith(WHATSAPP_PREFIX)
    number = value[len(WHATSAPP_PREFIX) :] if whatsapp else value
    if not _PHONE.fullmatch(number):
        raise ValueError(f"Twilio.{where}: not an E.164 number: {value[:40]!r}")
    return number, whatsapp


def _channel(params: Mapping[str, str]) -> str:
    ends = (_param(params, "To", limit=64) or "", _param(params, "From", limit=64) or "")
    return "whatsapp" if any(end.startswith(WHATSAPP_PREFIX) for end in ends) else "sms"


def _error(params: Mapping[str, str]) -> str | None:
    code = _param(params, "ErrorCode", limit=16)
    text = _param(params, "ErrorMessage", limit=fields.TEXT_LIMIT)
    if code is not None and not _ERROR_CODE.fullmatch(code):
        raise ValueError(f"Twilio.ErrorCode: not a number: {code[:16]!r}")
    text = text or (ERROR_TEXTS.get(code) if code else None)
    if code and text:
        return bounded_text(f"{code}: {text}")
    found = code or text
    return bounded_text(found) if found else None


def parse_status(params: Mapping[str, str], *, now: datetime) -> ProviderEvent | None:
    """The event of one status callback, dated ``now``; None when the callback names no
    message (nothing to record). An unknown status raises :class:`ValueError`."""
    occurred_at = fields.aware(now, "now")
    sid = _param(params, "MessageSid", "SmsSid")
    if sid is None:
        return None
    sid = fields.identifier({"MessageSid": sid}, "MessageSid", "Twilio")
    status = _param(params, "MessageStatus", "SmsStatus", limit=32)
    if status is None:
        raise ValueError("Twilio.MessageStatus: missing")
    if status.lower() not in STATES:
        raise ValueError(f"Twilio.MessageStatus unknown: {status[:32]!r}")
    status = status.lower()
    to = _param(params, "To", limit=64)
    return ProviderEvent(
        provider="twilio",
        channel=_channel(params),
        provider_message_id=sid,
        event_key=f"{sid}:{status}",
        provider_status=status,
        state=STATES[status],
        occurred_at=occurred_at,
        reason=_error(params),
        address=_address(to, "To")[0] if to else None,
        raw=bounded_raw(dict(params)),
    )


def parse_inbound(params: Mapping[str, str], *, now: datetime) -> InboundMessage:
    """The message a person sent to Herald's number, received ``now``."""
    received_at = fields.aware(now, "now")
    sender = _param(params, "From", limit=64)
    if sender is None:
        raise ValueError("Twilio.From: missing")
    address, whatsapp = _address(sender, "From")
    sid = _param(params, "MessageSid", "SmsMessageSid", "SmsSid")
    if sid is None:
        raise ValueError("Twilio.MessageSid: missing")
    sid = fields.identifier({"MessageSid": sid}, "MessageSid", "Twilio")
    body = params.get("Body") or ""
    if not isinstance(body, str):
        raise ValueError(f"Twilio.Body: expected a string, got {type(body).__name__}")
    if len(body) > BODY_LIMIT:
        raise ValueError(f"Twilio.Body: longer than {BODY_LIMIT} characters")
    return InboundMessage(
        provider="twilio",
        channel="whatsapp" if whatsapp or _channel(params) == "whatsapp" else "sms",
        address=address,
        message_id=sid,
        text=bounded_text(body, BODY_LIMIT),
        received_at=received_at,
        raw=bounded_raw(dict(params)),
    )


def opt_out_keyword(text: str, opt_out_type: str | None = None) -> Literal["stop", "start"] | None:
    """ "stop" or "start" when the message is one of Twilio's opt-out or opt-in keywords on
    its own (case and surrounding spaces aside: "stop please" is not one), else None.

    ``opt_out_type`` is Twilio's ``OptOutType`` parameter: when it says STOP or START (the
    account's own keywords, in any language), it decides; HELP and others decide nothing."""
    kind = (opt_out_type or "").strip().upper()
    if kind == "STOP":
        return "stop"
    if kind == "START":
        return "start"
    if kind:
        return None
    word = text.strip().casefold()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None

"""WhatsApp Cloud API webhooks (Meta): message statuses and incoming messages.

Meta signs each POST with ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the
raw body under the app secret (:func:`verify_meta_signature`); subscribing the endpoint is
a GET whose ``hub.challenge`` is echoed when ``hub.verify_token`` is ours
(:func:`challenge`).

A payload is ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {...}}]}]}``; each ``value`` may carry ``statuses`` (what happened to
a message Herald sent) and ``messages`` (what people wrote):

| status | state |
| --- | --- |
| sent | none |
| delivered | delivered |
| read | read |
| failed | undelivered, reason "131047: Re-engagement message — <details>" |

Other ``field`` values (template and account updates) are skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import phonenumbers

from herald.channels.base import bounded_text
from herald.webhooks import fields
from herald.webhooks.base import InboundMessage, ProviderEvent, SignatureError, State, bounded_raw

OBJECT = "whatsapp_business_account"
STATES: dict[str, State | None] = {
    "sent": None,
    "delivered": State.DELIVERED,
    "read": State.READ,
    "failed": State.UNDELIVERED,
}
BODY_LIMIT = 4_096
CHALLENGE_LIMIT = 128
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_CHALLENGE = re.compile(r"[A-Za-z0-9_.-]+")
_DIGITS = re.compile(r"[1-9][0-9]{5,14}")


def verify_meta_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """Return if ``header`` (``X-Hub-Signature-256``) is the app's signature of ``body``."""
    if not app_secret:
        raise SignatureError("no Meta app secret configured")
    if not header:
        raise SignatureError("X-Hub-Signature-256 missing")
    found = _SIGNATURE.fullmatch(header.strip())
    if found is None:
        raise SignatureError("X-Hub-Signature-256 is not sha256=<hex>")
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, found.group(1).lower()):
        raise SignatureError("X-Hub-Signature-256 does not match the body")


def challenge(params: Mapping[str, str], verify_token: str) -> str:
    """The ``hub.challenge`` to answer Meta's subscription check with, when ``hub.mode`` is
    "subscribe" and ``hub.verify_token`` is ``verify_token``."""
    if not verify_token:
        raise SignatureError("no Meta verify token configured")
    if params.get("hub.mode") != "subscribe":
        raise SignatureError("hub.mode is not subscribe")
    token = params.get("hub.verify_token")
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode("utf-8"), verify_token.encode("utf-8")
    ):
        raise SignatureError("hub.verify_token does not match")
    answer = params.get("hub.challenge")
    if (
        not isinstance(answer, str)
        or len(answer) > CHALLENGE_LIMIT
        or not _CHALLENGE.fullmatch(answer)
    ):
        raise SignatureError("hub.challenge missing or not a short ASCII token")
    return answer


def _phone(obj: Mapping[str, Any], key: str, where: str) -> str:
    """``obj[key]``, a WhatsApp id (the number's digits), as +E.164."""
    digits = fields.required_text(obj, key, where, limit=20)
    if not _DIGITS.fullmatch(digits):
        raise ValueError(f"{where}.{key}: not a phone number's digits: {digits[:20]!r}")
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{where}.{key}: not a phone number: {digits!r}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{where}.{key}: not a possible phone number: {digits!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _errors(status: Mapping[str, Any], where: str) -> str | None:
    """Meta's errors on a status, "131047: Re-engagement message — <details>"; "; " between."""
    reasons = []
    for place, error in fields.objects(status, "errors", where):
        code = error.get("code")
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise ValueError(f"{place}.code: expected an integer, got {type(code).__name__}")
        title = fields.text(error, "title", place) or fields.text(error, "message", place)
        details = fields.text(
            fields.mapping(error, "error_data", place, required=False), "details", place
        )
        head = ": ".join(str(p) for p in (code, title) if p is not None and p != "")
        text = " — ".join(p for p in (head, details) if p)
        if text:
            reasons.append(text)
    return bounded_text("; ".join(reasons)) if reasons else None


def _status(status: dict[str, Any], where: str) -> ProviderEvent:
    message_id = fields.identifier(status, "id", where)
    word = fields.required_text(status, "status", where, limit=32)
    if word not in STATES:
        raise ValueError(f"{where}.status unknown: {word[:32]!r}")
    return ProviderEvent(
        provider="meta",
        channel="whatsapp",
        provider_message_id=message_id,
        event_key=f"{message_id}:{word}",
        provider_status=word,
        state=STATES[word],
        occurred_at=fields.unix_time(status, "timestamp", where),
        reason=_errors(status, where),
        address=_phone(status, "recipient_id", where) if "recipient_id" in status else None,
        raw=bounded_raw(status),
    )


def _text(message: dict[str, Any], kind: str, where: str) -> str:
    """What a person wrote: a text's body, a button's or a reply's label; "" for media."""
    body: str | None
    if kind == "text":
        body = fields.required_text(
            fields.mapping(message, "text", where), "body", where, limit=BODY_LIMIT
        )
    elif kind == "button":
        body = fields.text(
            fields.mapping(message, "button", where), "text", where, limit=BODY_LIMIT
        )
    elif kind == "interactive":
        interactive = fields.mapping(message, "interactive", where)
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        if not isinstance(reply, dict):
            raise ValueError(f"{where}.interactive: the reply is not an object")
        body = fields.text(reply, "title", where, limit=BODY_LIMIT)
    else:
        body = None
    return bounded_text(body or "", BODY_LIMIT)


def _message(message: dict[str, Any], where: str) -> InboundMessage:
    kind = fields.required_text(message, "type", where, limit=32)
    return InboundMessage(
        provider="meta",
        channel="whatsapp",
        address=_phone(message, "from", where),
        message_id=fields.identifier(message, "id", where),
        text=_text(message, kind, where),
        received_at=fields.unix_time(message, "timestamp", where),
        raw=bounded_raw(message),
    )


def parse_meta(payload: dict[str, Any]) -> tuple[list[ProviderEvent], list[InboundMessage]]:
    """The statuses and incoming messages of one webhook payload (already JSON-decoded);
    :class:`ValueError` for anything malformed, in any entry."""
    if not isinstance(payload, dict):
        raise ValueError(f"Meta payload: expected an object, got {type(payload).__name__}")
    if payload.get("object") != OBJECT:
        raise ValueError(f"Meta payload: object is not {OBJECT}")
    events: list[ProviderEvent] = []
    inbound: list[InboundMessage] = []
    for place, entry in fields.objects(payload, "entry", "payload", required=True):
        for where, change in fields.objects(entry, "changes", place):
            if fields.text(change, "field", where, limit=64) != "messages":
                continue
            value = fields.mapping(change, "value", where)
            events.extend(
                _status(s, w) for w, s in fields.objects(value, "statuses", f"{where}.value")
            )
            inbound.extend(
                _message(m, w) for w, m in fields.objects(value, "messages", f"{where}.value")
            )
    return events, inbound

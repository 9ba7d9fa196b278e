"""Amazon SES notifications, as carried in an SNS message's ``Message``.

Both of SES's formats: identity notifications (``notificationType``) and configuration-set
event publishing (``eventType``). One :class:`ProviderEvent` per recipient concerned, keyed
``{SNS MessageId}:{recipient}``:

| SES event | state | suppress | reason |
| --- | --- | --- | --- |
| Bounce, ``Permanent`` | bounced | yes | bounce type/subtype, diagnostic code |
| Bounce, ``Transient`` or ``Undetermined`` | bounced | no | the same |
| Complaint | complained | yes | ``complaintFeedbackType`` when given |
| Delivery | delivered | no | — |
| Reject | undelivered | no | ``reject.reason`` |
| DeliveryDelay | none | no | ``delayType``, diagnostic code |
| Send, Open, Click, Rendering Failure, Subscription... | ignored | | |

A transient bounce is recorded without suppressing anything: SES has given up on this
message, but the address may work tomorrow. Times are the event's own (``bounce.timestamp``
...), else the mail's, in UTC.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from herald.channels.base import bounded_text
from herald.webhooks import fields
from herald.webhooks.base import ProviderEvent, State, bounded_raw

MESSAGE_LIMIT = 256 * 1024
BOUNCE_TYPES = frozenset({"Permanent", "Transient", "Undetermined"})
# Event types that say nothing about whether the message arrived.
IGNORED = frozenset(
    {
        "Send",
        "Open",
        "Click",
        "Rendering Failure",
        "RenderingFailure",
        "Subscription",
        "AmazonSnsSubscriptionSucceeded",
    }
)
HANDLED = frozenset({"Bounce", "Complaint", "Delivery", "Reject", "DeliveryDelay"})


def _decode(message: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(message, dict):
        return message
    if not isinstance(message, str):
        raise ValueError(
            f"SES notification: expected text or an object, got {type(message).__name__}"
        )
    if len(message) > MESSAGE_LIMIT:
        raise ValueError(f"SES notification longer than {MESSAGE_LIMIT} characters")
    fields.refuse_nul(message, "SES notification")
    try:
        decoded = json.loads(message)
    except json.JSONDecodeError as err:
        raise ValueError(f"SES notification: not JSON ({err.msg})") from None
    except RecursionError:
        raise ValueError("SES notification: nested too deeply") from None
    if not isinstance(decoded, dict):
        raise ValueError(f"SES notification: expected a JSON object, got {type(decoded).__name__}")
    return decoded


def _kind(notification: dict[str, Any]) -> str:
    names = [
        value
        for key in ("notificationType", "eventType")
        if (value := fields.text(notification, key, "SES notification", limit=64)) is not None
    ]
    if not names:
        raise ValueError("SES notification without notificationType or eventType")
    if len(set(names)) > 1:
        raise ValueError("SES notification: notificationType and eventType differ")
    return fields.single_line(names[0], "SES notification type")


def _address(value: str, where: str) -> str:
    """A recipient as SES names it, ``Name <a@b>`` reduced to ``a@b``."""
    address = value.strip()
    if "<" in address:
        address = parseaddr(address)[1]
    fields.single_line(address, where)
    if not address or "@" not in address or any(c.isspace() for c in address):
        raise ValueError(f"{where}: not an e-mail address: {value[:100]!r}")
    return address


def _recipients(
    obj: dict[str, Any], key: str, where: str, *, objects: bool
) -> list[tuple[str, dict[str, Any]]]:
    """Each recipient of ``obj[key]`` once, with its entry (an object with ``emailAddress``
    when ``objects``, else a bare address)."""
    found: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(fields.items(obj, key, where, required=True)):
        place = f"{where}.{key}[{i}]"
        if objects:
            if not isinstance(item, dict):
                raise ValueError(f"{place}: expected an object, got {type(item).__name__}")
            raw = fields.required_text(item, "emailAddress", place, limit=fields.ADDRESS_LIMIT)
            entry = item
        else:
            if not isinstance(item, str):
                raise ValueError(f"{place}: expected a string, got {type(item).__name__}")
            if len(item) > fields.ADDRESS_LIMIT:
                raise ValueError(f"{place}: longer than {fields.ADDRESS_LIMIT} characters")
            raw, entry = fields.refuse_nul(item, place), {}
        found.setdefault(_address(raw, place), entry)
    if not found:
        raise ValueError(f"{where}.{key}: no recipient")
    return list(found.items())


def _when(event: dict[str, Any], where: str, fallback: datetime) -> datetime:
    return (
        fallback if event.get("timestamp") is None else fields.iso_time(event, "timestamp", where)
    )


def _reason(*parts: str | None, detail: str | None = None) -> str | None:
    head = "/".join(p for p in parts if p)
    text = f"{head}: {detail}" if head and detail else head or detail
    return bounded_text(text) if text else None


def parse_ses(message: str | dict[str, Any], *, event_id: str) -> list[ProviderEvent]:
    """The events of one SES notification (the SNS ``Message``, text or already decoded);
    ``event_id`` is the SNS ``MessageId``. Empty for events that change nothing (Send,
    Open, Click...); :class:`ValueError` for anything malformed."""
    event_id = fields.identifier({"MessageId": event_id}, "MessageId", "SNS")
    notification = _decode(message)
    kind = _kind(notification)
    if kind in IGNORED:
        return []
    if kind not in HANDLED:
        raise ValueError(f"SES notification of unknown type {kind[:64]!r}")
    mail = fields.mapping(notification, "mail", "SES notification")
    message_id = fields.identifier(mail, "messageId", "mail")
    sent_at = fields.iso_time(mail, "timestamp", "mail")
    raw = bounded_raw(notification)

    def events(
        recipients: Iterable[tuple[str, dict[str, Any]]],
        *,
        status: str,
        state: State | None,
        occurred_at: datetime,
        suppress: bool = False,
        reason: Callable[[dict[str, Any]], str | None] = lambda entry: None,
    ) -> list[ProviderEvent]:
        return [
            ProviderEvent(
                provider="ses",
                channel="email",
                provider_message_id=message_id,
                event_key=f"{event_id}:{address}",
                provider_status=status,
                state=state,
                occurred_at=occurred_at,
                reason=reason(entry),
                address=address,
                suppress=suppress,
                raw=raw,
            )
            for address, entry in recipients
        ]

    if kind == "Bounce":
        bounce = fields.mapping(notification, "bounce", "SES notification")
        bounce_type = fields.required_text(bounce, "bounceType", "bounce", limit=64)
        if bounce_type not in BOUNCE_TYPES:
            raise ValueError(f"bounce.bounceType unknown: {bounce_type[:64]!r}")
        subtype = fields.text(bounce, "bounceSubType", "bounce", limit=64)
        subtype = fields.single_line(subtype, "bounce.bounceSubType") if subtype else None
        status = "/".join(p for p in ("Bounce", bounce_type, subtype) if p)
        return events(
            _recipients(bounce, "bouncedRecipients", "bounce", objects=True),
            status=status,
            state=State.BOUNCED,
            occurred_at=_when(bounce, "bounce", sent_at),
            suppress=bounce_type == "Permanent",
            reason=lambda entry: _reason(
                bounce_type,
                subtype,
                detail=fields.text(entry, "diagnosticCode", "bounce.bouncedRecipients[]"),
            ),
        )
    if kind == "Complaint":
        complaint = fields.mapping(notification, "complaint", "SES notification")
        feedback = fields.text(complaint, "complaintFeedbackType", "complaint", limit=64)
        feedback = (
            fields.single_line(feedback, "complaint.complaintFeedbackType") if feedback else None
        )
        return events(
            _recipients(complaint, "complainedRecipients", "complaint", objects=True),
            status="/".join(p for p in ("Complaint", feedback) if p),
            state=State.COMPLAINED,
            occurred_at=_when(complaint, "complaint", sent_at),
            suppress=True,
            reason=lambda entry: _reason(feedback),
        )
    if kind == "Delivery":
        delivery = fields.mapping(notification, "delivery", "SES notification")
        return events(
            _recipients(delivery, "recipients", "delivery", objects=False),
            status="Delivery",
            state=State.DELIVERED,
            occurred_at=_when(delivery, "delivery", sent_at),
        )
    if kind == "Reject":
        reject = fields.mapping(notification, "reject", "SES notification", required=False)
        return events(
            _recipients(mail, "destination", "mail", objects=False),
            status="Reject",
            state=State.UNDELIVERED,
            occurred_at=_when(reject, "reject", sent_at),
            reason=lambda entry: _reason(fields.text(reject, "reason", "reject")),
        )
    delay = fields.mapping(notification, "deliveryDelay", "SES notification")
    delay_type = fields.text(delay, "delayType", "deliveryDelay", limit=64)
    delay_type = fields.single_line(delay_type, "deliveryDelay.delayType") if delay_type else None
    return events(
        _recipients(delay, "delayedRecipients", "deliveryDelay", objects=True),
        status="/".join(p for p in ("DeliveryDelay", delay_type) if p),
        state=None,
        occurred_at=_when(delay, "deliveryDelay", sent_at),
        reason=lambda entry: _reason(
            delay_type,
            detail=fields.text(entry, "diagnosticCode", "deliveryDelay.delayedRecipients[]"),
        ),
    )

"""Hand-offs to Herald, written to the outbox in the caller's transaction.

Call these inside the ``transaction.atomic()`` block that writes the business row: the
item commits or rolls back with it. Nothing here touches the network; the relay
(``manage.py herald_relay``) delivers the items, in order per object.

    with transaction.atomic():
        loan = Loan.objects.create(...)
        enqueue.start_loan(str(loan.pk), borrower_id=str(loan.user_id), item=..., due_at=...)
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from herald.errors import InvalidInput
from herald.validation import LIMITS, check_id

from .conf import herald_config
from .models import OutboxItem

# What the relay may call, and the object each call belongs to ("loan" -> "loan:<id>").
METHODS: dict[str, str] = {
    "upsert_subscriber": "subscriber",
    "start_loan": "loan",
    "return_loan": "loan",
    "extend_loan": "loan",
    "cancel_loan": "loan",
    "start_repair": "repair",
    "repair_event": "repair",
    "start_followup": "followup",
    "complete_followup": "followup",
    "reschedule_followup": "followup",
    "reassign_followup": "followup",
    "cancel_followup": "followup",
    "lead_event": "lead",
    "user_event": "user",
}
# Arguments stored as ISO 8601 text and read back as datetimes.
DATETIME_SUFFIX = "_at"
ARGUMENTS_LIMIT = 64 * 1024


def _encode(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        # Naive values (USE_TZ = False) are wall-clock times in settings.TIME_ZONE.
        aware = value if timezone.is_aware(value) else timezone.make_aware(value)
        return aware.isoformat()
    if name.endswith(DATETIME_SUFFIX) and value is not None:
        raise InvalidInput(f"{name} must be a datetime, not {type(value).__name__}")
    return value


def decode_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """The stored JSON arguments as the Herald method takes them."""
    decoded: dict[str, Any] = {}
    for name, value in arguments.items():
        if name.endswith(DATETIME_SUFFIX) and isinstance(value, str):
            decoded[name] = datetime.fromisoformat(value)
        else:
            decoded[name] = value
    return decoded


def enqueue(
    method: str,
    subject_id: str,
    arguments: dict[str, Any],
    *,
    object_key: str | None = None,
    idempotency_key: str | None = None,
    using: str | None = None,
) -> OutboxItem:
    """Store one call to Herald. The same ``idempotency_key`` twice stores it once."""
    kind = METHODS.get(method)
    if kind is None:
        raise InvalidInput(f"unknown Herald method {method!r}")
    check_id(subject_id, f"{kind} id")
    encoded = {name: _encode(name, value) for name, value in arguments.items()}
    try:
        size = len(json.dumps(encoded))
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"{method} arguments are not JSON: {err}") from None
    if size > ARGUMENTS_LIMIT:
        raise InvalidInput(f"{method} arguments are {size} bytes, more than {ARGUMENTS_LIMIT}")
    key = object_key or f"{kind}:{subject_id}"
    if len(key) > 255:
        raise InvalidInput("the object key is longer than 255 characters")
    if idempotency_key is not None:
        check_id(idempotency_key, "idempotency key")
        if len(idempotency_key) > min(255, LIMITS["id"]):
            raise InvalidInput("the idempotency key is too long")
    db = using or herald_config().database
    if idempotency_key is not None:
        existing = OutboxItem.objects.using(db).filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    first_arg = _FIRST_ARGUMENT[kind]
    return OutboxItem.objects.using(db).create(
        method=method,
        arguments={first_arg: subject_id, **encoded},
        object_key=key,
        idempotency_key=idempotency_key or f"{method}-{uuid.uuid4().hex}",
    )


_FIRST_ARGUMENT = {
    "subscriber": "subscriber_id",
    "loan": "loan_id",
    "repair": "repair_id",
    "followup": "followup_id",
    "lead": "lead_id",
    "user": "user_id",
}


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs.pop(k) for k in ("object_key", "idempotency_key", "using") if k in kwargs}


# ------------------------------------------------------------------ loans


def start_loan(
    loan_id: str,
    *,
    borrower_id: str,
    item: str,
    due_at: datetime,
    borrowed_at: datetime | None = None,
    manager_id: str | None = None,
    **options: Any,
) -> OutboxItem:
    """The loan began when the app recorded it (``borrowed_at``, by default now), however
    late the relay hands it to Herald."""
    fields: dict[str, Any] = {
        "borrower_id": borrower_id,
        "item": item,
        "due_at": due_at,
        "borrowed_at": borrowed_at or timezone.now(),
    }
    if manager_id is not None:
        fields["manager_id"] = manager_id
    return enqueue("start_loan", loan_id, fields, **_options(options))


def return_loan(loan_id: str, *, returned_at: datetime | None = None, **options: Any) -> OutboxItem:
    """Recorded by Temporal even while no worker runs (the relay does not wait for one)."""
    fields: dict[str, Any] = {"wait": False}
    if returned_at is not None:
        fields["returned_at"] = returned_at
    return enqueue("return_loan", loan_id, fields, **_options(options))


def extend_loan(loan_id: str, *, due_at: datetime, **options: Any) -> OutboxItem:
    return enqueue("extend_loan", loan_id, {"due_at": due_at}, **_options(options))


def cancel_loan(loan_id: str, **options: Any) -> OutboxItem:
    return enqueue("cancel_loan", loan_id, {}, **_options(options))


# ------------------------------------------------------------------ people


def upsert_subscriber(subscriber_id: str, **fields: Any) -> OutboxItem:
    options = _options(fields)
    return enqueue("upsert_subscriber", subscriber_id, fields, **options)


# ------------------------------------------------------------------ repairs, CRM


def start_repair(repair_id: str, **fields: Any) -> OutboxItem:
    options = _options(fields)
    return enqueue("start_repair", repair_id, fields, **options)


def repair_event(repair_id: str, event_type: str, **fields: Any) -> OutboxItem:
    """Does not wait for the worker when delivered (``wait=False``) unless told to."""
    options = _options(fields)
    fields.setdefault("wait", False)
    return enqueue("repair_event", repair_id, {"event_type": event_type, **fields}, **options)


def start_followup(followup_id: str, **fields: Any) -> OutboxItem:
    options = _options(fields)
    return enqueue("start_followup", followup_id, fields, **options)


def complete_followup(
    followup_id: str, *, completed_at: datetime | None = None, **options: Any
) -> OutboxItem:
    fields: dict[str, Any] = {"wait": False}
    if completed_at is not None:
        fields["completed_at"] = completed_at
    return enqueue("complete_followup", followup_id, fields, **_options(options))


def reschedule_followup(followup_id: str, *, due_at: datetime, **options: Any) -> OutboxItem:
    return enqueue("reschedule_followup", followup_id, {"due_at": due_at}, **_options(options))


def reassign_followup(followup_id: str, *, assignee_id: str, **options: Any) -> OutboxItem:
    return enqueue(
        "reassign_followup", followup_id, {"assignee_id": assignee_id}, **_options(options)
    )


def cancel_followup(followup_id: str, **options: Any) -> OutboxItem:
    return enqueue("cancel_followup", followup_id, {}, **_options(options))


def lead_event(lead_id: str, event_type: str, **fields: Any) -> OutboxItem:
    options = _options(fields)
    return enqueue("lead_event", lead_id, {"event_type": event_type, **fields}, **options)


def user_event(user_id: str, event_type: str, **fields: Any) -> OutboxItem:
    options = _options(fields)
    return enqueue("user_event", user_id, {"event_type": event_type, **fields}, **options)

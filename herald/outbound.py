"""Outbound webhooks: Herald's events for the application, signed as Standard Webhooks.

An event is a row (:class:`~herald.db.WebhookEvent`) with the JSON body every endpoint
receives, ``{"type", "timestamp", "data"}``, and one Temporal workflow
(``webhook-<event id>``, :mod:`workflows.webhooks`) that POSTs it to each enabled endpoint
subscribed to its type, retrying each for ``HERALD_WEBHOOK_RETRY_FOR``.

- :func:`record_event` writes the row, only when at least one enabled endpoint subscribes
  to the type: the check is one cached query per process every :data:`SUBSCRIPTIONS_TTL`
  seconds, so a delivery costs nothing more while no endpoint exists. The event id comes
  from the caller's ``key``: a retried activity records its event once.
- :func:`dispatch` starts the event's workflow; starting it again is harmless.
- :func:`publish` is both; :func:`publish_sync` the same from an activity's thread.

An event recorded but never dispatched (Temporal was unreachable) is started by the daily
housekeeping sweep (``dispatch_pending_webhooks``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from herald.contracts import WEBHOOK_WORKFLOW, WebhookDeliveryInput, webhook_workflow_id
from herald.db import Delivery, WebhookAttempt, WebhookEndpoint, WebhookEvent, utcnow
from herald.settings import Settings
from herald.store import Store

log = logging.getLogger(__name__)

# Every event type an endpoint can subscribe to, with what it says.
EVENT_TYPES: dict[str, str] = {
    "delivery.sent": "a provider accepted a message",
    "delivery.delivered": "the provider reported the message delivered",
    "delivery.failed": "a message failed for good (no retry left)",
    "delivery.bounced": "the recipient's server refused the e-mail",
    "delivery.complained": "the recipient marked the e-mail as spam",
    "delivery.undelivered": "the provider could not deliver the message",
    "delivery.read": "the recipient read the message",
    "delivery.suppressed": "a message was not sent: the address is suppressed",
    "loan.overdue": "an overdue alert went to the borrower",
    "loan.returned": "a loan was returned (the thank-you went out)",
    "subscriber.suppressed": "an address of a person was suppressed (bounce, opt-out)",
    "webhook.test": "sent by 'herald webhook test' to one endpoint",
}
ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"
# How long a process trusts its view of which types have subscribers.
SUBSCRIPTIONS_TTL = 30.0
# A retry policy reaching beyond a day: an endpoint down overnight still gets its events.
MIN_RETRY_FOR = timedelta(days=1)
ENDPOINT_PREFIX, SECRET_PREFIX, EVENT_PREFIX = "ep_", "whsec_", "msg_"


def new_endpoint_id() -> str:
    return ENDPOINT_PREFIX + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def event_id(type_: str, key: str) -> str:
    """The event's id (its ``webhook-id``), the same for the same type and key."""
    digest = hashlib.sha256(f"{type_}\n{key}".encode()).digest()
    return EVENT_PREFIX + base64.b32encode(digest).decode().lower()[:26]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


def payload(type_: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The body every endpoint receives, JSON-safe (instants as ISO 8601 in UTC)."""
    return {
        "type": type_,
        "timestamp": _iso(at),
        "data": json.loads(json.dumps(data, default=_json_default)),
    }


def body_bytes(doc: dict[str, Any]) -> bytes:
    """The exact bytes POSTed and signed."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


# ---------------------------------------------------------------- who listens


class _Subscriptions:
    """Per database: the event types some enabled endpoint subscribes to, kept for a
    short time so that a delivery without endpoints costs no query."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        # Bumped by every change: a read that began before one is not kept.
        self._generation = 0

    def types(self, store: Store) -> frozenset[str]:
        where = str(store.engine.url)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(where)
            generation = self._generation
        if cached is not None and cached[0] > now:
            return cached[1]
        with store.session() as s:
            lists = s.scalars(select(WebhookEndpoint.events).where(WebhookEndpoint.enabled))
            found = frozenset(t for events in lists for t in events or ())
        with self._lock:
            if generation == self._generation:
                self._cache[where] = (now + SUBSCRIPTIONS_TTL, found)
        return found

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()


_SUBSCRIPTIONS = _Subscriptions()


def wanted(store: Store, type_: str) -> bool:
    """Whether some enabled endpoint subscribes to ``type_`` (cached; see the module)."""
    types = _SUBSCRIPTIONS.types(store)
    return type_ in types or ALL_EVENTS in types


def subscriptions_changed() -> None:
    """Endpoints changed in this process: read them again on the next event."""
    _SUBSCRIPTIONS.forget()


def subscribed(endpoint: WebhookEndpoint, type_: str) -> bool:
    if type_ == TEST_EVENT:
        return False  # a test event goes to the endpoint it tests, and to no other
    events = endpoint.events or []
    return type_ in events or ALL_EVENTS in events


# ---------------------------------------------------------------- events


def insert_event(store: Store, type_: str, data: dict[str, Any], *, key: str) -> str:
    """Write the event (once per type and key); returns its id."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type_!r}")
    eid = event_id(type_, key)
    now = utcnow()
    try:
        with store.session() as s, s.begin():
            if s.get(WebhookEvent, eid) is None:
                s.add(WebhookEvent(id=eid, type=type_, payload=payload(type_, data, now)))
    except IntegrityError:
        pass  # recorded meanwhile by another attempt
    return eid


def record_event(store: Store, type_: str, data: dict[str, Any], *, key: str) -> str | None:
    """Record an event if some enabled endpoint wants its type; its id, or None when no
    endpoint listens. Synchronous: for activity threads."""
    if not wanted(store, type_):
        return None
    return insert_event(store, type_, data, key=key)


def mark_dispatched(store: Store, eid: str) -> None:
    with store.session() as s, s.begin():
        row = s.get(WebhookEvent, eid)
        if row is not None and row.dispatched_at is None:
            row.dispatched_at = utcnow()


def delivery_input(eid: str, settings: Settings) -> WebhookDeliveryInput:
    return WebhookDeliveryInput(
        event_id=eid,
        retry_for=max(settings.webhook_retry_for, MIN_RETRY_FOR),
        timeout=settings.webhook_timeout,
    )


async def dispatch(
    client: Client, event_id: str, settings: Settings, *, store: Store | None = None
) -> None:
    """Start the event's delivery workflow; a second start (running or ended) does nothing.
    With ``store``, the event is then marked as handed over."""
    with contextlib.suppress(WorkflowAlreadyStartedError):  # already started: nothing to do
        await client.start_workflow(
            WEBHOOK_WORKFLOW,
            delivery_input(event_id, settings),
            id=webhook_workflow_id(event_id),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Webhook event {event_id}",
        )
    if store is not None:
        await asyncio.to_thread(mark_dispatched, store, event_id)


async def publish(
    store: Store,
    client: Client,
    type_: str,
    data: dict[str, Any],
    *,
    key: str,
    settings: Settings,
) -> str | None:
    """Record the event and start its delivery; None when no endpoint listens. A failed
    start leaves the event to the housekeeping sweep."""
    eid = await asyncio.to_thread(record_event, store, type_, data, key=key)
    if eid is not None:
        try:
            await dispatch(client, eid, settings, store=store)
        except Exception as err:  # noqa: BLE001 - the sweep starts it later
            log.warning("webhook event %s recorded, start left to the sweep: %s", eid, err)
    return eid


def publish_sync(
    store: Store,
    client: Client | None,
    loop: asyncio.AbstractEventLoop | None,
    type_: str,
    data: dict[str, Any],
    *,
    key: str,
    settings: Settings,
) -> str | None:
    """:func:`publish` from an activity's thread: the start runs on the worker's event
    ``loop``. Without a client, the event is only recorded (the sweep starts it)."""
    eid = record_event(store, type_, data, key=key)
    if eid is None or client is None or loop is None:
        return eid
    future = asyncio.run_coroutine_threadsafe(dispatch(client, eid, settings), loop)
    try:
        future.result(timeout=60)
    except Exception as err:  # noqa: BLE001 - the sweep starts it later
        future.cancel()
        log.warning("webhook event %s recorded, start left to the sweep: %s", eid, err)
        return eid
    mark_dispatched(store, eid)
    return eid


async def announce(
    store: Store,
    client: Callable[[], Awaitable[Client]],
    type_: str,
    data: dict[str, Any],
    key: str,
    *,
    settings: Settings,
) -> str | None:
    """:func:`publish` for code that must not fail on the application's account (the
    provider hooks: their receipt is already kept, and a provider retrying would only be
    told it is a duplicate). ``client`` connects on first use; a start that fails is left
    to the sweep, a failure to record is logged."""
    try:
        eid = await asyncio.to_thread(record_event, store, type_, data, key=key)
    except Exception:
        log.exception("webhook event %s (%s) not recorded", type_, key)
        return None
    if eid is not None:
        try:
            await dispatch(await client(), eid, settings, store=store)
        except Exception as err:  # noqa: BLE001 - the sweep starts it later
            log.warning("webhook event %s recorded, start left to the sweep: %s", eid, err)
    return eid


def pending_events(store: Store, *, older_than: datetime, newer_than: datetime) -> list[str]:
    """Events never handed over, oldest first (for the sweep)."""
    with store.session() as s:
        return list(
            s.scalars(
                select(WebhookEvent.id)
                .where(
                    WebhookEvent.dispatched_at.is_(None),
                    WebhookEvent.created_at < older_than,
                    WebhookEvent.created_at > newer_than,
                )
                .order_by(WebhookEvent.created_at)
                .limit(1000)
            )
        )


def delivery_data(row: Delivery, **changes: Any) -> dict[str, Any]:
    """A delivery-log row's public fields, as a ``delivery.*`` event carries them."""
    fields: dict[str, Any] = {
        "id": row.id,
        "idempotency_key": row.idempotency_key,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "kind": row.kind,
        "role": row.role,
        "channel": row.channel,
        "subscriber_id": row.subscriber_id,
        "recipient": row.recipient,
        "provider": row.provider,
        "provider_message_id": row.provider_message_id,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.error,
        "scheduled_at": row.scheduled_at,
        "sent_at": row.sent_at,
    }
    fields.update(changes)
    return fields


# ---------------------------------------------------------------- endpoints


def endpoint_as_dict(row: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint's public shape: never its secret."""

    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {
        "id": row.id,
        "url": row.url,
        "description": row.description,
        "events": list(row.events or []),
        "enabled": row.enabled,
        "consecutive_failures": row.consecutive_failures,
        "disabled_at": iso(row.disabled_at),
        "disabled_reason": row.disabled_reason,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def attempt_as_dict(row: WebhookAttempt) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "endpoint_id": row.endpoint_id,
        "attempt": row.attempt,
        "at": row.at.isoformat(),
        "status_code": row.status_code,
        "succeeded": row.succeeded,
        "error": row.error,
        "duration_ms": row.duration_ms,
    }


def create_endpoint(
    store: Store, url: str, events: list[str], description: str | None
) -> tuple[dict[str, Any], str]:
    """A new enabled endpoint; its public shape and its secret (shown this once)."""
    secret = new_secret()
    row = WebhookEndpoint(
        id=new_endpoint_id(),
        url=url,
        events=events,
        description=description,
        secret=secret,
        enabled=True,
        consecutive_failures=0,
    )
    with store.session() as s, s.begin():
        s.add(row)
        s.flush()
        doc = endpoint_as_dict(row)
    subscriptions_changed()
    return doc, secret


def list_endpoints(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        rows = s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
        return [endpoint_as_dict(r) for r in rows]


def get_endpoint(store: Store, endpoint_id: str) -> dict[str, Any] | None:
    with store.session() as s:
        row = s.get(WebhookEndpoint, endpoint_id)
        return endpoint_as_dict(row) if row is not None else None


def set_enabled(
    store: Store, endpoint_id: str, enabled: bool, reason: str | None = None
) -> dict[str, Any] | None:
    """Enable (failures reset) or disable an endpoint; None when unknown."""
    with store.session() as s, s.begin():
        row = s.get(WebhookEndpoint, endpoint_id)
        if row is None:
            return None
        row.enabled = enabled
        if enabled:
            row.consecutive_failures = 0
            row.disabled_at = None
            row.disabled_reason = None
        elif row.disabled_at is None:
            row.disabled_at = utcnow()
            row.disabled_reason = reason
        row.updated_at = utcnow()
        s.flush()
        doc = endpoint_as_dict(row)
    subscriptions_changed()
    return doc


def rotate_secret(store: Store, endpoint_id: str) -> tuple[dict[str, Any], str] | None:
    secret = new_secret()
    with store.session() as s, s.begin():
        row = s.get(WebhookEndpoint, endpoint_id)
        if row is None:
            return None
        row.secret = secret
        row.updated_at = utcnow()
        s.flush()
        doc = endpoint_as_dict(row)
    return doc, secret


def delete_endpoint(store: Store, endpoint_id: str) -> bool:
    with store.session() as s, s.begin():
        row = s.get(WebhookEndpoint, endpoint_id)
        if row is None:
            return False
        s.delete(row)
        s.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id))
    subscriptions_changed()
    return True


def list_attempts(store: Store, endpoint_id: str, *, limit: int) -> list[dict[str, Any]]:
    """An endpoint's attempts, newest first."""
    with store.session() as s:
        rows = s.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == endpoint_id)
            .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc())
            .limit(limit)
        )
        return [attempt_as_dict(r) for r in rows]


__all__ = [
    "ALL_EVENTS",
    "EVENT_TYPES",
    "TEST_EVENT",
    "announce",
    "dispatch",
    "event_id",
    "new_secret",
    "payload",
    "publish",
    "publish_sync",
    "record_event",
]

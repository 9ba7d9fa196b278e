"""Outbound webhook activities: who gets an event, one signed POST, and the sweep.

``send_webhook`` POSTs the event's body with the Standard Webhooks headers (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``, signed by the ``standardwebhooks`` library with
the endpoint's secret) and records every attempt. A 2xx resets the endpoint's failure
count; anything else adds one, and at ``HERALD_WEBHOOK_DISABLE_AFTER`` in a row (or at once
on 410 Gone) the endpoint is disabled: its pending events then stop (non-retryable).
Secrets never reach a log or an error message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from standardwebhooks import Webhook
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from herald import outbound
from herald.channels.base import ERROR_TEXT_LIMIT, bounded_text
from herald.contracts import (
    DISPATCH_PENDING_WEBHOOKS,
    SEND_WEBHOOK,
    WEBHOOK_FAILED_ERROR,
    WEBHOOK_STOPPED_ERROR,
    WEBHOOK_TARGETS,
    WebhookSweepResult,
)
from herald.db import WebhookAttempt, WebhookEndpoint, WebhookEvent, utcnow
from herald.settings import Settings
from herald.store import Store

log = logging.getLogger(__name__)

USER_AGENT = "Herald-Webhooks/1"
# The sweep leaves alone what a publisher may still be starting.
SWEEP_GRACE = timedelta(minutes=5)
# How much of a failed answer's body is kept with the attempt.
ANSWER_KEPT = 200
# A Retry-After (429, 503) is honoured up to this.
MAX_RETRY_AFTER = 3600


def _retry_after(response: httpx.Response) -> timedelta | None:
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "")
    if value.isdigit() and 0 < int(value) <= MAX_RETRY_AFTER:
        return timedelta(seconds=int(value))
    return None


class WebhookActivities:
    """Bound to a store, the settings and (for the sweep) the worker's Temporal client."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        client: Client | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.http = http or httpx.Client(follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    @activity.defn(name=WEBHOOK_TARGETS)
    def webhook_targets(self, event_id: str) -> list[str]:
        """The endpoints that get the event: enabled and subscribed to its type now (a
        test event: the endpoint it tests)."""
        with self.store.session() as s, s.begin():
            event = s.get(WebhookEvent, event_id)
            if event is None:
                return []
            if event.dispatched_at is None:
                event.dispatched_at = utcnow()
            if event.type == outbound.TEST_EVENT:
                target = (event.payload.get("data") or {}).get("endpoint_id")
                endpoint = s.get(WebhookEndpoint, target) if isinstance(target, str) else None
                return [endpoint.id] if endpoint is not None and endpoint.enabled else []
            rows = s.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.events)
                .where(WebhookEndpoint.enabled)
                .order_by(WebhookEndpoint.created_at)
            ).all()
            return [
                eid
                for eid, events in rows
                if event.type in (events or []) or outbound.ALL_EVENTS in (events or [])
            ]

    @activity.defn(name=SEND_WEBHOOK)
    def send_webhook(self, event_id: str, endpoint_id: str) -> int:
        """POST the event to the endpoint once; answers the status code of a success."""
        with self.store.session() as s:
            endpoint = s.get(WebhookEndpoint, endpoint_id)
            event = s.get(WebhookEvent, event_id)
            if endpoint is None:
                raise ApplicationError(
                    f"endpoint {endpoint_id} was removed",
                    type=WEBHOOK_STOPPED_ERROR,
                    non_retryable=True,
                )
            if not endpoint.enabled:
                raise ApplicationError(
                    f"endpoint {endpoint_id} is disabled",
                    type=WEBHOOK_STOPPED_ERROR,
                    non_retryable=True,
                )
            if event is None:
                raise ApplicationError(
                    f"no event {event_id}", type=WEBHOOK_STOPPED_ERROR, non_retryable=True
                )
            url, secret, doc = endpoint.url, endpoint.secret, event.payload
        body = outbound.body_bytes(doc)
        sent_at = utcnow()  # the wall clock: receivers check it against theirs
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": event_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, sent_at, body),
        }
        attempt = activity.info().attempt
        status: int | None = None
        error: str | None = None
        retry_after: timedelta | None = None
        started = time.perf_counter()
        try:
            with self.http.stream(
                "POST", url, content=body, headers=headers, timeout=self.settings.webhook_timeout
            ) as response:
                status = response.status_code
                retry_after = _retry_after(response)
                if not 200 <= status < 300:
                    # The start of the answer only: an endpoint cannot make us read more.
                    start = next(response.iter_bytes(), b"")[:ANSWER_KEPT]
                    error = f"HTTP {status}: {start.decode('utf-8', 'replace')}"
        except httpx.TimeoutException:
            error = f"no answer within {self.settings.webhook_timeout:g} s"
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}"
        duration_ms = int((time.perf_counter() - started) * 1000)
        ok = error is None
        error = bounded_text(" ".join(error.split()), ERROR_TEXT_LIMIT) if error else None
        disabled = self._record(event_id, endpoint_id, attempt, status, error, duration_ms)
        if ok:
            log.info("webhook %s to %s: %s in %d ms", event_id, endpoint_id, status, duration_ms)
            assert status is not None
            return status
        log.warning("webhook %s to %s attempt %d: %s", event_id, endpoint_id, attempt, error)
        if disabled:
            raise ApplicationError(
                f"endpoint {endpoint_id} disabled: {disabled}",
                type=WEBHOOK_STOPPED_ERROR,
                non_retryable=True,
            )
        raise ApplicationError(
            f"endpoint {endpoint_id}: {error}",
            type=WEBHOOK_FAILED_ERROR,
            next_retry_delay=retry_after,
        )

    def _record(
        self,
        event_id: str,
        endpoint_id: str,
        attempt: int,
        status: int | None,
        error: str | None,
        duration_ms: int,
    ) -> str | None:
        """Log the attempt and count it on the endpoint; the reason it was disabled now."""
        now = utcnow()
        reason = None
        with self.store.session() as s, s.begin():
            s.add(
                WebhookAttempt(
                    event_id=event_id,
                    endpoint_id=endpoint_id,
                    attempt=attempt,
                    at=now,
                    status_code=status,
                    succeeded=error is None,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            where = WebhookEndpoint.id == endpoint_id
            if error is None:
                s.execute(update(WebhookEndpoint).where(where).values(consecutive_failures=0))
                return None
            s.execute(
                update(WebhookEndpoint)
                .where(where)
                .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
            )
            endpoint = s.get(WebhookEndpoint, endpoint_id, populate_existing=True)
            if endpoint is None or not endpoint.enabled:
                return None
            limit = self.settings.webhook_disable_after
            if status == 410:
                reason = "the endpoint answered 410 Gone"
            elif endpoint.consecutive_failures >= limit:
                reason = f"{endpoint.consecutive_failures} failed attempts in a row (last: {error})"
            if reason is not None:
                endpoint.enabled = False
                endpoint.disabled_at = now
                endpoint.disabled_reason = bounded_text(reason, ERROR_TEXT_LIMIT)
        if reason is not None:
            outbound.subscriptions_changed()
            log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
        return reason

    @activity.defn(name=DISPATCH_PENDING_WEBHOOKS)
    async def dispatch_pending_webhooks(self) -> WebhookSweepResult:
        """Start the delivery of every event recorded but never handed over (a publisher
        could not reach Temporal), within the retry window."""
        if self.client is None:
            raise ApplicationError("this worker has no Temporal client", non_retryable=True)
        now = utcnow()
        retry_for = max(self.settings.webhook_retry_for, outbound.MIN_RETRY_FOR)
        dispatched = 0
        while True:
            ids = await asyncio.to_thread(
                outbound.pending_events,
                self.store,
                older_than=now - SWEEP_GRACE,
                newer_than=now - retry_for,
            )
            for eid in ids:
                await outbound.dispatch(self.client, eid, self.settings, store=self.store)
                dispatched += 1
                activity.heartbeat(dispatched)
            if len(ids) < 1000:
                break
        if dispatched:
            log.info("webhook sweep: %d events handed over", dispatched)
        return WebhookSweepResult(dispatched=dispatched)

"""Delivers the outbox to Herald: in order per object, with backoff, each item once.

An object's next item waits until the one before it is sent or has failed for good. When
Herald cannot take an item now (Herald, Temporal or the network down, a timeout), the item
stays pending with an exponential delay and the pass stops: the items behind it are not
hammered against a server that is down. A refusal (bad data: :class:`~herald.errors.InvalidInput`,
``NotFound``) marks the item failed with its reason, and the items behind it go on.
Repeats are harmless: starting a running loan again changes nothing, extending it to the
due time it has answers it unchanged, and ending an object that has already ended counts
as done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from herald.errors import Conflict, HeraldError, InvalidInput, NotFound, Unavailable
from herald.service.base import one_line

from .conf import HeraldConfig, herald_config
from .enqueue import decode_arguments
from .models import ERROR_LIMIT, OutboxItem
from .transport import Transport, transport_from_settings

log = logging.getLogger("herald.contrib.django.relay")

# Calls that end an object: when it has ended already, the replay is done.
ENDING = frozenset({"return_loan", "cancel_loan", "complete_followup", "cancel_followup"})
PENDING, SENT, FAILED = (
    OutboxItem.Status.PENDING,
    OutboxItem.Status.SENT,
    OutboxItem.Status.FAILED,
)


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    failures: list[str] = field(default_factory=list)
    down: bool = False  # Herald could not be reached

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.retrying

    def add(self, other: DrainReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.retrying += other.retrying
        self.failures.extend(other.failures)
        self.down = self.down or other.down

    def __str__(self) -> str:
        text = f"sent {self.sent}, failed {self.failed}, retrying {self.retrying}"
        return f"{text} (Herald unreachable)" if self.down else text


def _one_line(err: BaseException) -> str:
    """The reason kept on the item: one line that fits its column, ellipsis included."""
    return one_line(f"{type(err).__name__}: {err}", ERROR_LIMIT - 1)


def outcome(method: str, err: BaseException) -> str:
    """``"done"``, ``"failed"`` (for good), ``"retry"`` (this item, later) or ``"down"``
    (Herald cannot be reached: this item and the others, later)."""
    if isinstance(err, Conflict) and method in ENDING and "no longer running" in str(err):
        return "done"  # it has ended already: what this item asked for holds
    if isinstance(err, InvalidInput | NotFound):
        return "failed"
    if isinstance(err, TypeError):
        return "failed"  # arguments the operation does not take: no retry will fix them
    if isinstance(err, Unavailable | httpx.TransportError | TimeoutError | ConnectionError):
        return "down"
    if isinstance(err, HeraldError):
        return "retry"
    return "retry"  # anything unexpected: kept, with its reason, and tried again later


def backoff(attempts: int, config: HeraldConfig) -> timedelta:
    seconds = config.backoff_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config.backoff_max_seconds))


class Relay:
    def __init__(
        self,
        transport: Transport | None = None,
        *,
        config: HeraldConfig | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or herald_config()
        self.transport = transport or transport_from_settings(self.config)
        self.now = now or timezone.now
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def db(self) -> str:
        return self.config.database

    def _claim(self, item_id: int, now: datetime) -> bool:
        until = now + timedelta(seconds=self.config.claim_seconds)
        claimed = (
            OutboxItem.objects.using(self.db)
            .filter(pk=item_id, status=PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=until)
        )
        return claimed == 1

    def deliver(self, item: OutboxItem) -> str:
        """Hand one claimed item to Herald and record the outcome."""
        now = self.now()
        try:
            self.transport.call(
                item.method,
                decode_arguments(item.arguments),
                idempotency_key=item.idempotency_key,
            )
        except Exception as err:
            result = outcome(item.method, err)
            message = _one_line(err)
            if result == "done":
                message = ""
        else:
            result, message = "done", ""
        item.attempts += 1
        item.claimed_until = None
        item.last_error = message
        if result == "done":
            item.status, item.sent_at = SENT, now
        elif result == "failed":
            item.status = FAILED
            log.warning("outbox item %s (%s) refused: %s", item.pk, item.object_key, message)
        elif result == "retry":
            item.next_attempt_at = now + backoff(item.attempts, self.config)
            log.info("outbox item %s (%s) will be retried: %s", item.pk, item.object_key, message)
        else:
            # Herald is down, not this item: it keeps its place, and the whole outbox waits
            # (run() backs off), so items of other objects never overtake it.
            log.info("Herald unreachable, outbox item %s waits: %s", item.pk, message)
        item.save(
            using=self.db,
            update_fields=[
                "attempts",
                "claimed_until",
                "last_error",
                "status",
                "sent_at",
                "next_attempt_at",
            ],
        )
        return result

    def pass_once(self, skip: set[str] | None = None) -> DrainReport:
        """One look at the pending items: each object's items in order, until one waits.

        Objects go side by side (``RELAY_CONCURRENCY`` at once), people first: a loan's
        borrower is in Herald's directory before the loan is started. ``skip`` holds the
        objects that wait until the next drain (an item of theirs is to be retried)."""
        skip = skip if skip is not None else set()
        pending = list(
            OutboxItem.objects.using(self.db)
            .filter(status=PENDING)
            .exclude(object_key__in=skip)
            .order_by("id")[: self.config.relay_batch]
        )
        by_object: dict[str, list[OutboxItem]] = {}
        for item in pending:
            by_object.setdefault(item.object_key, []).append(item)
        people = [items for key, items in by_object.items() if key.startswith("subscriber:")]
        others = [items for key, items in by_object.items() if not key.startswith("subscriber:")]
        report = DrainReport()
        down = threading.Event()
        for wave in (people, others):
            for lane_report, waits in self._run_lanes(wave, down):
                report.add(lane_report)
                skip.update(waits)
            if down.is_set():
                break
        return report

    def _run_lanes(
        self, lanes: list[list[OutboxItem]], down: threading.Event
    ) -> list[tuple[DrainReport, set[str]]]:
        width = min(self.config.relay_concurrency, len(lanes))
        if width <= 1:
            return [self._lane(items, down) for items in lanes]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.config.relay_concurrency, thread_name_prefix="herald-relay"
                )
            pool = self._pool
        return list(pool.map(lambda items: self._lane_in_thread(items, down), lanes))

    def _lane_in_thread(
        self, items: list[OutboxItem], down: threading.Event
    ) -> tuple[DrainReport, set[str]]:
        try:
            return self._lane(items, down)
        finally:
            connections.close_all()  # this thread's own connections

    def _lane(self, items: list[OutboxItem], down: threading.Event) -> tuple[DrainReport, set[str]]:
        """One object's items, in order, until one waits."""
        report = DrainReport()
        for item in items:
            if down.is_set():
                break  # Herald went away meanwhile: the rest waits too
            now = self.now()
            if item.next_attempt_at > now:
                break  # waits, and so do the items behind it
            if not self._claim(item.pk, now):
                break  # another relay is delivering it
            result = self.deliver(item)
            if result in ("retry", "down"):
                report.retrying += 1
                if result == "down":
                    report.down = True
                    down.set()  # the others would fail the same way: later
                return report, {item.object_key}
            if result == "failed":
                report.failed += 1
                report.failures.append(f"{item.object_key} {item.method}: {item.last_error}")
            else:
                report.sent += 1
        return report, set()

    def drain(self) -> DrainReport:
        """Deliver everything that is due now; each item is tried at most once per drain."""
        total = DrainReport()
        skip: set[str] = set()
        while True:
            report = self.pass_once(skip)
            total.add(report)
            if report.down or report.sent + report.failed == 0:
                return total

    def run(self, poll_seconds: float | None = None) -> None:
        """Until :meth:`stop`: drain, then wait for the poll interval when idle."""
        poll = self.config.relay_poll_seconds if poll_seconds is None else poll_seconds
        outages = 0
        while not self._stop.is_set():
            close_old_connections()
            try:
                report = self.drain()
            except Exception:
                log.exception("the Herald relay failed; trying again")
                report = DrainReport(down=True)
            if report.down:
                outages += 1
                self._stop.wait(max(poll, backoff(outages, self.config).total_seconds()))
            else:
                outages = 0
                if report.sent + report.failed == 0:
                    self._stop.wait(poll)
        close_old_connections()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        self.transport.close()


def retry_failed(queryset: Any, now: datetime | None = None) -> int:
    """Put failed items back in the queue (the admin's "retry" action)."""
    return queryset.filter(status=FAILED).update(
        status=PENDING, next_attempt_at=now or timezone.now(), claimed_until=None
    )


_thread_relay: tuple[threading.Thread, Relay] | None = None
_thread_lock = threading.Lock()


def start_relay_thread(transport: Transport | None = None) -> Relay:
    """The relay on a daemon thread of this process (``HERALD["RELAY_IN_PROCESS"]``)."""
    global _thread_relay
    with _thread_lock:
        if _thread_relay is not None and _thread_relay[0].is_alive():
            return _thread_relay[1]
        relay = Relay(transport)
        thread = threading.Thread(target=relay.run, name="herald-relay", daemon=True)
        thread.start()
        _thread_relay = (thread, relay)
        return relay


def stop_relay_thread(timeout: float = 30.0) -> None:
    global _thread_relay
    with _thread_lock:
        if _thread_relay is None:
            return
        thread, relay = _thread_relay
        relay.stop()
        thread.join(timeout)
        relay.close()
        _thread_relay = None

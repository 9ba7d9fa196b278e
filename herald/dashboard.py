"""The ops dashboard's figures from the delivery log: deliveries per channel and status over
the last 24 hours and 7 days, the failure rate, SMS segments and their estimated cost, how
late messages went out (median and p99 of sent minus scheduled), the busiest kinds, and a
count per day and channel for the chart; and the rows that need a look (failed for good,
stuck).

:func:`tally` is the whole computation, pure (rows and an instant in, a document out); the
queries here only fetch the rows it needs. The service layer
(:mod:`herald.service.stats`) offers both to every front door.

Definitions, in one place:

- a row counts in a window by its creation time (``created_at``, when its notice was
  planned), like the delivery log's ``since``/``until`` filters;
- *settled*: accepted by a provider (sent, delivered, read, bounced, complained,
  undelivered) or failed for good (``permanently_failed``);
- *failed*: ``permanently_failed``, plus what a provider reported undeliverable after
  accepting it (bounced, undelivered); the failure rate is failed / settled;
- *SMS*: the SMS rows a provider accepted, their segments and estimated cost per currency;
- *lateness*: ``sent_at - scheduled_at`` of the rows sent, resends left out (a resend keeps
  the original's schedule, so its lateness is the ops' reaction time, not Herald's);
- *stuck*: pending or failing (``failed``: a transient failure being retried) for more
  than :data:`STUCK_AFTER` after being planned.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from herald.contracts import DeliveryStatus
from herald.db import Delivery
from herald.receipts import ACCEPTED
from herald.store import Store

WINDOWS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
CHART_DAYS = 7
BUSIEST = 5
STUCK_AFTER = timedelta(hours=1)
FAILED = frozenset(
    {
        DeliveryStatus.PERMANENTLY_FAILED.value,
        DeliveryStatus.BOUNCED.value,
        DeliveryStatus.UNDELIVERED.value,
    }
)
SETTLED = ACCEPTED | {DeliveryStatus.PERMANENTLY_FAILED.value}
STUCK_STATUSES = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)
RESEND_MARK = "|resend-"
FETCH_BATCH = 5000


@dataclass(frozen=True)
class LogRow:
    """What the dashboard reads of one delivery-log row."""

    created_at: datetime
    channel: str
    status: str
    kind: str
    scheduled_at: datetime | None = None
    sent_at: datetime | None = None
    segments: int | None = None
    cost: float | None = None
    currency: str | None = None
    resend: bool = False


def percentile(sorted_values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in (0, 1]) of values already sorted."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


class _Window:
    def __init__(self, since: datetime) -> None:
        self.since = since
        self.by_channel: dict[str, Counter[str]] = defaultdict(Counter)
        self.kinds: Counter[str] = Counter()
        self.failed = 0
        self.settled = 0
        self.sms_messages = 0
        self.sms_segments = 0
        self.sms_cost: dict[str, float] = defaultdict(float)
        self.lateness: list[float] = []

    def add(self, row: LogRow) -> None:
        self.by_channel[row.channel][row.status] += 1
        self.kinds[row.kind] += 1
        if row.status in SETTLED:
            self.settled += 1
        if row.status in FAILED:
            self.failed += 1
        if row.channel == "sms" and row.status in ACCEPTED:
            self.sms_messages += 1
            self.sms_segments += row.segments or 0
            if row.cost is not None:
                self.sms_cost[row.currency or "?"] += row.cost
        if row.sent_at is not None and row.scheduled_at is not None and not row.resend:
            self.lateness.append((row.sent_at - row.scheduled_at).total_seconds())

    def result(self) -> dict[str, Any]:
        late = sorted(self.lateness)
        channels: dict[str, dict[str, Any]] = {
            channel: {
                "total": sum(statuses.values()),
                "by_status": dict(sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
            for channel, statuses in self.by_channel.items()
        }
        return {
            "since": self.since.isoformat(),
            "total": sum(int(c["total"]) for c in channels.values()),
            "by_channel": dict(sorted(channels.items(), key=lambda kv: (-kv[1]["total"], kv[0]))),
            "settled": self.settled,
            "failed": self.failed,
            "failure_rate": round(self.failed / self.settled, 4) if self.settled else None,
            "sms": {
                "messages": self.sms_messages,
                "segments": self.sms_segments,
                "cost": {cur: round(v, 4) for cur, v in sorted(self.sms_cost.items())},
            },
            "lateness": {
                "count": len(late),
                "median_seconds": round(statistics.median(late), 3) if late else None,
                "p99_seconds": round(p99, 3)
                if (p99 := percentile(late, 0.99)) is not None
                else None,
            },
            "busiest_kinds": [
                {"kind": kind, "count": n}
                for kind, n in sorted(self.kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:BUSIEST]
            ],
        }


def chart_days(now: datetime, timezone: str) -> list[datetime]:
    """The starts of the chart's days in ``timezone``: today and the six before, oldest
    first (each an aware instant)."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    return [datetime(d.year, d.month, d.day, tzinfo=zone) for d in days]


def tally(
    rows: Iterable[LogRow], *, now: datetime, timezone: str, stuck: int = 0
) -> dict[str, Any]:
    """The dashboard's document from the rows created in the last 7 days (older rows are
    ignored): a summary per window (``24h``, ``7d``), the count per day (in ``timezone``)
    and channel for the chart, and ``stuck`` as given (counted over the whole log)."""
    windows = {name: _Window(now - span) for name, span in WINDOWS.items()}
    starts = chart_days(now, timezone)
    per_day: list[Counter[str]] = [Counter() for _ in starts]
    oldest = min(w.since for w in windows.values())
    for row in rows:
        if row.created_at < oldest or row.created_at > now:
            continue
        for window in windows.values():
            if row.created_at >= window.since:
                window.add(row)
        for index in range(len(starts) - 1, -1, -1):
            if row.created_at >= starts[index]:
                per_day[index][row.channel] += 1
                break
    days = [
        {
            "date": start.date().isoformat(),
            "total": sum(counts.values()),
            "by_channel": dict(sorted(counts.items())),
        }
        for start, counts in zip(starts, per_day, strict=True)
    ]
    return {
        "generated_at": now.isoformat(),
        "timezone": timezone,
        "windows": {name: window.result() for name, window in windows.items()},
        "days": days,
        "stuck": stuck,
        "stuck_after_seconds": int(STUCK_AFTER.total_seconds()),
    }


# ---------------------------------------------------------------- the queries


def recent_rows(store: Store, since: datetime) -> Iterator[LogRow]:
    """The rows created at or after ``since``, only the columns the dashboard reads,
    fetched in batches."""
    q = select(
        Delivery.created_at,
        Delivery.channel,
        Delivery.status,
        Delivery.kind,
        Delivery.scheduled_at,
        Delivery.sent_at,
        Delivery.segments,
        Delivery.cost_estimate,
        Delivery.cost_currency,
        Delivery.idempotency_key,
    ).where(Delivery.created_at >= since)
    with store.session() as s:
        for r in s.execute(q.execution_options(yield_per=FETCH_BATCH)):
            yield LogRow(
                created_at=r.created_at,
                channel=r.channel,
                status=r.status,
                kind=r.kind,
                scheduled_at=r.scheduled_at,
                sent_at=r.sent_at,
                segments=r.segments,
                cost=r.cost_estimate,
                currency=r.cost_currency,
                resend=RESEND_MARK in r.idempotency_key,
            )


def _stuck(q: Any, now: datetime) -> Any:
    return q.where(Delivery.status.in_(STUCK_STATUSES)).where(
        Delivery.created_at < now - STUCK_AFTER
    )


def count_stuck(store: Store, now: datetime) -> int:
    """Rows pending or failing for more than STUCK_AFTER since they were planned."""
    q = _stuck(select(func.count()).select_from(Delivery), now)
    with store.session() as s:
        return int(s.scalar(q) or 0)


def problem_rows(
    store: Store, now: datetime, limit: int
) -> tuple[list[Delivery], list[Delivery], dict[int, Delivery]]:
    """The rows failed for good and the stuck ones, the latest planned first, at most
    ``limit`` each;
    and for each failed row its latest resend, when there is one (by the failed row's id)."""
    with store.session() as s:
        failed = list(
            s.scalars(
                select(Delivery)
                .where(Delivery.status == DeliveryStatus.PERMANENTLY_FAILED.value)
                .order_by(Delivery.created_at.desc(), Delivery.id.desc())
                .limit(limit)
            )
        )
        stuck = list(
            s.scalars(
                _stuck(select(Delivery), now)
                .order_by(Delivery.created_at.desc(), Delivery.id.desc())
                .limit(limit)
            )
        )
        resends: dict[int, Delivery] = {}
        roots = {row.id: row.idempotency_key.split(RESEND_MARK, 1)[0] for row in failed}
        if roots:
            clauses = [
                Delivery.idempotency_key.startswith(root + RESEND_MARK, autoescape=True)
                for root in set(roots.values())
            ]
            later = list(s.scalars(select(Delivery).where(or_(*clauses)).order_by(Delivery.id)))
            for row in failed:
                mine = [
                    r
                    for r in later
                    if r.idempotency_key.startswith(roots[row.id] + RESEND_MARK) and r.id > row.id
                ]
                if mine:
                    resends[row.id] = mine[-1]
        return failed, stuck, resends

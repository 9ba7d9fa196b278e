"""Queries over the delivery log: rows by status, channel, kind, person and time, and the
same filters counted by status and by channel (``herald deliveries --summary``).

The filters are checked by the service layer (:mod:`herald.service.deliveries`); here they
are only turned into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from herald.db import Delivery
from herald.store import Store


@dataclass(frozen=True)
class LogFilter:
    """Which rows of the log; ``None`` means any. ``since`` is inclusive, ``until`` not
    (both on the row's creation time, in UTC)."""

    subject_type: str | None = None
    subject_id: str | None = None
    status: str | None = None
    channel: str | None = None
    kind: str | None = None
    subscriber_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, q: Select[Any]) -> Select[Any]:
        for column, value in (
            (Delivery.subject_type, self.subject_type),
            (Delivery.subject_id, self.subject_id),
            (Delivery.status, self.status),
            (Delivery.channel, self.channel),
            (Delivery.kind, self.kind),
            (Delivery.subscriber_id, self.subscriber_id),
        ):
            if value is not None:
                q = q.where(column == value)
        if self.since is not None:
            q = q.where(Delivery.created_at >= self.since)
        if self.until is not None:
            q = q.where(Delivery.created_at < self.until)
        return q


def list_rows(
    store: Store, where: LogFilter, *, after: int | None = None, limit: int | None = None
) -> list[Delivery]:
    """The rows that match, oldest (lowest id) first, after the id ``after``."""
    q = where.apply(select(Delivery).order_by(Delivery.id))
    if after is not None:
        q = q.where(Delivery.id > after)
    if limit:
        q = q.limit(limit)
    with store.session() as s:
        return list(s.scalars(q))


def summarise(store: Store, where: LogFilter) -> dict[str, Any]:
    """How many rows match, by status and by channel (the largest count first)."""

    def counts(column: Any) -> dict[str, int]:
        q = where.apply(select(column, func.count()).select_from(Delivery).group_by(column))
        with store.session() as s:
            rows = [(str(key), int(n)) for key, n in s.execute(q).all()]
        return dict(sorted(rows, key=lambda kv: (-kv[1], kv[0])))

    by_status = counts(Delivery.status)
    return {
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_channel": counts(Delivery.channel),
    }

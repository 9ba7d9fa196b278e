"""The delivery log: one row per notice, person and channel, with every attempt; read
whole or filtered (status, channel, kind, person, time), and counted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from herald.contracts import DeliveryStatus
from herald.delivery_log import LogFilter, list_rows
from herald.errors import InvalidInput
from herald.kinds import ALL_CHANNELS, KINDS
from herald.service.base import ServiceBase
from herald.store import delivery_as_dict
from herald.subjects import subject_types
from herald.validation import check_id, check_int, show

DEFAULT_PAGE = 100
MAX_PAGE = 500
STATUSES = tuple(s.value for s in DeliveryStatus)
CHANNELS = tuple(c.value for c in ALL_CHANNELS)


def _one_of(value: object, what: str, known: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in known:
        raise InvalidInput(f"unknown {what} {show(value, 40)}: use one of {', '.join(known)}")
    return value


def _instant(value: object, what: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"invalid {what} {show(value)}: use ISO 8601, e.g. 2026-12-01T10:00:00+01:00"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a date-time, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} {value.isoformat()} has no time zone offset (add +01:00 or Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{what} {value.isoformat()} is out of range") from None


def log_filter(
    *,
    loan_id: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    subscriber_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> LogFilter:
    """The filters of the log, each checked, as one :class:`LogFilter`."""
    if loan_id is not None:
        if subject_type not in (None, "loan"):
            raise InvalidInput("give a loan id or another subject type, not both")
        subject_type, subject_id = "loan", loan_id
    if subject_type is not None and subject_type not in subject_types():
        raise InvalidInput(
            f"unknown subject type {subject_type!r}: use one of {', '.join(sorted(subject_types()))}"
        )
    if subject_id is not None:
        check_id(subject_id, f"{subject_type or 'subject'} id")
    if status is not None:
        _one_of(status, "status", STATUSES)
    if channel is not None:
        _one_of(channel, "channel", CHANNELS)
    if kind is not None:
        _one_of(kind, "kind", sorted(KINDS))
    if subscriber_id is not None:
        check_id(subscriber_id, "subscriber id")
    start = _instant(since, "since") if since is not None else None
    end = _instant(until, "until") if until is not None else None
    if start is not None and end is not None and not start < end:
        raise InvalidInput(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    return LogFilter(
        subject_type=subject_type,
        subject_id=subject_id,
        status=status,
        channel=channel,
        kind=kind,
        subscriber_id=subscriber_id,
        since=start,
        until=end,
    )


class DeliveryService(ServiceBase):
    async def deliveries(
        self,
        loan_id: str | None = None,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        subscriber_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The log, oldest first: a loan's (``loan_id``), one subject's, one type's or all,
        narrowed by status, channel, kind, person and creation time (``since`` inclusive,
        ``until`` not). Page with ``limit`` and ``after`` (the last ``id`` of the page
        before)."""
        where = log_filter(
            loan_id=loan_id,
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
        )
        if after is not None:
            check_int(after, "the cursor", low=0)
        if limit is not None:
            check_int(limit, "the page size", low=1, high=MAX_PAGE + 1)
        rows = await asyncio.to_thread(list_rows, self.store, where, after=after, limit=limit)
        return [delivery_as_dict(r) for r in rows]

    async def delivery_page(
        self,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        subscriber_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the log, oldest first, and the cursor of the next (None: the end)."""
        check_int(limit, "the page size", low=1, high=MAX_PAGE)
        if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 12):
            raise InvalidInput("invalid cursor: pass back the next_cursor of a page")
        rows = await self.deliveries(
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
            after=int(cursor) if cursor else None,
            limit=limit + 1,  # one more says whether there is a next page
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (str(rows[-1]["id"]) if more else None)

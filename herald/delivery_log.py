"""Reading the delivery log a page at a time, by subject, for the HTTP API and ops."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from herald.db import Delivery
from herald.errors import InvalidInput
from herald.store import Store, delivery_as_dict
from herald.validation import check_id, check_int, show

SUBJECT_TYPES = ("loan", "repair", "followup", "lead", "user", "staff", "system", "digest")
DEFAULT_PAGE = 100
MAX_PAGE = 500


def _cursor(cursor: str | None) -> int | None:
    """The cursor is the id of the last row of the previous page, as text."""
    if cursor is None or cursor == "":
        return None
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 12:
        raise InvalidInput(f"invalid cursor {show(cursor)}: pass back the next_cursor of a page")
    return int(cursor)


def read_page(
    store: Store,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows oldest first, after ``cursor``; returns them and the next cursor (None: the end)."""
    if subject_type is not None and subject_type not in SUBJECT_TYPES:
        raise InvalidInput(
            f"unknown subject type {show(subject_type)}: use one of {', '.join(SUBJECT_TYPES)}"
        )
    if subject_id is not None:
        check_id(subject_id, "subject id")
    check_int(limit, "the page size", low=1, high=MAX_PAGE)
    after = _cursor(cursor)
    q = select(Delivery).order_by(Delivery.id).limit(limit + 1)
    if subject_type:
        q = q.where(Delivery.subject_type == subject_type)
    if subject_id:
        q = q.where(Delivery.subject_id == subject_id)
    if after is not None:
        q = q.where(Delivery.id > after)
    with store.session() as s:
        rows = list(s.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    return [delivery_as_dict(r) for r in rows], (str(rows[-1].id) if more else None)


async def delivery_page(store: Store, **kwargs: Any) -> tuple[list[dict[str, Any]], str | None]:
    return await asyncio.to_thread(read_page, store, **kwargs)

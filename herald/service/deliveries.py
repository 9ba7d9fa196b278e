"""The delivery log: one row per notice, person and channel, with every attempt."""

from __future__ import annotations

import asyncio
from typing import Any

from herald.errors import InvalidInput
from herald.service.base import ServiceBase
from herald.store import delivery_as_dict
from herald.subjects import subject_types
from herald.validation import check_id, check_int

DEFAULT_PAGE = 100
MAX_PAGE = 500


class DeliveryService(ServiceBase):
    async def deliveries(
        self,
        loan_id: str | None = None,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The log, oldest first: a loan's (``loan_id``), one subject's, one type's or all.
        Page with ``limit`` and ``after`` (the last ``id`` of the page before)."""
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
        if after is not None:
            check_int(after, "the cursor", low=0)
        if limit is not None:
            check_int(limit, "the page size", low=1, high=MAX_PAGE + 1)
        rows = await asyncio.to_thread(
            self.store.list_deliveries,
            subject_type=subject_type,
            subject_id=subject_id,
            after=after,
            limit=limit,
        )
        return [delivery_as_dict(r) for r in rows]

    async def delivery_page(
        self,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
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
            after=int(cursor) if cursor else None,
            limit=limit + 1,  # one more says whether there is a next page
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (str(rows[-1]["id"]) if more else None)

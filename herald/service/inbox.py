"""The in-app inbox: what a person sees in the application, unread first."""

from __future__ import annotations

import asyncio
from typing import Any

from herald.errors import InvalidInput
from herald.service.directory import DirectoryService
from herald.store import inbox_as_dict
from herald.validation import check_int


class InboxService(DirectoryService):
    async def inbox(
        self, subscriber_id: str, *, page: int = 1, page_size: int = 20, unread_only: bool = False
    ) -> list[dict[str, Any]]:
        """A person's in-app notifications, unread first, newest first; pages start at 1."""
        check_int(page, "the page", low=1, high=1_000_000)
        check_int(page_size, "the page size", low=1, high=200)
        await self.get_subscriber(subscriber_id)
        rows = await asyncio.to_thread(
            self.store.list_inbox,
            subscriber_id,
            page=page,
            page_size=page_size,
            unread_only=unread_only,
        )
        return [inbox_as_dict(r) for r in rows]

    async def unread_count(self, subscriber_id: str) -> int:
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(self.store.count_unread, subscriber_id)

    async def mark_read(self, subscriber_id: str, notification_ids: list[int] | None = None) -> int:
        """Mark the given notifications read, or all of them when ``notification_ids`` is None;
        returns how many changed."""
        if notification_ids is not None:
            if not isinstance(notification_ids, list | tuple):
                raise InvalidInput("notification ids must be a list of numbers")
            notification_ids = [check_int(n, "a notification id", low=1) for n in notification_ids]
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(self.store.mark_read, subscriber_id, notification_ids)

"""The in-app inbox: what a person sees in the application, unread first.

A person only ever changes their own notifications: ids that are not theirs change nothing
and are reported back (``unknown``)."""

from __future__ import annotations

import asyncio
from typing import Any

from herald import inbox_store
from herald.errors import InvalidInput
from herald.kinds import CATEGORIES
from herald.service.directory import DirectoryService
from herald.store import inbox_as_dict
from herald.validation import LIMITS, check_int, optional_text, show

MAX_IDS = 1000


def _ids(notification_ids: object, *, none_means_all: bool) -> list[int] | None:
    if notification_ids is None:
        if none_means_all:
            return None
        raise InvalidInput("give the notification ids")
    if not isinstance(notification_ids, list | tuple):
        raise InvalidInput("notification ids must be a list of numbers")
    if len(notification_ids) > MAX_IDS:
        raise InvalidInput(f"{len(notification_ids)} notification ids; the limit is {MAX_IDS}")
    if not notification_ids:
        raise InvalidInput("give at least one notification id")
    return [check_int(n, "a notification id", low=1) for n in notification_ids]


def _flag(value: object, what: str) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be true or false, got {show(value)}")


class InboxService(DirectoryService):
    async def inbox(
        self,
        subscriber_id: str,
        *,
        page: int = 1,
        page_size: int = 20,
        unread_only: bool = False,
        read: bool | None = None,
        category: str | None = None,
        archived: bool = False,
        search: str | None = None,
    ) -> list[dict[str, Any]]:
        """A person's in-app notifications, unread first, newest first; pages start at 1.

        ``read`` keeps only the read (True) or unread (False) ones (``unread_only`` is
        ``read=False``); ``category`` one category of herald.kinds; ``archived`` shows the
        archived ones instead of the others; ``search`` finds text in the title or the
        body, whatever its case."""
        check_int(page, "the page", low=1, high=1_000_000)
        check_int(page_size, "the page size", low=1, high=200)
        _flag(unread_only, "unread_only")
        _flag(archived, "archived")
        if read is not None:
            _flag(read, "read")
        if unread_only:
            if read:
                raise InvalidInput("ask for the read or the unread notifications, not both")
            read = False
        if category is not None and category not in CATEGORIES:
            raise InvalidInput(
                f"unknown category {show(category, 40)}: choose among {', '.join(CATEGORIES)}"
            )
        search = optional_text(search, "search", limit=LIMITS["search"])
        await self.get_subscriber(subscriber_id)
        wanted = inbox_store.InboxFilter(
            read=read, category=category, archived=archived, search=search
        )
        rows = await asyncio.to_thread(
            inbox_store.list_inbox,
            self.store,
            subscriber_id,
            wanted,
            page=page,
            page_size=page_size,
        )
        return [inbox_as_dict(r) for r in rows]

    async def unread_count(self, subscriber_id: str) -> int:
        """Unread notifications, the archived ones left out."""
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

    async def mark_unread(self, subscriber_id: str, notification_ids: list[int]) -> dict[str, Any]:
        """Mark read notifications unread again. Returns ``changed`` and the ``unknown`` ids
        (not the person's: nothing changed for them)."""
        ids = _ids(notification_ids, none_means_all=False) or []
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(inbox_store.mark_unread, self.store, subscriber_id, ids)

    async def archive(
        self, subscriber_id: str, notification_ids: list[int] | None = None
    ) -> dict[str, Any]:
        """Archive the given notifications, or all of them when ``notification_ids`` is None:
        they leave the list and the unread count, and stay in the database (``archived=True``
        lists them). Returns ``changed`` and the ``unknown`` ids."""
        ids = _ids(notification_ids, none_means_all=True)
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(inbox_store.archive, self.store, subscriber_id, ids)

    async def unarchive(
        self, subscriber_id: str, notification_ids: list[int] | None = None
    ) -> dict[str, Any]:
        """Restore archived notifications, or all of them when ``notification_ids`` is None:
        they are in the list again, and in the unread count when unread. Returns
        ``changed`` (those that were archived) and the ``unknown`` ids."""
        ids = _ids(notification_ids, none_means_all=True)
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(inbox_store.unarchive, self.store, subscriber_id, ids)

"""The in-app inbox's routes: the list (filtered by read state, category, text, archive),
the unread count, and marking read, unread again, archived or restored from the archive. Each translates to one call
of the service layer (:class:`herald.service.inbox.InboxService`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from herald.api import models as m

if TYPE_CHECKING:
    from starter.client import Herald


class NotificationIdsBody(m.Body):
    model_config = m._examples({"notification_ids": [12, 13]})

    notification_ids: list[int] = Field(
        description="The person's notifications to mark unread", examples=[[12]]
    )


class ArchiveBody(m.Body):
    model_config = m._examples({"notification_ids": [12, 13]}, {"notification_ids": None})

    notification_ids: list[int] | None = Field(
        default=None,
        description="The person's notifications to archive; null archives them all",
        examples=[[12]],
    )


class UnarchiveBody(m.Body):
    model_config = m._examples({"notification_ids": [12, 13]}, {"notification_ids": None})

    notification_ids: list[int] | None = Field(
        default=None,
        description="The person's archived notifications to restore; null restores them all",
        examples=[[12]],
    )


class InboxChanged(BaseModel):
    subscriber_id: str
    changed: int = Field(description="How many notifications changed")
    unknown: list[int] = Field(
        description="Ids that are not the person's notifications: nothing changed for them"
    )


def build_inbox_router(herald: Herald, *, problems: dict[int | str, dict[str, Any]]) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems)

    @r.get("/subscribers/{subscriber_id}/inbox", tags=["inbox"], response_model=list[m.InboxItem])
    async def inbox(
        subscriber_id: str,
        page: Annotated[int, Query(description="Pages start at 1")] = 1,
        page_size: Annotated[int, Query(description="Notifications per page")] = 20,
        unread_only: Annotated[bool, Query(description="Only unread notifications")] = False,
        read: Annotated[
            bool | None, Query(description="Only the read (true) or unread (false) ones")
        ] = None,
        category: Annotated[
            str | None, Query(description="One category: loans, repairs, leads, …")
        ] = None,
        archived: Annotated[
            bool, Query(description="The archived notifications instead of the others")
        ] = False,
        search: Annotated[
            str | None, Query(description="Text in the title or body, any case (200 at most)")
        ] = None,
    ) -> list[dict[str, Any]]:
        """In-app notifications, unread first, newest first."""
        return await herald.inbox(
            subscriber_id,
            page=page,
            page_size=page_size,
            unread_only=unread_only,
            read=read,
            category=category,
            archived=archived,
            search=search,
        )

    @r.get(
        "/subscribers/{subscriber_id}/inbox/unread-count",
        tags=["inbox"],
        response_model=m.UnreadCount,
    )
    async def unread_count(subscriber_id: str) -> m.UnreadCount:
        """Unread notifications, archived ones left out."""
        count = await herald.unread_count(subscriber_id)
        return m.UnreadCount(subscriber_id=subscriber_id, unread=count)

    @r.post("/subscribers/{subscriber_id}/inbox/read", tags=["inbox"], response_model=m.MarkedRead)
    async def mark_read(subscriber_id: str, body: m.MarkReadBody) -> m.MarkedRead:
        """Mark the given notifications read, or all with ``notification_ids: null``."""
        changed = await herald.mark_read(subscriber_id, body.notification_ids)
        return m.MarkedRead(subscriber_id=subscriber_id, marked_read=changed)

    @r.post(
        "/subscribers/{subscriber_id}/inbox/unread", tags=["inbox"], response_model=InboxChanged
    )
    async def mark_unread(subscriber_id: str, body: NotificationIdsBody) -> InboxChanged:
        """Mark read notifications unread again; ids not the person's change nothing and
        come back in ``unknown``."""
        return InboxChanged(**await herald.mark_unread(subscriber_id, body.notification_ids))

    @r.post(
        "/subscribers/{subscriber_id}/inbox/archive", tags=["inbox"], response_model=InboxChanged
    )
    async def archive(subscriber_id: str, body: ArchiveBody) -> InboxChanged:
        """Archive notifications (all with ``notification_ids: null``): they leave the list
        and the unread count and stay stored (``archived=true`` lists them)."""
        return InboxChanged(**await herald.archive(subscriber_id, body.notification_ids))

    @r.post(
        "/subscribers/{subscriber_id}/inbox/unarchive",
        tags=["inbox"],
        response_model=InboxChanged,
    )
    async def unarchive(subscriber_id: str, body: UnarchiveBody) -> InboxChanged:
        """Restore archived notifications (all with ``notification_ids: null``): back in the
        list, and in the unread count when unread."""
        return InboxChanged(**await herald.unarchive(subscriber_id, body.notification_ids))

    return r

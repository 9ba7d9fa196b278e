"""The delivery log's routes (filtered pages, the summary) and the previews of built-in
kinds. Each translates to one call of the service layer
(:class:`herald.service.delivery_log.DeliveryLogService`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from herald.api import models as m
from herald.service.deliveries import DEFAULT_PAGE

if TYPE_CHECKING:
    from starter.client import Herald

Status = Annotated[
    str | None, Query(description="pending, sent, failed, permanently_failed, skipped, …")
]
ChannelQ = Annotated[str | None, Query(description="email, sms, whatsapp or in_app")]
KindQ = Annotated[str | None, Query(description="A notification kind, e.g. loan.overdue")]
SubscriberQ = Annotated[str | None, Query(description="One person's rows")]
Since = Annotated[
    datetime | None, Query(description="Rows created at or after (ISO 8601 with an offset)")
]
Until = Annotated[
    datetime | None, Query(description="Rows created before (ISO 8601 with an offset)")
]
SubjectType = Annotated[str | None, Query(description="loan, repair, followup, …")]
SubjectId = Annotated[str | None, Query(description="One subject's id")]


class SummaryOut(BaseModel):
    total: int = Field(description="Rows that match the filters")
    by_status: dict[str, int] = Field(description="Status → rows, largest first")
    by_channel: dict[str, int] = Field(description="Channel → rows, largest first")


class KindPreviewOut(BaseModel):
    kind: str
    locale: str
    format: str = Field(description="html, text or short")
    subject: str
    body: str = Field(description="The message in that format, rendered with sample facts")
    overridden: bool = Field(description="The template comes from HERALD_TEMPLATES_DIR")


def build_delivery_log_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems)

    @r.get("/deliveries", tags=["deliveries"], response_model=m.DeliveryPage)
    async def deliveries(
        request: Request,
        subject_type: SubjectType = None,
        subject_id: SubjectId = None,
        status: Status = None,
        channel: ChannelQ = None,
        kind: KindQ = None,
        subscriber_id: SubscriberQ = None,
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Query(description="Rows per page (1 to 500)")] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    ) -> m.DeliveryPage:
        """The delivery log, oldest first, narrowed by any of the filters. Without
        ``subject_id`` it spans every subject and needs an ``ops`` key."""
        if subject_id is None:
            require_ops(request)
        rows, after = await herald.delivery_page(
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
        )
        return m.DeliveryPage(items=[m.DeliveryRow(**row) for row in rows], next_cursor=after)

    @r.get("/deliveries/summary", tags=["deliveries"], response_model=SummaryOut)
    async def delivery_summary(
        request: Request,
        subject_type: SubjectType = None,
        subject_id: SubjectId = None,
        status: Status = None,
        channel: ChannelQ = None,
        kind: KindQ = None,
        subscriber_id: SubscriberQ = None,
        since: Since = None,
        until: Until = None,
    ) -> SummaryOut:
        """The rows that match the filters of ``GET /v1/deliveries``, counted by status and
        by channel. Without ``subject_id`` it spans every subject and needs an ``ops`` key."""
        if subject_id is None:
            require_ops(request)
        doc = await herald.delivery_summary(
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
        )
        return SummaryOut(**doc)

    @r.get("/kinds/{kind}/preview", tags=["templates"], response_model=KindPreviewOut)
    async def preview_kind(
        kind: str,
        locale: Annotated[str, Query(description="fr or en")] = "fr",
        format: Annotated[str, Query(description="html, text or short")] = "text",
    ) -> KindPreviewOut:
        """A built-in kind rendered with sample facts, as the worker would render it
        (HERALD_TEMPLATES_DIR's overrides first)."""
        return KindPreviewOut(**await herald.preview_kind(kind, locale=locale, format=format))

    return r

"""The delivery log's routes (filtered pages, the summary) and the ops tools beside it
(built-in kind previews, test sends). Each translates to one call of the service layer
(:class:`herald.service.delivery_log.DeliveryLogService`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from herald.api import models as m
from herald.api.problems import ProblemError
from herald.errors import ProviderFailed
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


class TestSendBody(m.Body):
    model_config = m._examples({"channel": "sms", "address": "+33612345678"})

    channel: str = Field(description="email, sms or whatsapp", examples=["sms"])
    address: str = Field(
        description="The e-mail address or phone number to send the test to",
        examples=["+33612345678"],
    )


class TestSendOut(BaseModel):
    channel: str
    address: str = Field(description="The address, normalised")
    provider: str = Field(description="The provider of the chain that accepted it")
    message_id: str | None = Field(description="The provider's id for the message")


def build_delivery_log_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems)
    ops = [Depends(require_ops)]

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
        format: Annotated[str, Query(description="html, text, short or inbox")] = "text",
    ) -> KindPreviewOut:
        """A built-in kind rendered with sample facts, as the worker would render it
        (HERALD_TEMPLATES_DIR's overrides first)."""
        return KindPreviewOut(**await herald.preview_kind(kind, locale=locale, format=format))

    @r.post(
        "/test-sends",
        tags=["ops"],
        response_model=TestSendOut,
        dependencies=ops,
        responses={502: {"description": "Every provider of the channel failed"}},
    )
    async def test_send(body: TestSendBody) -> TestSendOut:
        """Send a short test message through the channel's provider chain, with failover;
        answers the provider that accepted it and its message id. 502: every provider
        failed (the detail has each one's reason). Ops only."""
        try:
            doc = await herald.test_send(body.channel, body.address)
        except ProviderFailed as err:
            raise ProblemError(502, "provider-failed", str(err)) from None
        return TestSendOut(**doc)

    return r

"""Ad-hoc notices, events naming several repairs, and resends of failed deliveries. Each route is one call of the service
layer (:mod:`herald.service.notices`, :mod:`herald.service.resends`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from herald.api import models as m
from herald.api.gate import Principal

if TYPE_CHECKING:
    from starter.client import Herald


NOTICE_EXAMPLE = {
    "title": "Invoice processed",
    "message": "Invoice 2026-118 was processed.\nThe payment is due on 15 December.",
    "group_names": ["accounting"],
    "user_ids": ["boss"],
    "data": {"invoice_id": 118},
    "priority": "medium",
    "scheduled_for": "2026-12-14T09:00:00+01:00",
}


class NoticeFields(m.Body):
    title: str = Field(
        description="One line, at most 200 characters: the e-mail subject, the inbox title",
        examples=["Invoice processed"],
    )
    message: str = Field(
        description="The text, any number of lines (at most 10,000 characters)",
        examples=["Invoice 2026-118 was processed."],
    )
    user_ids: list[str] | None = Field(
        default=None, description="People to notify", examples=[["boss"]]
    )
    group_names: list[str] | None = Field(
        default=None, description="Groups to notify", examples=[["accounting"]]
    )
    event: str | None = Field(
        default=None,
        description="Instead of group_names: the groups HERALD_EVENT_GROUPS names for it",
        examples=["invoice.processed"],
    )
    data: dict[str, Any] | None = Field(
        default=None,
        description="The application's own data, kept with each delivery's request",
        examples=[{"invoice_id": 118}],
    )
    priority: str = Field(
        default="medium", description="urgent, high, medium or low", examples=["medium"]
    )
    channels: list[str] | None = Field(
        default=None, description="Restrict to these channels", examples=[["email", "in_app"]]
    )
    link: str | None = Field(
        default=None, description="http(s) link", examples=["https://app.example.org/i/118"]
    )
    scheduled_for: m.Instant | None = Field(
        default=None,
        description="Send at this time (ISO 8601 with an offset) rather than at once",
        examples=["2026-12-14T09:00:00+01:00"],
    )


class NoticeBody(NoticeFields):
    model_config = m._examples(NOTICE_EXAMPLE)

    request_id: str | None = Field(
        default=None,
        description="The notice's id: the same id twice sends once; cancel by it",
        examples=["invoice-118"],
    )
    wait: bool = Field(
        default=False, description="Wait for every delivery and answer the totals", examples=[False]
    )


class DryRunBody(NoticeFields):
    model_config = m._examples(NOTICE_EXAMPLE)


class DryRunDelivery(BaseModel):
    subscriber_id: str
    channel: str
    status: str = Field(description="send, held (quiet hours, digest), skipped or suppressed")
    address: str | None
    reason: str | None = Field(description="Why not sent (or held), as the log would say")


class DryRunOut(BaseModel):
    title: str
    recipients: int = Field(description="Everyone the notice would reach")
    listed: int = Field(description="Of them, those listed in deliveries (at most 200)")
    at: str = Field(description="The instant the channels were decided for")
    deliveries: list[DryRunDelivery]


class NoticeOut(BaseModel):
    request_id: str
    workflow_id: str
    result: dict[str, Any] | None = Field(
        default=None, description="The totals (NotifyResult) when waited for"
    )


class CancelledOut(BaseModel):
    request_id: str
    scheduled_for: AwareDatetime | None


class RepairEventsBody(m.Body):
    model_config = m._examples(
        {
            "repair_ids": ["R-101", "R-102", "R-103"],
            "type": "batch_approved",
            "event_id": "lot-5-approved",
            "batch_id": "L-5",
        }
    )

    repair_ids: list[str] = Field(
        description="The repairs the event names (at most 500)", examples=[["R-101", "R-102"]]
    )
    type: str = Field(
        description="approved, denied, batch_approved, assigned, …", examples=["batch_approved"]
    )
    event_id: str | None = Field(
        default=None,
        description="The application's id for the event: each repair applies it once",
        examples=["lot-5-approved"],
    )
    technician_id: str | None = Field(
        default=None, description="For assigned/reassigned", examples=["tech1"]
    )
    reason: str | None = Field(
        default=None, description="Free text (denials…)", examples=["Out of warranty"]
    )
    batch_id: str | None = Field(default=None, description="The batch's id", examples=["L-5"])
    batch_size: int | None = Field(
        default=None, description="Repairs in the batch (default: those named)", examples=[12]
    )


class RepairOutcome(BaseModel):
    repair_id: str
    outcome: str = Field(description="applied, duplicate, refused or unknown")
    detail: str | None


class RepairOutcomes(BaseModel):
    items: list[RepairOutcome]


class ResendBody(m.Body):
    model_config = m._examples({"wait": True})

    wait: bool = Field(
        default=False, description="Answer once the attempt is over, with its status"
    )


class ResendOut(m.DeliveryRow):
    resend_of: int = Field(description="The id of the delivery this row resends")


def build_notice_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems)
    ops = [Depends(require_ops)]

    @r.post(
        "/notices",
        tags=["staff alerts"],
        status_code=202,
        response_model=NoticeOut,
        responses={200: {"model": NoticeOut, "description": "Sent and waited for (wait: true)"}},
    )
    async def create_notice(body: NoticeBody, response: Response) -> NoticeOut:
        """A title and a message to people and whole groups, no template needed; at once or
        at ``scheduled_for`` (cancellable until then)."""
        request_id, result = await herald.create_notice(
            body.title, body.message, **body.model_dump(exclude={"title", "message"})
        )
        if result is not None:
            response.status_code = 200
        return NoticeOut(
            request_id=request_id,
            workflow_id=f"notify-{request_id}",
            result=result.model_dump(mode="json") if result is not None else None,
        )

    @r.post("/notices/dry-run", tags=["staff alerts"], response_model=DryRunOut)
    async def preview_notice(body: DryRunBody) -> DryRunOut:
        """Who would get what on which channel, as the worker would decide; sends, writes
        and starts nothing."""
        plan = await herald.preview_notice(
            body.title, body.message, **body.model_dump(exclude={"title", "message"})
        )
        return DryRunOut(**plan)

    @r.post("/notices/{request_id}/cancel", tags=["staff alerts"], response_model=CancelledOut)
    async def cancel_notice(request_id: str) -> CancelledOut:
        """Cancel a notice scheduled for later, before it fires (409 once it went out)."""
        return CancelledOut(**(await herald.cancel_notice(request_id)).model_dump())

    @r.post("/repairs/events", tags=["repairs"], response_model=RepairOutcomes)
    async def repair_events(body: RepairEventsBody) -> RepairOutcomes:
        """One status change of several repairs at once: each applies it once, and their
        notices to one person go out as one (``repair.batch``)."""
        rows = await herald.repair_events(
            body.repair_ids, body.type, **body.model_dump(exclude={"repair_ids", "type"})
        )
        return RepairOutcomes(items=[RepairOutcome(**row) for row in rows])

    @r.post(
        "/deliveries/{delivery_id}/resend",
        tags=["deliveries"],
        status_code=201,
        response_model=ResendOut,
        dependencies=ops,
    )
    async def resend(
        delivery_id: int, request: Request, body: ResendBody | None = None
    ) -> ResendOut:
        """A new attempt of a delivery that failed for good, on a new row logged as its
        resend; 409 for a row that was sent, is still being tried, or was resent already;
        ops only."""
        row = await herald.resend_delivery(
            delivery_id, actor=_actor(request), wait=body.wait if body else False
        )
        return ResendOut(**row)

    return r


def _actor(request: Request) -> str:
    found = getattr(request.state, "principal", None)
    name = found.name if isinstance(found, Principal) else "api"
    return f"api key {name}"[:200]

"""The feedback loop's routes for ops and applications: the suppression list, a person's
WhatsApp window and what providers reported about a delivery. Each translates to one call
of the service layer (:class:`herald.service.feedback.FeedbackService`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from herald.api import models as m
from herald.api.gate import Principal
from herald.errors import InvalidInput

if TYPE_CHECKING:
    from starter.client import Herald


class SuppressionBody(m.Body):
    model_config = m._examples(
        {"channel": "email", "address": "camille@example.org", "reason": "mailbox closed"}
    )

    channel: str = Field(description="email, sms or whatsapp")
    address: str = Field(description="The e-mail address or phone number")
    reason: str = Field(description="Why, kept on the entry")


class LiftBody(m.Body):
    model_config = m._examples(
        {"channel": "sms", "address": "+33612345678", "reason": "number reassigned"}
    )

    channel: str = Field(description="email, sms or whatsapp")
    address: str = Field(description="The e-mail address or phone number")
    reason: str | None = Field(default=None, description="Why it is lifted, kept on the entry")


class SuppressionOut(BaseModel):
    id: int
    channel: str
    address: str
    reason: str
    source: str | None = Field(description="The provider event that caused it, if any")
    created_at: str
    created_by: str
    active: bool
    lifted_at: str | None
    lifted_by: str | None
    lift_reason: str | None
    created: bool | None = Field(
        default=None, description="On a new suppression: false when it was already there"
    )


class SuppressionPage(BaseModel):
    items: list[SuppressionOut]
    next_cursor: str | None


class WindowOut(BaseModel):
    channel: str
    address: str | None
    open: bool = Field(description="The person wrote within the window: free text is allowed")
    last_inbound_at: str | None
    open_until: str | None


class ProviderEventOut(BaseModel):
    provider: str
    provider_status: str = Field(description="The provider's own word for it")
    state: str | None = Field(description="What it meant for the row; null: nothing")
    occurred_at: str
    received_at: str
    reason: str | None
    raw: str | None = Field(description="The event as received, bounded in size")


class ProviderEventList(BaseModel):
    items: list[ProviderEventOut]


class MonthOut(BaseModel):
    month: str = Field(examples=["2026-12"])
    messages: int
    segments: int
    cost: float = Field(description="Estimated: segments × the provider's price")
    currency: str
    budget: float | None = Field(description="HERALD_SMS_MONTHLY_BUDGET, if set")


class SpendingOut(BaseModel):
    items: list[MonthOut]


def build_feedback_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems)
    ops = [Depends(require_ops)]

    @r.get("/suppressions", tags=["suppressions"], response_model=SuppressionPage, dependencies=ops)
    async def suppressions(
        channel: Annotated[str | None, Query(description="email, sms or whatsapp")] = None,
        address: Annotated[str | None, Query(description="One address")] = None,
        include_lifted: Annotated[bool, Query(description="Lifted entries too")] = False,
        cursor: Annotated[str | None, Query(description="next_cursor of the page before")] = None,
        limit: Annotated[int, Query(description="Entries per page (1 to 500)")] = 100,
    ) -> SuppressionPage:
        """The suppression list, oldest first; ops only."""
        after = _cursor(cursor)
        rows = await herald.suppressions(
            channel, address, include_lifted=include_lifted, after=after, limit=limit
        )
        more = len(rows) == limit
        return SuppressionPage(
            items=[SuppressionOut(**row) for row in rows],
            next_cursor=str(rows[-1]["id"]) if more and rows else None,
        )

    @r.post(
        "/suppressions",
        tags=["suppressions"],
        status_code=201,
        response_model=SuppressionOut,
        dependencies=ops,
    )
    async def suppress(
        body: SuppressionBody, request: Request, response: Response
    ) -> SuppressionOut:
        """Suppress an address on a channel (201); one already suppressed answers its entry
        (200). Nothing more is sent to it there; a mandatory notice falls back to the
        person's other channels."""
        row = await herald.suppress(
            body.channel, body.address, reason=body.reason, actor=_actor(request)
        )
        if not row["created"]:
            response.status_code = 200
        return SuppressionOut(**row)

    @r.post(
        "/suppressions/lift",
        tags=["suppressions"],
        response_model=SuppressionOut,
        dependencies=ops,
    )
    async def lift(body: LiftBody, request: Request) -> SuppressionOut:
        """Lift an address's suppression; the entry stays, with who lifted it and why."""
        row = await herald.lift_suppression(
            body.channel, body.address, reason=body.reason, actor=_actor(request)
        )
        return SuppressionOut(**row)

    @r.get(
        "/subscribers/{subscriber_id}/whatsapp-window",
        tags=["subscribers"],
        response_model=WindowOut,
    )
    async def whatsapp_window(subscriber_id: str) -> WindowOut:
        """Whether the person's WhatsApp 24-hour window is open, and until when."""
        return WindowOut(**await herald.whatsapp_window(subscriber_id))

    @r.get(
        "/deliveries/{delivery_id}/events",
        tags=["deliveries"],
        response_model=ProviderEventList,
        dependencies=ops,
    )
    async def delivery_events(delivery_id: int) -> ProviderEventList:
        """What the provider reported about one delivery, oldest first; ops only."""
        rows = await herald.delivery_events(delivery_id)
        return ProviderEventList(items=[ProviderEventOut(**row) for row in rows])

    @r.get("/sms-spending", tags=["deliveries"], response_model=SpendingOut, dependencies=ops)
    async def sms_spending(
        months: Annotated[int, Query(description="Calendar months, newest first (1 to 36)")] = 6,
    ) -> SpendingOut:
        """SMS sent, segments and estimated cost per month, beside the budget; ops only."""
        return SpendingOut(items=[MonthOut(**m) for m in await herald.sms_spending(months=months)])

    return r


def _actor(request: Request) -> str:
    found = getattr(request.state, "principal", None)
    name = found.name if isinstance(found, Principal) else "api"
    return f"api key {name}"[:200]


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput("the cursor must be the next_cursor of a page")
    return int(cursor)

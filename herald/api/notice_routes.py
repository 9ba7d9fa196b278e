"""Ad-hoc notices and resends of failed deliveries. Each route is one call of the service
layer (:mod:`herald.service.notices`, :mod:`herald.service.resends`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from herald.api import models as m
from herald.api.gate import Principal

if TYPE_CHECKING:
    from starter.client import Herald


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

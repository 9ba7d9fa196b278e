"""``/v1/ops/…``: what the ops console shows (loans, repairs and follow-ups from Temporal
visibility, the schedules, ``herald doctor``'s checks) and "send now"; and ``/metrics``
for Prometheus. Each route is one call of the service layer
(:class:`herald.service.operations.OperationsService`); all need an ``ops`` key, and
``/metrics`` also takes ``HERALD_METRICS_TOKEN``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from herald.api import models as m
from herald.api.gate import METRICS_PATH
from herald.api.problems import ProblemError
from herald.contracts import ManualNotifyResult
from herald.health import HealthReport
from herald.metrics import CONTENT_TYPE, exposition, metrics_registry
from herald.objects import ObjectPage, ObjectRow
from herald.schedules import ScheduleInfo
from herald.service.operations import DEFAULT_OBJECT_PAGE

if TYPE_CHECKING:
    from starter.client import Herald


class SendNowBody(m.Body):
    model_config = m._examples({}, {"notice": "loan.reminder_j1", "manager": False})

    notice: str | None = Field(
        default=None,
        description="The notice to send (loan.reminder_j1…); left out: the object's next one",
    )
    manager: bool = Field(default=False, description="Copy the manager(s) too")


def build_ops_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(
        prefix="/v1/ops", tags=["ops"], responses=problems, dependencies=[Depends(require_ops)]
    )

    @r.get("/objects/{kind}", response_model=ObjectPage)
    async def objects(
        kind: str,
        state: Annotated[
            str,
            Query(
                description="overdue (running and past due; repairs: approved, no technician), "
                "upcoming (running, not overdue) or all"
            ),
        ] = "all",
        search: Annotated[
            str | None,
            Query(description="An id: objects whose id starts with it, or whose person it is"),
        ] = None,
        limit: Annotated[int, Query(description="Rows per page (1 to 200)")] = DEFAULT_OBJECT_PAGE,
        page_token: Annotated[
            str | None, Query(description="next_page_token of the previous page")
        ] = None,
        reminders: Annotated[
            bool, Query(description="Ask each running object for its next notice")
        ] = True,
    ) -> ObjectPage:
        """One page of loans, repairs or follow-ups (``kind``) from Temporal visibility,
        each with its state, due time, next reminder, overdue flag and Temporal UI link.
        Visibility is eventually consistent: a change shows within moments."""
        return await herald.objects(
            kind,
            state=state,
            search=search,
            limit=limit,
            page_token=page_token,
            reminders=reminders,
        )

    @r.get("/objects/{kind}/{object_id}", response_model=ObjectRow)
    async def object_info(
        kind: str,
        object_id: str,
        reminders: Annotated[
            bool, Query(description="Ask the workflow for its next notice")
        ] = True,
    ) -> ObjectRow:
        """One loan, repair or follow-up, read from its workflow at once."""
        return await herald.object_info(kind, object_id, reminders=reminders)

    @r.post("/objects/{kind}/{object_id}/send-now", response_model=ManualNotifyResult)
    async def send_reminder_now(kind: str, object_id: str, body: SendNowBody) -> ManualNotifyResult:
        """Send a loan's or follow-up's notice now, by hand (by default the next one it
        will send): a new delivery, logged as sent by hand; the plan is untouched."""
        return await herald.send_reminder_now(
            kind, object_id, notice=body.notice, manager=body.manager
        )

    @r.get("/schedules", response_model=list[ScheduleInfo])
    async def schedules() -> list[ScheduleInfo]:
        """Herald's Temporal schedules (housekeeping): next runs, recent runs and outcomes."""
        return await herald.schedules()

    @r.get("/health", response_model=HealthReport)
    async def health() -> HealthReport:
        """``herald doctor``'s checks: each ok, a problem (with how to fix it) or a note."""
        return await herald.health()

    return r


def build_metrics_router(herald: Herald, *, principal: Any) -> APIRouter:
    r = APIRouter()
    registry = metrics_registry(herald.store, herald.settings)

    @r.get(
        METRICS_PATH,
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"}},
    )
    async def metrics(request: Request) -> Response:
        """Herald's figures in Prometheus' text format (see the README's *Metrics*): an
        ``ops`` key, or ``Authorization: Bearer $HERALD_METRICS_TOKEN``."""
        who = principal(request)
        if who.scope not in ("ops", "metrics"):
            raise ProblemError(
                403, "forbidden", f"API key {who.name!r} has scope {who.scope}; /metrics needs ops"
            )
        body = await asyncio.to_thread(exposition, registry)
        return Response(body, media_type=CONTENT_TYPE)

    return r

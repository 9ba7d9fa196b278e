"""The CRM's personal daily summary: a person's hour, and what their summary did. Each route
translates to one call of the service layer (:class:`herald.service.summaries.
DailySummaryService`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import Field

from herald.api import models as m
from herald.daily_summary import DailySummaryStatus

if TYPE_CHECKING:
    from starter.client import Herald


class DailySummaryBody(m.Body):
    model_config = m._examples({"at": "08:00"}, {"at": "off"})

    at: str | None = Field(
        description='The local hour "HH:MM" in the person\'s time zone, or null / "off" to stop',
        examples=["08:00"],
    )


def build_summary_router(herald: Herald, *, problems: dict[int | str, dict[str, Any]]) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems, tags=["subscribers"])

    @r.put("/subscribers/{subscriber_id}/daily-summary", response_model=DailySummaryStatus)
    async def set_daily_summary(subscriber_id: str, body: DailySummaryBody) -> DailySummaryStatus:
        """The person's own CRM summary every day at this hour (their follow-ups due,
        overdue and completed, the leads given to them); "off" stops it."""
        return await herald.set_daily_summary(subscriber_id, at=body.at)

    @r.get("/subscribers/{subscriber_id}/daily-summary", response_model=DailySummaryStatus)
    async def daily_summary(subscriber_id: str) -> DailySummaryStatus:
        """The person's hour and, while their summary runs, its next time and its counts."""
        return await herald.daily_summary(subscriber_id)

    return r

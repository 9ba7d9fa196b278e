"""The ops dashboard's figures and the deliveries that need a look, over HTTP (ops keys):
each route one call of :class:`herald.service.stats.StatsService`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from herald.api import models as m

if TYPE_CHECKING:
    from starter.client import Herald


class ChannelCounts(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="Status → rows, largest first")


class SmsFigures(BaseModel):
    messages: int = Field(description="SMS accepted by a provider")
    segments: int
    cost: dict[str, float] = Field(description="Estimated cost per currency")


class Lateness(BaseModel):
    count: int = Field(description="Rows sent with a schedule (resends left out)")
    median_seconds: float | None = Field(description="Median of sent minus scheduled")
    p99_seconds: float | None = Field(description="99th percentile (nearest rank)")


class KindCount(BaseModel):
    kind: str
    count: int


class WindowFigures(BaseModel):
    since: str = Field(description="The window's start (rows created at or after)")
    total: int
    by_channel: dict[str, ChannelCounts]
    settled: int = Field(description="Accepted by a provider, or failed for good")
    failed: int = Field(description="Failed for good, bounced or undelivered")
    failure_rate: float | None = Field(description="failed / settled; null when none settled")
    sms: SmsFigures
    lateness: Lateness
    busiest_kinds: list[KindCount] = Field(description="The five kinds with the most rows")


class DayCount(BaseModel):
    date: str = Field(description="A day in HERALD_DEFAULT_TIMEZONE")
    total: int
    by_channel: dict[str, int]


class DashboardOut(BaseModel):
    generated_at: str
    timezone: str
    windows: dict[str, WindowFigures] = Field(description="24h and 7d")
    days: list[DayCount] = Field(description="Today and the six days before, oldest first")
    stuck: int = Field(description="Rows pending or failing for over stuck_after_seconds")
    stuck_after_seconds: int


class ProblemRow(m.DeliveryRow):
    model_config = ConfigDict(extra="allow")

    resent_as: dict[str, Any] | None = Field(
        default=None, description="Its latest resend: id and status (failed rows only)"
    )


class ProblemsOut(BaseModel):
    permanently_failed: list[ProblemRow]
    stuck: list[ProblemRow]
    stuck_after_seconds: int


def build_stats_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems, dependencies=[Depends(require_ops)])

    @r.get("/stats/dashboard", tags=["deliveries"], response_model=DashboardOut)
    async def dashboard() -> dict[str, Any]:
        """The delivery log's last 24 hours and 7 days: per channel and status, failure
        rate, SMS segments and cost, lateness (median, p99), the busiest kinds, a count
        per day and channel, and the stuck rows. Ops only."""
        return await herald.dashboard()

    @r.get("/deliveries/problems", tags=["deliveries"], response_model=ProblemsOut)
    async def delivery_problems(
        limit: Annotated[int, Query(description="At most this many of each (1 to 500)")] = 50,
    ) -> dict[str, Any]:
        """The deliveries failed for good (each with its latest resend) and the stuck ones,
        newest first. Ops only."""
        return await herald.delivery_problems(limit=limit)

    return r

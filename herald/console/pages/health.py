"""Schedules and health: Herald's Temporal schedules with their next and recent runs
(``Herald.schedules``), ``herald doctor``'s checks (``Herald.health``), an overall status
drawn from both, and where the Prometheus metrics are and how they are protected."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from herald.console.pages import ConsolePage
from herald.errors import HeraldError
from herald.health import HealthCheck
from herald.schedules import ScheduleInfo

if TYPE_CHECKING:
    from herald.console.app import Console
    from herald.console.i18n import Texts

# A run that ended like this is worth a look.
BAD_RUNS = frozenset({"failed", "terminated", "timed_out", "canceled"})
# Problems first, then advice, then what is fine; in the order they ran within each.
CHECK_ORDER = {"problem": 0, "note": 1, "ok": 2}


@dataclass(frozen=True)
class Finding:
    """One line of the overall status: ``level`` problem or warning, a catalogue key and
    its values."""

    level: str
    key: str
    values: dict[str, str]


def findings(schedules: list[ScheduleInfo] | None, checks: list[HealthCheck]) -> list[Finding]:
    """What the overall status names: the doctor's problems, then each schedule missing
    (a problem: nothing runs), paused or whose latest run ended badly (warnings)."""
    found = [
        Finding("problem", "health.finding_check", {"name": c.name, "detail": c.detail})
        for c in checks
        if c.status == "problem"
    ]
    if schedules is None:
        found.append(Finding("problem", "health.finding_no_schedules", {}))
        return found
    for s in schedules:
        if not s.exists:
            found.append(Finding("problem", "health.finding_missing", {"id": s.id}))
            continue
        if s.paused:
            found.append(Finding("warning", "health.finding_paused", {"id": s.id}))
        latest = next((run for run in s.recent_runs if run.status != "running"), None)
        if latest is not None and latest.status in BAD_RUNS:
            found.append(
                Finding(
                    "warning",
                    "health.finding_run",
                    {"id": s.id, "status": latest.status or "", "workflow": latest.workflow_id},
                )
            )
    return found


def localised(values: dict[str, str], t: Texts) -> dict[str, str]:
    """A finding's values in the page's language: a check's name, a run's outcome."""
    shown = dict(values)
    if "name" in shown:
        shown["name"] = t.label("health.check", shown["name"])
    if "status" in shown:
        shown["status"] = t.label("obj.run", shown["status"]).lower()
    return shown


def metrics_url(request: Request, console: Console) -> str:
    """Where this API answers ``/metrics``: the public address when one is set, else the
    one this page was reached at."""
    public = console.settings.public_base_url
    if public:
        return f"{str(public).rstrip('/')}/metrics"
    base = console.base(request)
    api_root = base.removesuffix("/console")
    return f"{request.url.scheme}://{request.url.netloc}{api_root}/metrics"


def build_router(console: Console) -> APIRouter:
    r = APIRouter()
    herald = console.herald

    async def read_schedules() -> tuple[list[ScheduleInfo] | None, str | None]:
        try:
            return await herald.schedules(), None
        except HeraldError as err:
            return None, str(err)

    @r.get("/health")
    async def health(request: Request) -> Response:
        console.signed_in(request)
        report, (schedules, schedules_error) = await asyncio.gather(
            herald.health(), read_schedules()
        )
        checks = sorted(report.checks, key=lambda c: CHECK_ORDER.get(c.status, 3))
        found = findings(schedules, report.checks)
        overall = (
            "problem" if any(f.level == "problem" for f in found) else "warning" if found else "ok"
        )
        settings = console.settings
        t = console.texts(request)
        return console.render(
            request,
            "console/health.html",
            overall=overall,
            findings=[(f.level, t(f.key, **localised(f.values, t))) for f in found],
            counts={
                status: sum(1 for c in report.checks if c.status == status)
                for status in ("problem", "note", "ok")
            },
            checks=checks,
            schedules=schedules,
            schedules_error=schedules_error,
            metrics_url=metrics_url(request, console),
            metrics_token=settings.metrics_token is not None,
            metrics_window=settings.metrics_window.total_seconds(),
            metrics_cache=settings.metrics_cache.total_seconds(),
            worker_metrics=settings.worker_metrics_address,
        )

    return r


PAGE = ConsolePage(slug="health", path="/health", order=60, build=build_router)

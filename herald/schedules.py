"""Temporal Schedules for ops work the seeds ran by hand or by cron: applied by ``herald setup``.

Idempotent: a schedule that exists is updated to the current definition.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, Field
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionResult,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from herald.contracts import PurgeInput
from herald.objects import ui_url
from herald.settings import Settings

HOUSEKEEPING_ID = "herald-housekeeping"


def housekeeping_schedule(settings: Settings) -> Schedule:
    """Daily at 02:00 in the organisation's zone: delete what the retention policy allows."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "HousekeepingWorkflow",
            PurgeInput(
                retention_days=settings.retention_days,
                batch_size=settings.purge_batch_size,
                tech_admins_group=settings.tech_admins_group,
            ),
            id=HOUSEKEEPING_ID,
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(2)], minute=[ScheduleRange(0)])],
            time_zone_name=settings.default_timezone,
        ),
        # A run still going at the next tick is left alone; the next day catches up.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def apply_schedules(client: Client, settings: Settings) -> list[tuple[str, str]]:
    """Create or update every schedule; returns (schedule id, "created" or "updated")."""
    applied = []
    schedule = housekeeping_schedule(settings)
    try:
        await client.create_schedule(HOUSEKEEPING_ID, schedule)
        applied.append((HOUSEKEEPING_ID, "created"))
    except ScheduleAlreadyRunningError:

        async def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(HOUSEKEEPING_ID).update(replace)
        applied.append((HOUSEKEEPING_ID, "updated"))
    return applied


class ScheduleRun(BaseModel):
    """One run a schedule started, with what became of it."""

    scheduled_at: AwareDatetime
    started_at: AwareDatetime
    workflow_id: str
    run_id: str
    status: str | None = Field(
        description="running, completed, failed, terminated… (null: Temporal no longer has it)"
    )
    closed_at: AwareDatetime | None
    ui_url: str | None = Field(description="The run in the Temporal UI")


class ScheduleInfo(BaseModel):
    """One of Herald's Temporal schedules: when it runs, and its recent runs."""

    id: str
    exists: bool = Field(description="False: not created yet ('herald setup' creates it)")
    workflow: str | None
    paused: bool
    note: str | None = Field(description="The schedule's note (why it was paused…)")
    time_zone: str | None
    next_runs: list[AwareDatetime] = Field(description="The next three start times")
    recent_runs: list[ScheduleRun] = Field(description="The latest runs, newest first")
    runs_total: int = Field(description="Runs the schedule started in all")
    skipped_overlap: int = Field(description="Ticks skipped because a run was still going")
    missed_catchup: int = Field(description="Ticks missed while Temporal was unavailable")
    ui_url: str | None = Field(description="The schedule in the Temporal UI")


async def describe_schedules(client: Client, settings: Settings) -> list[ScheduleInfo]:
    """Each of Herald's schedules with its next runs and its recent runs (the last ten
    Temporal keeps), each run's outcome read from its workflow."""
    return [await _describe(client, settings, schedule_id) for schedule_id in (HOUSEKEEPING_ID,)]


async def _describe(client: Client, settings: Settings, schedule_id: str) -> ScheduleInfo:
    ui = settings.temporal_ui_url
    namespace = client.namespace
    schedule_url = (
        f"{ui.rstrip('/')}/namespaces/{quote(namespace, safe='')}/schedules/"
        f"{quote(schedule_id, safe='')}"
        if ui
        else None
    )
    try:
        desc = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return ScheduleInfo(
            id=schedule_id,
            exists=False,
            workflow=None,
            paused=False,
            note=None,
            time_zone=None,
            next_runs=[],
            recent_runs=[],
            runs_total=0,
            skipped_overlap=0,
            missed_catchup=0,
            ui_url=None,
        )

    async def run_of(result: ScheduleActionResult) -> ScheduleRun:
        action = result.action
        workflow_id = str(getattr(action, "workflow_id", ""))
        run_id = str(getattr(action, "first_execution_run_id", ""))
        status: str | None = None
        closed: datetime | None = None
        try:
            run = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        else:
            status = run.status.name.lower() if run.status else None
            closed = run.close_time
        return ScheduleRun(
            scheduled_at=result.scheduled_at,
            started_at=result.started_at,
            workflow_id=workflow_id,
            run_id=run_id,
            status=status,
            closed_at=closed,
            ui_url=ui_url(ui, namespace, workflow_id, run_id),
        )

    recent = sorted(desc.info.recent_actions, key=lambda r: r.started_at, reverse=True)
    return ScheduleInfo(
        id=schedule_id,
        exists=True,
        workflow=str(getattr(desc.schedule.action, "workflow", "?")),
        paused=desc.schedule.state.paused,
        note=desc.schedule.state.note or None,
        time_zone=desc.schedule.spec.time_zone_name,
        next_runs=list(desc.info.next_action_times[:3]),
        recent_runs=list(await asyncio.gather(*(run_of(r) for r in recent))),
        runs_total=desc.info.num_actions,
        skipped_overlap=desc.info.num_actions_skipped_overlap,
        missed_catchup=desc.info.num_actions_missed_catchup_window,
        ui_url=schedule_url,
    )

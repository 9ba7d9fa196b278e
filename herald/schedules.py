"""Temporal Schedules for ops work the seeds ran by hand or by cron: applied by ``herald setup``.

Idempotent: a schedule that exists is updated to the current definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import (
    Client,
    Schedule,
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

from herald.contracts import PurgeInput
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


@dataclass(frozen=True)
class ScheduleInfo:
    id: str
    workflow: str
    next_runs: list[datetime]
    recent_runs: int
    paused: bool


async def describe_schedules(client: Client) -> list[ScheduleInfo]:
    infos = []
    for schedule_id in (HOUSEKEEPING_ID,):
        desc = await client.get_schedule_handle(schedule_id).describe()
        action = desc.schedule.action
        infos.append(
            ScheduleInfo(
                id=schedule_id,
                workflow=str(getattr(action, "workflow", "?")),
                next_runs=list(desc.info.next_action_times[:3]),
                recent_runs=len(desc.info.recent_actions),
                paused=desc.schedule.state.paused,
            )
        )
    return infos

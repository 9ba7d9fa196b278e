"""What loans and follow-ups share: a plan of points before and after a deadline, the keys
of those already handled, and waiting for the next one. Deterministic, no I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from herald.contracts import NotificationRecord, Role
    from herald.policy import LoanPolicy, PlannedPoint, plan_loan


class Progress(Protocol):
    """The part of a loan's or follow-up's state the plan lives in."""

    due_at: datetime
    timezone: str
    plan: list[PlannedPoint]
    done_keys: list[str]
    records: list[NotificationRecord]


def record_skip(p: Progress, point: PlannedPoint, reason: str, role: Role) -> None:
    key = point.key(p.due_at)
    p.done_keys.append(key)
    p.records.append(
        NotificationRecord(
            notification_id=key,
            kind=point.kind,
            role=role,
            planned_at=point.at,
            skipped_reason=reason,
        )
    )


def replan(p: Progress, policy: LoanPolicy, started_at: datetime, role: Role) -> None:
    """Plan every point for the current due time and zone; points already past when planned
    are recorded as skipped, once."""
    p.plan = plan_loan(
        policy, borrowed_at=started_at, due_at=p.due_at, timezone=p.timezone, now=workflow.now()
    )
    for point in p.plan:
        if point.skipped_reason and point.key(p.due_at) not in p.done_keys:
            record_skip(p, point, point.skipped_reason, role)


def pending(p: Progress) -> list[PlannedPoint]:
    done = set(p.done_keys)
    return [pt for pt in p.plan if pt.skipped_reason is None and pt.key(p.due_at) not in done]


def next_point(p: Progress) -> PlannedPoint | None:
    points = pending(p)
    return points[0] if points else None


async def fire_due(
    p: Progress,
    overdue_kind: str,
    role: Role,
    send: Callable[[PlannedPoint, str], Awaitable[None]],
    on_overdue: Callable[[], None],
) -> None:
    """Send the points due now, reminders first, then overdue alerts (``on_overdue`` runs
    before the first). Of several points of a group due at once (the worker was down), only
    the latest is sent and the others are recorded as superseded: a burst of stale
    reminders helps nobody."""
    now = workflow.now()
    due = [pt for pt in pending(p) if pt.at <= now]
    for group in (
        [pt for pt in due if pt.kind != overdue_kind],
        [pt for pt in due if pt.kind == overdue_kind],
    ):
        if not group:
            continue
        *stale, latest = group
        for pt in stale:
            record_skip(p, pt, f"superseded by {latest.kind} (sent late)", role)
        if latest.kind == overdue_kind:
            on_overdue()
        key = latest.key(p.due_at)
        await send(latest, key)
        p.done_keys.append(key)


async def wait_for(point: PlannedPoint | None, changed: Callable[[], bool]) -> bool:
    """Sleep on a durable timer until ``point`` falls due (True), or until ``changed`` says
    the plan or the state moved on (False)."""
    if point is None:
        await workflow.wait_condition(changed)
        return False
    delay = point.at - workflow.now()
    if delay > timedelta(0):
        try:
            await workflow.wait_condition(
                changed, timeout=delay, timeout_summary=f"until {point.kind}"
            )
            return False
        except TimeoutError:
            pass
    return True

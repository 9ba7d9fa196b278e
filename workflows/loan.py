"""One workflow per loan: from the confirmation to the thank-you, on durable timers.

The plan (which notification at which instant) comes from the pure policy code; this
module only waits, reacts to the app (return, extend, cancel) and calls the delivery
activities. Nothing here does I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from temporalio import workflow

from workflows import deadline
from workflows.notifying import next_reminder_pair, notify, upsert_changed

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        DeliveryRequest,
        ExtendInput,
        LoanInput,
        LoanProgress,
        LoanState,
        LoanStatus,
        ManualNotifyInput,
        ManualNotifyResult,
        NextReminder,
        NotificationRecord,
        ReturnInput,
        Role,
    )
    from herald.kinds import expires_at_due
    from herald.policy import PlannedPoint
    from herald.search_attributes import BORROWER_ID, DUE_AT, LOAN_STATUS

CREATED_KEY = "loan.created"
RETURNED_KEY = "loan.returned"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


@workflow.defn(name="LoanWorkflow")
class LoanWorkflow:
    @workflow.init
    def __init__(self, inp: LoanInput) -> None:
        self._inp = inp
        self._p: LoanProgress = inp.progress or LoanProgress(
            due_at=inp.due_at, timezone=inp.timezone
        )
        self._return: ReturnInput | None = None
        self._cancelled = False
        self._finished = False
        # Bumped by every extension so a sleeping loop wakes up and re-plans.
        self._version = 0

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: LoanInput) -> LoanStatus:
        if not self._p.plan and inp.progress is None:
            self._replan()
        if not self._p.created_notified:
            await self._notify_borrower_and_manager(
                PlannedPoint(kind="loan.created", at=inp.borrowed_at),
                CREATED_KEY,
                manager=False,
                planned_at=workflow.now(),
            )
            self._p.created_notified = True

        while not self._closing:
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._inp.model_copy(update={"progress": self._p}))
            point = self._next_point()
            self._publish(point)
            version = self._version

            def changed(version: int = version) -> bool:
                return self._closing or self._version != version

            if await deadline.wait_for(point, changed):
                await self._fire_due_points()
            # else returned, cancelled or extended: look again

        if self._return is not None:
            self._p.state = LoanState.RETURNED
            self._p.returned_at = self._return.returned_at or workflow.now()
            self._publish(None)
            late = self._late_by()
            await self._notify(
                kind="loan.returned",
                role=Role.BORROWER,
                subscriber_id=self._inp.borrower_id,
                notification_id=RETURNED_KEY,
                planned_at=workflow.now(),
                extra={"late_by_seconds": int(late.total_seconds()) if late else None},
            )
        else:
            self._p.state = LoanState.CANCELLED
            self._publish(None)
        self._finished = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Kept in history for ever: without the notifications, which the status query (on
        # the closed loan too) and the delivery log give in full.
        return self._status(notifications=False)

    # ------------------------------------------------------------------ app-facing handlers

    @workflow.signal(name="returned")
    def returned(self, inp: ReturnInput) -> None:
        """Fire-and-forget return: accepted even while no worker runs."""
        if not self._closing:
            self._return = inp

    @workflow.update(name="return_loan")
    async def return_loan(self, inp: ReturnInput) -> LoanStatus:
        """Return and wait for the thank-you to be sent; answers the final status."""
        self._return = inp
        await workflow.wait_condition(lambda: self._finished)
        # Without the notifications, like the result: this answer stays in history too.
        return self._status(notifications=False)

    @return_loan.validator
    def _validate_return(self, inp: ReturnInput) -> None:
        self._refuse_if_closed()
        if inp.returned_at and inp.returned_at < self._inp.borrowed_at:
            raise ValueError("the return time is before the loan began")

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        if not self._closing:
            self._cancelled = True

    @workflow.update(name="extend")
    def extend(self, inp: ExtendInput) -> LoanStatus:
        self._p.due_at = inp.due_at
        if inp.timezone:
            self._p.timezone = inp.timezone
        self._p.state = LoanState.ACTIVE
        self._p.extensions += 1
        self._replan()
        self._version += 1
        return self._status()

    @extend.validator
    def _validate_extend(self, inp: ExtendInput) -> None:
        self._refuse_if_closed()
        if inp.due_at <= self._p.due_at:
            raise ValueError(
                f"the new due time {inp.due_at.isoformat()} is not later than the current one "
                f"{self._p.due_at.isoformat()}"
            )
        if inp.due_at <= workflow.now():
            raise ValueError(f"the new due time {inp.due_at.isoformat()} is in the past")

    @workflow.update(name="notify_now")
    async def notify_now(self, inp: ManualNotifyInput) -> ManualNotifyResult:
        """Send one of the loan's notices now, by hand: a new delivery each time
        (``KIND@manual-N``), logged as manual; the plan is untouched."""
        self._p.manual_sends += 1
        key = f"{inp.kind}@manual-{self._p.manual_sends}"
        point = PlannedPoint(kind=inp.kind, at=workflow.now(), occurrence=1)
        await self._notify_borrower_and_manager(
            point, key, manager=inp.manager, planned_at=workflow.now(), manual=True
        )
        record = next(r for r in reversed(self._p.records) if r.notification_id == key)
        return ManualNotifyResult(notification_id=key, channels=record.channels)

    @notify_now.validator
    def _validate_notify_now(self, inp: ManualNotifyInput) -> None:
        self._refuse_if_closed()
        if not inp.kind.startswith("loan.") or inp.kind == RETURNED_KEY:
            raise ValueError(f"{inp.kind!r} is not a notice a running loan sends")

    @workflow.query(name="status")
    def status(self) -> LoanStatus:
        return self._status()

    # ------------------------------------------------------------------ planning

    @property
    def _closing(self) -> bool:
        return self._return is not None or self._cancelled

    def _refuse_if_closed(self) -> None:
        if self._closing or self._finished:
            state = "returned" if self._return is not None else "cancelled"
            raise ValueError(f"loan {self._inp.loan_id} is already {state}")

    def _replan(self) -> None:
        deadline.replan(self._p, self._inp.policy, self._inp.borrowed_at, Role.BORROWER)

    def _next_point(self) -> PlannedPoint | None:
        return deadline.next_point(self._p)

    async def _fire_due_points(self) -> None:
        def overdue() -> None:
            if self._p.state is LoanState.ACTIVE:
                self._p.state = LoanState.OVERDUE

        async def send(point: PlannedPoint, key: str) -> None:
            await self._notify_borrower_and_manager(point, key, manager=point.manager_copy)

        await deadline.fire_due(
            self._p, self._inp.policy.overdue.kind, Role.BORROWER, send, overdue
        )

    # ------------------------------------------------------------------ sending

    async def _notify_borrower_and_manager(
        self,
        point: PlannedPoint,
        key: str,
        *,
        manager: bool,
        planned_at: datetime | None = None,
        manual: bool = False,
    ) -> None:
        extra = (
            {"alert_number": point.occurrence}
            if point.kind == self._inp.policy.overdue.kind
            else {}
        )
        sends = [
            self._notify(
                kind=point.kind,
                role=Role.BORROWER,
                subscriber_id=self._inp.borrower_id,
                notification_id=key,
                planned_at=planned_at or point.at,
                extra=extra,
                manual=manual,
            )
        ]
        if manager and self._inp.manager_id:
            sends.append(
                self._notify(
                    kind=point.kind,
                    role=Role.MANAGER,
                    subscriber_id=self._inp.manager_id,
                    notification_id=f"{key}/manager",
                    planned_at=planned_at or point.at,
                    extra=extra,
                    manual=manual,
                )
            )
        await asyncio.gather(*sends)

    async def _notify(
        self,
        *,
        kind: str,
        role: Role,
        subscriber_id: str,
        notification_id: str,
        planned_at: datetime,
        extra: Mapping[str, object],
        manual: bool = False,
    ) -> None:
        request = DeliveryRequest(
            workflow_id=workflow.info().workflow_id,
            notification_id=notification_id,
            kind=kind,
            role=role,
            subscriber_id=subscriber_id,
            subject_type="loan",
            subject_id=self._inp.loan_id,
            scheduled_at=planned_at,
            data=self._template_data(extra),
            expires_at=self._p.due_at if expires_at_due(kind) and not manual else None,
            manual=manual,
        )
        record = NotificationRecord(
            notification_id=notification_id,
            kind=kind,
            role=role,
            planned_at=planned_at,
            fired_at=workflow.now(),
        )
        self._p.records.append(record)
        await notify(request, record)

    def _template_data(self, extra: Mapping[str, object]) -> dict[str, object]:
        return {
            "loan_id": self._inp.loan_id,
            "item": self._inp.item,
            "borrower_id": self._inp.borrower_id,
            "manager_id": self._inp.manager_id,
            "borrowed_at": _iso(self._inp.borrowed_at),
            "due_at": _iso(self._p.due_at),
            "returned_at": _iso(self._p.returned_at),
            "late_by_seconds": None,
            "alert_number": None,
            "max_alerts": self._inp.policy.overdue.max_alerts,
            **extra,
        }

    # ------------------------------------------------------------------ visibility

    def _late_by(self) -> timedelta | None:
        if self._p.returned_at is None:
            return None
        late = self._p.returned_at - self._p.due_at
        return late if late > timedelta(0) else None

    def _publish(self, point: PlannedPoint | None) -> None:
        """Search attributes and the UI's current details, upserted only when they change."""
        upsert_changed(
            (LOAN_STATUS, self._p.state.value),
            (DUE_AT, self._p.due_at),
            (BORROWER_ID, self._inp.borrower_id),
            *next_reminder_pair(self._inp.next_reminder_attribute, point.at if point else None),
        )
        nxt = (
            f"next: {point.kind} at {point.at:%Y-%m-%d %H:%M} UTC"
            if point
            else "no reminder pending"
        )
        workflow.set_current_details(
            f"**{self._p.state.value}** · {self._inp.item} · due {self._p.due_at:%Y-%m-%d %H:%M} UTC · {nxt}"
        )

    def _status(self, *, notifications: bool = True) -> LoanStatus:
        point = None if self._closing or self._finished else self._next_point()
        late = self._late_by()
        return LoanStatus(
            loan_id=self._inp.loan_id,
            state=self._p.state,
            borrower_id=self._inp.borrower_id,
            manager_id=self._inp.manager_id,
            item=self._inp.item,
            borrowed_at=self._inp.borrowed_at,
            due_at=self._p.due_at,
            timezone=self._p.timezone,
            policy=self._inp.policy.name,
            loan_class=self._inp.policy.classify(self._p.due_at - self._inp.borrowed_at).name,
            next_reminder=NextReminder(kind=point.kind, at=point.at) if point else None,
            returned_at=self._p.returned_at,
            late_by_seconds=int(late.total_seconds()) if late else None,
            extensions=self._p.extensions,
            notifications=list(self._p.records) if notifications else [],
        )

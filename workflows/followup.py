"""One workflow per CRM follow-up: a deadline, like a loan.

The salesperson hears the day before (08:00 in their zone); once the due time is past,
overdue alerts go to them and, as copies, to their managers. The CRM completes,
reschedules or reassigns the follow-up at any time: a reassignment sends the reminders
still to come to the new person, a reschedule plans them again for the new due time.
The plan comes from the same pure policy code as loans (``herald/policies/followup.json``).
Each change is recorded in Herald's database (``herald/crm_facts.py``), where the person's
daily summary reads it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import deadline
from workflows.notifying import (
    PLAN_RETRY,
    PLAN_SCHEDULE_TO_CLOSE,
    PLAN_START_TO_CLOSE,
    group_members,
    next_reminder_pair,
    notify,
    upsert_changed,
)

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        CompleteInput,
        DeliveryRequest,
        FollowUpInput,
        FollowUpProgress,
        FollowUpState,
        FollowUpStatus,
        ManualNotifyInput,
        ManualNotifyResult,
        NextReminder,
        NotificationRecord,
        ReassignInput,
        RescheduleInput,
        Role,
    )
    from herald.crm_facts import FOLLOWUP_FACTS_PATCH, RECORD_FOLLOWUP, FollowUpFact
    from herald.kinds import expires_at_due, kind_info
    from herald.policy import PlannedPoint
    from herald.search_attributes import ASSIGNEE_ID, DUE_AT, FOLLOWUP_STATUS


@workflow.defn(name="FollowUpWorkflow")
class FollowUpWorkflow:
    @workflow.init
    def __init__(self, inp: FollowUpInput) -> None:
        self._inp = inp
        self._p: FollowUpProgress = inp.progress or FollowUpProgress(
            due_at=inp.due_at, timezone=inp.timezone, assignee_id=inp.assignee_id
        )
        self._closing: FollowUpState | None = None
        self._finished = False
        self._version = 0
        # Whether changes are recorded for the daily summary (set by ``run``), and the last
        # fact recorded.
        self._facts = False
        self._recorded: FollowUpFact | None = None

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: FollowUpInput) -> FollowUpStatus:
        self._facts = workflow.patched(FOLLOWUP_FACTS_PATCH)
        if not self._p.plan and inp.progress is None:
            self._replan()
        while self._closing is None:
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._inp.model_copy(update={"progress": self._p}))
            version = self._version
            await self._record_facts()
            if self._closing is not None or self._version != version:
                continue  # changed while it was recorded: record that too
            point = self._next_point()
            self._publish(point)

            def changed(version: int = version) -> bool:
                return self._closing is not None or self._version != version

            if await deadline.wait_for(point, changed):
                await self._fire_due_points()
            # else completed, rescheduled or reassigned: look again

        self._p.state = self._closing
        if self._closing is FollowUpState.COMPLETED and self._p.completed_at is None:
            self._p.completed_at = workflow.now()
        self._publish(None)
        await self._record_facts()
        self._finished = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status()

    # ------------------------------------------------------------------ CRM-facing handlers

    @workflow.signal(name="completed")
    def completed(self, inp: CompleteInput) -> None:
        """Fire-and-forget completion: accepted even while no worker runs."""
        if self._closing is None:
            self._closing = FollowUpState.COMPLETED
            self._p.completed_at = inp.completed_at

    @workflow.update(name="complete")
    async def complete(self, inp: CompleteInput) -> FollowUpStatus:
        self.completed(inp)
        await workflow.wait_condition(lambda: self._finished)
        return self._status()

    @complete.validator
    def _validate_complete(self, inp: CompleteInput) -> None:
        self._refuse_if_closed()

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        if self._closing is None:
            self._closing = FollowUpState.CANCELLED

    @workflow.update(name="reschedule")
    def reschedule(self, inp: RescheduleInput) -> FollowUpStatus:
        self._p.due_at = inp.due_at
        if inp.timezone:
            self._p.timezone = inp.timezone
        self._p.state = FollowUpState.OPEN
        self._p.reschedules += 1
        self._replan()
        self._version += 1
        return self._status()

    @reschedule.validator
    def _validate_reschedule(self, inp: RescheduleInput) -> None:
        self._refuse_if_closed()
        if inp.due_at == self._p.due_at and inp.timezone in (None, self._p.timezone):
            raise ValueError(f"the follow-up is already due at {inp.due_at.isoformat()}")
        if inp.due_at <= workflow.now():
            raise ValueError(f"the new due time {inp.due_at.isoformat()} is in the past")

    @workflow.update(name="reassign")
    def reassign(self, inp: ReassignInput) -> FollowUpStatus:
        """The reminders still to come go to the new assignee (they read it when they fire)."""
        self._p.assignee_id = inp.assignee_id
        self._p.reassignments += 1
        self._version += 1
        return self._status()

    @reassign.validator
    def _validate_reassign(self, inp: ReassignInput) -> None:
        self._refuse_if_closed()
        if not inp.assignee_id.strip():
            raise ValueError("the new assignee is empty")
        if inp.assignee_id == self._p.assignee_id:
            raise ValueError(f"the follow-up is already assigned to {inp.assignee_id}")

    @workflow.update(name="notify_now")
    async def notify_now(self, inp: ManualNotifyInput) -> ManualNotifyResult:
        """Send one of the follow-up's notices now, by hand (the console's "send now"): a
        new delivery each time (``KIND@manual-N``) to the assignee, and to the managers with
        ``manager``; logged as manual, the plan untouched."""
        self._p.manual_sends += 1
        key = f"{inp.kind}@manual-{self._p.manual_sends}"
        point = PlannedPoint(
            kind=inp.kind, at=workflow.now(), occurrence=1, manager_copy=inp.manager
        )
        await self._send(point, key, manual=True)
        record = next(r for r in reversed(self._p.records) if r.notification_id == key)
        return ManualNotifyResult(notification_id=key, channels=record.channels)

    @notify_now.validator
    def _validate_notify_now(self, inp: ManualNotifyInput) -> None:
        self._refuse_if_closed()
        if inp.kind not in (self._inp.policy.overdue.kind, *self._reminder_kinds()):
            raise ValueError(f"{inp.kind!r} is not a notice this follow-up sends")

    @workflow.query(name="status")
    def status(self) -> FollowUpStatus:
        return self._status()

    # ------------------------------------------------------------------ planning

    def _refuse_if_closed(self) -> None:
        if self._closing is not None or self._finished:
            state = (self._closing or self._p.state).value.lower()
            raise ValueError(f"follow-up {self._inp.followup_id} is already {state}")

    def _replan(self) -> None:
        deadline.replan(self._p, self._inp.policy, self._inp.created_at, Role.ASSIGNEE)

    def _next_point(self) -> PlannedPoint | None:
        return deadline.next_point(self._p)

    def _reminder_kinds(self) -> list[str]:
        return [r.kind for c in self._inp.policy.classes for r in c.reminders]

    async def _fire_due_points(self) -> None:
        def overdue() -> None:
            if self._p.state is FollowUpState.OPEN:
                self._p.state = FollowUpState.OVERDUE

        await deadline.fire_due(
            self._p, self._inp.policy.overdue.kind, Role.ASSIGNEE, self._send, overdue
        )

    # ------------------------------------------------------------------ sending

    async def _send(self, point: PlannedPoint, key: str, *, manual: bool = False) -> None:
        overdue = point.kind == self._inp.policy.overdue.kind
        extra: dict[str, object] = {"alert_number": point.occurrence} if overdue else {}
        assignee = self._p.assignee_id
        sends = [self._notify(point, key, Role.ASSIGNEE, assignee, extra, manual=manual)]
        if point.manager_copy:
            managers = self._inp.manager_ids or await group_members(self._inp.managers_group)
            sends.extend(
                self._notify(point, f"{key}/manager/{m}", Role.MANAGER, m, extra, manual=manual)
                for m in dict.fromkeys(managers)
                if m != assignee
            )
        await asyncio.gather(*sends)

    async def _notify(
        self,
        point: PlannedPoint,
        notification_id: str,
        role: Role,
        subscriber_id: str,
        extra: dict[str, object],
        *,
        manual: bool = False,
    ) -> None:
        request = DeliveryRequest(
            workflow_id=workflow.info().workflow_id,
            notification_id=notification_id,
            kind=point.kind,
            role=role,
            subscriber_id=subscriber_id,
            subject_type="followup",
            subject_id=self._inp.followup_id,
            scheduled_at=point.at,
            data=self._template_data(extra),
            priority=kind_info(point.kind).priority,
            expires_at=self._p.due_at if expires_at_due(point.kind) and not manual else None,
            manual=manual,
        )
        record = NotificationRecord(
            notification_id=notification_id,
            kind=point.kind,
            role=role,
            planned_at=point.at,
            fired_at=workflow.now(),
        )
        self._p.records.append(record)
        await notify(request, record)

    def _template_data(self, extra: dict[str, object]) -> dict[str, object]:
        return {
            "followup_id": self._inp.followup_id,
            "title": self._inp.title,
            "customer": self._inp.customer,
            "lead_id": self._inp.lead_id,
            "assignee_id": self._p.assignee_id,
            "due_at": self._p.due_at.astimezone(UTC).isoformat(),
            "link": self._inp.link,
            "alert_number": None,
            "max_alerts": self._inp.policy.overdue.max_alerts,
            **extra,
        }

    # ------------------------------------------------------------------ facts

    async def _record_facts(self) -> None:
        """Record the follow-up as it now stands, if it changed since the last record (a
        no-op for follow-ups that began before facts were kept). A record that still fails
        after a day of retries is tried again at the next change."""
        if not self._facts:
            return
        fact = FollowUpFact(
            followup_id=self._inp.followup_id,
            assignee_id=self._p.assignee_id,
            title=self._inp.title,
            due_at=self._p.due_at,
            state=self._p.state,
            completed_at=self._p.completed_at,
            customer=self._inp.customer,
            lead_id=self._inp.lead_id,
            link=self._inp.link,
        )
        if fact == self._recorded:
            return
        try:
            await workflow.execute_local_activity(
                RECORD_FOLLOWUP,
                fact,
                start_to_close_timeout=PLAN_START_TO_CLOSE,
                schedule_to_close_timeout=PLAN_SCHEDULE_TO_CLOSE,
                retry_policy=PLAN_RETRY,
                summary=f"record {fact.state.value.lower()} for the daily summary",
            )
        except ActivityError as err:
            workflow.logger.warning(
                "follow-up %s not recorded: %s", self._inp.followup_id, err.cause or err
            )
            return
        self._recorded = fact

    # ------------------------------------------------------------------ visibility

    def _publish(self, point: PlannedPoint | None) -> None:
        upsert_changed(
            (FOLLOWUP_STATUS, self._p.state.value),
            (DUE_AT, self._p.due_at),
            (ASSIGNEE_ID, self._p.assignee_id),
            *next_reminder_pair(self._inp.next_reminder_attribute, point.at if point else None),
        )
        nxt = f"next: {point.kind} at {point.at:%Y-%m-%d %H:%M} UTC" if point else "nothing pending"
        workflow.set_current_details(
            f"**{self._p.state.value}** · assigned to {self._p.assignee_id} · "
            f"due {self._p.due_at:%Y-%m-%d %H:%M} UTC · {nxt}"
        )

    def _status(self) -> FollowUpStatus:
        point = None if self._closing or self._finished else self._next_point()
        return FollowUpStatus(
            followup_id=self._inp.followup_id,
            title=self._inp.title,
            state=self._p.state,
            assignee_id=self._p.assignee_id,
            due_at=self._p.due_at,
            timezone=self._p.timezone,
            customer=self._inp.customer,
            lead_id=self._inp.lead_id,
            next_reminder=NextReminder(kind=point.kind, at=point.at, role=Role.ASSIGNEE)
            if point
            else None,
            reschedules=self._p.reschedules,
            reassignments=self._p.reassignments,
            completed_at=self._p.completed_at,
            notifications=list(self._p.records),
        )

"""One workflow per repair (``repair-<ID>``): every status change notifies who it concerns.

The repair app reports events by update (refusals come back to the caller) or by signal
(fire-and-forget; refusals are kept in the status). Events are decided by the pure rules in
``herald.repairs``: applied, ignored as already applied (a retried or late webhook), or
refused. Notices go out in the order events were applied. An approved repair that nobody
picks up alerts the managers' group, then again every day until someone is assigned.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.notifying import group_members, notify, upsert_changed

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        QUEUE_REPAIR_NOTICE,
        REPAIR_BATCHING_PATCH,
        AppliedEvent,
        BatchedRepairNotice,
        DeliveryRequest,
        NotificationRecord,
        RepairEvent,
        RepairEventType,
        RepairInput,
        RepairNotice,
        RepairProgress,
        RepairState,
        RepairStatus,
        Role,
    )
    from herald.repairs import UNASSIGNED_NOTICE, decide
    from herald.search_attributes import CUSTOMER_ID, REPAIR_STATUS, TECHNICIAN_ID

ROLES = {
    "customer": Role.CUSTOMER,
    "technician": Role.TECHNICIAN,
    "previous_technician": Role.TECHNICIAN,
    "managers": Role.MANAGER,
}


# Handing a notice to the recipient's batch: reading nothing, retried for a day.
QUEUE_TIMEOUT = timedelta(seconds=30)
QUEUE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)


class _Pending:
    """Notices of one applied event, waiting for the main loop to send them."""

    def __init__(
        self,
        event_key: str,
        notices: list[RepairNotice],
        facts: dict[str, Any],
        batch_window: int | None = None,
    ) -> None:
        self.event_key, self.notices, self.facts = event_key, notices, facts
        # Seconds the notices wait in their recipient's batch (None: sent on their own).
        self.batch_window = batch_window


@workflow.defn(name="RepairWorkflow")
class RepairWorkflow:
    @workflow.init
    def __init__(self, inp: RepairInput) -> None:
        self._inp = inp
        self._p: RepairProgress = inp.progress or RepairProgress(technician_id=inp.technician_id)
        self._outbox: list[_Pending] = []

    @workflow.run
    async def run(self, inp: RepairInput) -> RepairStatus:
        if not self._p.created_notified:
            self._p.created_notified = True
            self._outbox.append(_Pending("created", inp.policy.notices.get("created", []), {}))

        while True:
            while self._outbox:
                await self._send(self._outbox.pop(0))
            if self._p.state is RepairState.CLOSED:
                break
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._inp.model_copy(update={"progress": self._p}))
            alert_at = self._next_unassigned_alert()
            self._publish()
            if alert_at is None:
                await workflow.wait_condition(self._woken)
                continue
            delay = alert_at - workflow.now()
            if delay > timedelta(0):

                def moved(at: datetime = alert_at) -> bool:
                    return self._woken() or self._next_unassigned_alert() != at

                try:
                    await workflow.wait_condition(
                        moved,
                        timeout=delay,
                        timeout_summary="until the unassigned-repair alert",
                    )
                    continue
                except TimeoutError:
                    pass
            await self._alert_unassigned()

        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _woken(self) -> bool:
        return bool(self._outbox) or self._p.state is RepairState.CLOSED

    # ------------------------------------------------------------------ events

    @workflow.update(name="apply_event")
    def apply_event(self, event: RepairEvent) -> AppliedEvent:
        """Apply a status change; duplicates are accepted and change nothing."""
        return self._apply(event)

    @apply_event.validator
    def _validate_event(self, event: RepairEvent) -> None:
        decision = decide(self._p.state, self._p.technician_id, event, self._seen())
        if decision.outcome == "refuse":
            raise ValueError(
                f"repair {self._inp.repair_id}: {event.type.value} refused: {decision.detail}"
            )

    @workflow.signal(name="event")
    def event(self, event: RepairEvent) -> None:
        """Fire-and-forget variant: a refusal is kept in the status, not raised."""
        self._apply(event)

    @workflow.query(name="status")
    def status(self) -> RepairStatus:
        return RepairStatus(
            repair_id=self._inp.repair_id,
            title=self._inp.title,
            state=self._p.state,
            customer_id=self._inp.customer_id,
            technician_id=self._p.technician_id,
            next_unassigned_alert_at=self._next_unassigned_alert(),
            events=list(self._p.events),
            notifications=list(self._p.records),
        )

    def _seen(self) -> set[str]:
        return {e.event_id for e in self._p.events if e.outcome == "applied"}

    def _apply(self, event: RepairEvent) -> AppliedEvent:
        previous = self._p.technician_id
        decision = decide(self._p.state, previous, event, self._seen())
        applied = AppliedEvent(
            event_id=event.event_id,
            type=event.type,
            outcome={"apply": "applied", "refuse": "refused"}.get(
                decision.outcome, decision.outcome
            ),
            at=workflow.now(),
            detail=decision.detail,
        )
        self._p.events.append(applied)
        if decision.outcome != "apply":
            return applied
        if decision.state is RepairState.APPROVED and self._p.state is not RepairState.APPROVED:
            self._p.approved_at = workflow.now()
        self._p.state = decision.state
        self._p.technician_id = decision.technician_id
        effective = decision.effective or event.type
        facts = {
            "previous_technician_id": previous if effective is RepairEventType.REASSIGNED else None,
            "reason": event.reason,
            "batch_id": event.batch_id,
            "batch_size": event.batch_size,
            "reward_name": event.reward_name,
            "reward_points": event.reward_points,
        }
        self._outbox.append(
            _Pending(
                f"{effective.value}:{event.event_id}",
                self._inp.policy.notices.get(effective, []),
                facts,
                event.batch_window_seconds,
            )
        )
        return applied

    # ------------------------------------------------------------------ sending

    async def _send(self, pending: _Pending) -> None:
        sends = []
        for notice in pending.notices:
            recipient = {
                "customer": self._inp.customer_id,
                "technician": self._p.technician_id,
                "previous_technician": pending.facts.get("previous_technician_id"),
            }.get(notice.recipient)
            if recipient is None:
                self._p.records.append(
                    NotificationRecord(
                        notification_id=f"{pending.event_key}/{notice.recipient}",
                        kind=notice.kind,
                        role=ROLES.get(notice.recipient, Role.STAFF),
                        planned_at=workflow.now(),
                        skipped_reason=f"no {notice.recipient.replace('_', ' ')} on this repair",
                    )
                )
                continue
            sends.append(
                self._notify(
                    notice, recipient, pending.event_key, pending.facts, pending.batch_window
                )
            )
        await asyncio.gather(*sends)

    async def _notify(
        self,
        notice: RepairNotice,
        subscriber_id: str,
        event_key: str,
        facts: dict[str, Any],
        batch_window: int | None = None,
    ) -> None:
        notification_id = f"{event_key}/{notice.recipient}/{subscriber_id}"
        role = ROLES.get(notice.recipient, Role.STAFF)
        request = DeliveryRequest(
            workflow_id=workflow.info().workflow_id,
            notification_id=notification_id,
            kind=notice.kind,
            role=role,
            subscriber_id=subscriber_id,
            subject_type="repair",
            subject_id=self._inp.repair_id,
            scheduled_at=workflow.now(),
            priority=notice.priority,
            data=self._facts(facts),
        )
        record = NotificationRecord(
            notification_id=notification_id,
            kind=notice.kind,
            role=role,
            planned_at=workflow.now(),
            fired_at=workflow.now(),
        )
        self._p.records.append(record)
        if batch_window and workflow.patched(REPAIR_BATCHING_PATCH):
            # Sent by the recipient's batch, with the other repairs' notices of the window.
            try:
                record.batched_in = await workflow.execute_activity(
                    QUEUE_REPAIR_NOTICE,
                    BatchedRepairNotice(request=request, window_seconds=batch_window),
                    result_type=str,
                    start_to_close_timeout=QUEUE_TIMEOUT,
                    schedule_to_close_timeout=timedelta(hours=24),
                    retry_policy=QUEUE_RETRY,
                    summary=f"{notice.kind} → batch of {subscriber_id}",
                )
                return
            except ActivityError as err:
                # Never lost: sent on its own rather than not at all.
                workflow.logger.warning("batching %s failed: %s", notification_id, err.cause)
        await notify(request, record)

    def _facts(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "repair_id": self._inp.repair_id,
            "title": self._inp.title,
            "status": self._p.state.value,
            "customer_id": self._inp.customer_id,
            "technician_id": self._p.technician_id,
            "link": self._inp.link,
            **extra,
        }

    # ------------------------------------------------------------------ unassigned alert

    def _next_unassigned_alert(self) -> datetime | None:
        if (
            self._p.state is not RepairState.APPROVED
            or self._p.technician_id
            or not self._p.approved_at
        ):
            return None
        policy = self._inp.policy
        return (
            self._p.approved_at
            + policy.unassigned_after
            + self._p.unassigned_alerts * policy.unassigned_every
        )

    async def _alert_unassigned(self) -> None:
        self._p.unassigned_alerts += 1
        n = self._p.unassigned_alerts
        assert self._p.approved_at is not None
        waited = workflow.now() - self._p.approved_at
        managers = await group_members(self._inp.policy.managers_group)
        facts = {"alert_number": n, "unassigned_seconds": int(waited.total_seconds())}
        if not managers:
            self._p.records.append(
                NotificationRecord(
                    notification_id=f"unassigned#{n}",
                    kind=UNASSIGNED_NOTICE.kind,
                    role=Role.MANAGER,
                    planned_at=workflow.now(),
                    skipped_reason=f"group {self._inp.policy.managers_group!r} has no members",
                )
            )
            return
        await asyncio.gather(
            *(self._notify(UNASSIGNED_NOTICE, m, f"unassigned#{n}", facts) for m in managers)
        )

    # ------------------------------------------------------------------ visibility

    def _publish(self) -> None:
        upsert_changed(
            (REPAIR_STATUS, self._p.state.value),
            (CUSTOMER_ID, self._inp.customer_id),
            (TECHNICIAN_ID, self._p.technician_id),
        )
        tech = self._p.technician_id or "no technician"
        workflow.set_current_details(f"**{self._p.state.value}** · {self._inp.title} · {tech}")

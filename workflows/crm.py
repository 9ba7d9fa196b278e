"""One short workflow per CRM lead or user-account event: who hears about it comes from the
pure table in :mod:`herald.crm`; sending uses the same planning and delivery activities as
everything else (routing by priority, preferences, quiet hours, digests, the log). A lead
created for, or given to, someone is recorded in Herald's database for their daily summary
(``herald/crm_facts.py``)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.notifying import (
    PLAN_RETRY,
    PLAN_SCHEDULE_TO_CLOSE,
    PLAN_START_TO_CLOSE,
    group_members,
    notify_many,
)

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        CrmEventInput,
        CrmEventResult,
        DeliveryRequest,
        NotificationRecord,
    )
    from herald.crm import MANAGERS, STAGES_TO_ASSIGNEE_PATCH, assignment_of, notices_for
    from herald.crm_facts import LEAD_FACTS_PATCH, RECORD_LEAD_ASSIGNMENT
    from herald.kinds import kind_info


@workflow.defn(name="CrmEventWorkflow")
class CrmEventWorkflow:
    @workflow.run
    async def run(self, inp: CrmEventInput) -> CrmEventResult:
        await self._record_assignment(inp)
        notices = notices_for(
            inp.subject_type,
            inp.type,
            inp.data,
            inp.subject_id,
            stages_to_assignee=inp.type != "stage_changed"
            or workflow.patched(STAGES_TO_ASSIGNEE_PATCH),
        )
        managers: list[str] = []
        if any(n.recipient == MANAGERS for n in notices):
            managers = inp.manager_ids or await group_members(inp.managers_group)
        named = {n.recipient for n in notices if n.recipient != MANAGERS}

        requests: list[DeliveryRequest] = []
        records: list[NotificationRecord] = []
        for notice in notices:
            if notice.recipient == MANAGERS:
                # A manager who is also the assignee hears once, as the assignee.
                people = [m for m in dict.fromkeys(managers) if m not in named]
            else:
                people = [notice.recipient]
            for person in people:
                notification_id = f"{notice.kind}/{notice.role.value}/{person}"
                requests.append(
                    DeliveryRequest(
                        workflow_id=workflow.info().workflow_id,
                        notification_id=notification_id,
                        kind=notice.kind,
                        role=notice.role,
                        subscriber_id=person,
                        subject_type=inp.subject_type.value,
                        subject_id=inp.subject_id,
                        scheduled_at=inp.occurred_at,
                        data=dict(inp.data),
                        priority=kind_info(notice.kind).priority,
                    )
                )
                records.append(
                    NotificationRecord(
                        notification_id=notification_id,
                        kind=notice.kind,
                        role=notice.role,
                        planned_at=inp.occurred_at,
                        fired_at=workflow.now(),
                    )
                )
        workflow.set_current_details(
            f"{inp.subject_type.value} {inp.subject_id}: {inp.type} → {len(requests)} notices"
        )
        if requests:
            await notify_many(requests, records)
        return CrmEventResult(event_id=inp.event_id, notifications=records)

    async def _record_assignment(self, inp: CrmEventInput) -> None:
        """A lead created for, or given to, someone: recorded for their daily summary (not
        by events that began before assignments were kept)."""
        assignment = assignment_of(inp)
        if assignment is None or not workflow.patched(LEAD_FACTS_PATCH):
            return
        try:
            await workflow.execute_local_activity(
                RECORD_LEAD_ASSIGNMENT,
                assignment,
                result_type=bool,
                start_to_close_timeout=PLAN_START_TO_CLOSE,
                schedule_to_close_timeout=PLAN_SCHEDULE_TO_CLOSE,
                retry_policy=PLAN_RETRY,
                summary=f"record {inp.subject_id} for {assignment.assignee_id}",
            )
        except ActivityError as err:  # the notices still go
            workflow.logger.warning(
                "lead %s assignment not recorded: %s", inp.subject_id, err.cause or err
            )

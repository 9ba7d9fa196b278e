"""CRM follow-ups (due-tomorrow reminders, overdue alerts to managers) and CRM events on
leads and user accounts (lifecycle alerts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from herald.contracts import (
    CompleteInput,
    CrmEventInput,
    CrmSubject,
    FollowUpInput,
    FollowUpStatus,
    ManualNotifyInput,
    ManualNotifyResult,
    ReassignInput,
    RescheduleInput,
)
from herald.crm import MANAGERS, check_event, notices_for
from herald.errors import InvalidInput
from herald.kinds import KINDS
from herald.search_attributes import ASSIGNEE_ID, DUE_AT, FOLLOWUP_STATUS
from herald.service.base import ServiceBase, Started
from herald.validation import (
    LIMITS,
    aware_instant,
    check_id,
    check_link,
    check_workflow_id,
    optional_text,
    required_text,
)
from workflows.crm import CrmEventWorkflow
from workflows.followup import FollowUpWorkflow

# The notices a running follow-up can send by hand.
MANUAL_FOLLOWUP_KINDS = tuple(k for k in KINDS if k.startswith("followup."))


def followup_workflow_id(followup_id: str) -> str:
    return f"followup-{followup_id}"


def crm_event_workflow_id(subject: CrmSubject, subject_id: str, event_id: str) -> str:
    """One workflow per event. ``/`` cannot occur in an id, so the two ids never run into
    each other: lead ``A-event-B`` with event ``C`` and lead ``A`` with event ``B-event-C``
    are two workflows."""
    return f"{subject.value}-{subject_id}/event-{event_id}"


def _optional_id(value: str | None, what: str) -> str | None:
    return check_id(value, what) if value else None


class FollowUpService(ServiceBase):
    async def start_followup(
        self,
        followup_id: str,
        *,
        title: str,
        assignee_id: str,
        due_at: datetime,
        customer: str | None = None,
        lead_id: str | None = None,
        manager_ids: list[str] | None = None,
        link: str | None = None,
    ) -> Started:
        """Start the follow-up's workflow: a reminder the day before, overdue alerts copied
        to the managers (``manager_ids``, else the CRM managers group). Starting a running
        follow-up again returns it unchanged."""
        check_id(followup_id, "follow-up id")
        title = required_text(title, "title")
        customer = optional_text(customer, "customer")
        link = check_link(link)
        if lead_id is not None:
            check_id(lead_id, "lead id")
        due = aware_instant(due_at, "due time")
        now = datetime.now(UTC)
        if due <= now:
            raise InvalidInput(f"the due time {due.isoformat()} is in the past")
        assignee = await self._reachable(assignee_id, "assignee")
        managers = await self._managers(manager_ids)
        started, _ = await self._start(
            FollowUpWorkflow.run,
            FollowUpInput(
                followup_id=followup_id,
                title=title,
                assignee_id=assignee_id,
                due_at=due,
                timezone=assignee.timezone,
                policy=self.followup_policy,
                created_at=now,
                customer=customer,
                lead_id=lead_id,
                manager_ids=managers,
                managers_group=self.settings.crm_managers_group,
                link=link,
                next_reminder_attribute=self.settings.next_reminder_attribute,
            ),
            business_id=followup_id,
            workflow_id=followup_workflow_id(followup_id),
            what=f"follow-up {followup_id}",
            ended=f"follow-up {followup_id} already ended (completed or cancelled); use a new id",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(FOLLOWUP_STATUS, "OPEN"),
                    SearchAttributePair(DUE_AT, due),
                    SearchAttributePair(ASSIGNEE_ID, assignee_id),
                ]
            ),
            static_summary=f"Follow-up {followup_id}: {title[:60]} for {assignee_id}",
        )
        return started

    async def complete_followup(
        self, followup_id: str, *, completed_at: datetime | None = None, wait: bool = True
    ) -> FollowUpStatus | None:
        """Done: what was still to come is never sent. ``wait=False`` records it even while
        no worker runs and answers ``None``."""
        at = aware_instant(completed_at, "completion time") if completed_at else None
        handle = await self._running_followup(followup_id)
        if not wait:
            what = f"follow-up {followup_id}"
            await self._signal(handle, what, "completed", CompleteInput(completed_at=at))
            return None
        return await self._update(
            handle, "complete", CompleteInput(completed_at=at), FollowUpStatus
        )

    async def reschedule_followup(self, followup_id: str, *, due_at: datetime) -> FollowUpStatus:
        """A new due time (earlier or later): the reminders are planned again for it. The
        due time it already has answers its status unchanged."""
        due = aware_instant(due_at, "new due time")
        if due <= datetime.now(UTC):
            raise InvalidInput(f"the new due time {due.isoformat()} is in the past")
        handle = await self._running_followup(followup_id)
        status = await self.followup_status(followup_id)
        if status.due_at == due:
            return status  # already due then: a repeated call changes nothing
        return await self._update(handle, "reschedule", RescheduleInput(due_at=due), FollowUpStatus)

    async def reassign_followup(self, followup_id: str, *, assignee_id: str) -> FollowUpStatus:
        """Give the follow-up to someone else: the reminders still to come go to them."""
        await self._reachable(assignee_id, "assignee")
        handle = await self._running_followup(followup_id)
        status = await self.followup_status(followup_id)
        if status.assignee_id == assignee_id:
            return status  # already theirs: a repeated call changes nothing
        return await self._update(
            handle, "reassign", ReassignInput(assignee_id=assignee_id), FollowUpStatus
        )

    async def notify_followup(
        self, followup_id: str, *, kind: str, manager: bool = False
    ) -> ManualNotifyResult:
        """Send one of a running follow-up's notices now, by hand (``followup.due_tomorrow``,
        ``followup.overdue``): a new delivery each time to the assignee, logged "sent by
        hand"; the reminder plan is untouched. ``manager``: the managers get a copy too."""
        if kind not in MANUAL_FOLLOWUP_KINDS:
            raise InvalidInput(
                f"unknown follow-up notice {str(kind)[:60]!r}: choose among "
                f"{', '.join(MANUAL_FOLLOWUP_KINDS)}"
            )
        handle = await self._running_followup(followup_id)
        return await self._update(
            handle,
            "notify_now",
            ManualNotifyInput(kind=kind, manager=bool(manager)),
            ManualNotifyResult,
            hint=" Check with 'herald followup status' before retrying.",
        )

    async def cancel_followup(self, followup_id: str) -> None:
        """Stop the follow-up's workflow without any message (deleted in the CRM)."""
        handle = await self._running_followup(followup_id)
        await self._signal(handle, f"follow-up {followup_id}", "cancel")

    async def followup_status(self, followup_id: str) -> FollowUpStatus:
        check_id(followup_id, "follow-up id")
        return await self._query(
            followup_workflow_id(followup_id), f"follow-up {followup_id!r}", FollowUpStatus
        )

    async def _running_followup(self, followup_id: str) -> WorkflowHandle[Any, Any]:
        check_id(followup_id, "follow-up id")
        return await self._running_workflow(
            followup_workflow_id(followup_id), f"follow-up {followup_id}"
        )

    # ------------------------------------------------------------------ CRM events

    async def lead_event(
        self,
        lead_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        name: str | None = None,
        company: str | None = None,
        value: str | None = None,
        stage: str | None = None,
        previous_stage: str | None = None,
        fulfilment: str | None = None,
        assignee_id: str | None = None,
        previous_assignee_id: str | None = None,
        changed_by_id: str | None = None,
        manager_ids: list[str] | None = None,
        link: str | None = None,
        occurred_at: datetime | None = None,
        wait: bool = False,
    ) -> Started:
        """A lead event: ``created``, ``stage_changed`` (managers hear of won, lost and
        invoice_sent), ``assigned`` (new and previous assignee), ``fulfilment_changed``.
        The same ``event_id`` twice sends once."""
        check_id(lead_id, "lead id")
        data = {
            "name": optional_text(name, "name"),
            "company": optional_text(company, "company"),
            "value": optional_text(value, "value"),
            "stage": optional_text(stage, "stage", limit=LIMITS["value"]),
            "previous_stage": optional_text(previous_stage, "stage", limit=LIMITS["value"]),
            "fulfilment": optional_text(fulfilment, "fulfilment", limit=LIMITS["value"]),
            "assignee_id": _optional_id(assignee_id, "assignee id"),
            "previous_assignee_id": _optional_id(previous_assignee_id, "previous assignee id"),
            "changed_by_id": _optional_id(changed_by_id, "changed-by id"),
            "link": check_link(link),
        }
        return await self._crm_event(
            CrmSubject.LEAD, lead_id, event_type, event_id, data, manager_ids, occurred_at, wait
        )

    async def user_event(
        self,
        user_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        role: str | None = None,
        previous_role: str | None = None,
        changed_by_id: str | None = None,
        link: str | None = None,
        occurred_at: datetime | None = None,
        wait: bool = False,
    ) -> Started:
        """A user-account event for the user themself: ``welcome``, ``role_changed``,
        ``activated``, ``deactivated``."""
        data = {
            "role": optional_text(role, "role"),
            "previous_role": optional_text(previous_role, "role"),
            "changed_by_id": _optional_id(changed_by_id, "changed-by id"),
            "link": check_link(link),
        }
        return await self._crm_event(
            CrmSubject.USER, user_id, event_type, event_id, data, None, occurred_at, wait
        )

    async def _crm_event(
        self,
        subject: CrmSubject,
        subject_id: str,
        event_type: str,
        event_id: str | None,
        data: dict[str, Any],
        manager_ids: list[str] | None,
        occurred_at: datetime | None,
        wait: bool,
    ) -> Started:
        check_id(subject_id, f"{subject.value} id")
        event_id = check_id(event_id, "event id") if event_id else uuid.uuid4().hex
        try:
            check_event(subject, event_type, data)
        except ValueError as err:
            raise InvalidInput(str(err)) from None
        notices = notices_for(subject, event_type, data, subject_id)
        for notice in notices:
            if notice.recipient != MANAGERS:
                await self._reachable(notice.recipient, notice.role.value.replace("_", " "))
        if data.get("changed_by_id"):
            await self._existing([data["changed_by_id"]])
        managers = (
            await self._managers(manager_ids)
            if any(n.recipient == MANAGERS for n in notices)
            else []
        )
        at = aware_instant(occurred_at, "event time") if occurred_at else datetime.now(UTC)
        workflow_id = check_workflow_id(
            crm_event_workflow_id(subject, subject_id, event_id), "the event id"
        )
        started, handle = await self._start(
            CrmEventWorkflow.run,
            CrmEventInput(
                event_id=event_id,
                subject_type=subject,
                subject_id=subject_id,
                type=event_type,
                occurred_at=at,
                data=data,
                manager_ids=managers,
                managers_group=self.settings.crm_managers_group,
            ),
            business_id=subject_id,
            workflow_id=workflow_id,
            what=f"{subject.value} {subject_id} event {event_id}",
            ended="",  # a webhook retried after the notices went out sends nothing more
            reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"{subject.value.title()} {subject_id}: {event_type}",
        )
        if wait and handle is not None:
            await handle.result()
        return started

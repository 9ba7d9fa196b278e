"""Material loans: one workflow per loan, from the confirmation to the thank-you."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from herald.contracts import (
    ExtendInput,
    LoanInput,
    LoanStatus,
    ManualNotifyInput,
    ManualNotifyResult,
    ReturnInput,
)
from herald.errors import InvalidInput
from herald.kinds import KINDS
from herald.search_attributes import BORROWER_ID, DUE_AT, LOAN_STATUS
from herald.service.base import ServiceBase, Started
from herald.validation import aware_instant, check_id, required_text
from workflows.loan import LoanWorkflow

_STATUS_HINT = " Check with 'herald loan status' before retrying."
# The notices a running loan can send by hand (the thank-you needs a return).
MANUAL_KINDS = tuple(k for k in KINDS if k.startswith("loan.") and k != "loan.returned")


def loan_workflow_id(loan_id: str) -> str:
    return f"loan-{loan_id}"


class LoanService(ServiceBase):
    async def start_loan(
        self,
        loan_id: str,
        *,
        borrower_id: str,
        item: str,
        due_at: datetime,
        borrowed_at: datetime | None = None,
        manager_id: str | None = None,
    ) -> Started:
        """Start the loan's workflow; starting a running loan again returns it unchanged."""
        check_id(loan_id, "loan id")
        item = required_text(item, "item")
        due = aware_instant(due_at, "due time")
        now = datetime.now(UTC)
        borrowed = aware_instant(borrowed_at, "borrowed-at time") if borrowed_at else now
        if due <= now:
            raise InvalidInput(f"the due time {due.isoformat()} is in the past")
        if due <= borrowed:
            raise InvalidInput(
                f"the due time {due.isoformat()} is not after the borrowed-at time {borrowed.isoformat()}"
            )
        borrower = await self._reachable(borrower_id, "borrower")
        if manager_id is not None:
            await self._reachable(manager_id, "manager")
        started, _ = await self._start(
            LoanWorkflow.run,
            LoanInput(
                loan_id=loan_id,
                borrower_id=borrower_id,
                item=item,
                borrowed_at=borrowed,
                due_at=due,
                timezone=borrower.timezone,
                policy=self.policy,
                manager_id=manager_id,
                next_reminder_attribute=self.settings.next_reminder_attribute,
            ),
            business_id=loan_id,
            workflow_id=loan_workflow_id(loan_id),
            what=f"loan {loan_id}",
            ended=f"loan {loan_id} already ended (returned or cancelled); use a new loan id",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(LOAN_STATUS, "ACTIVE"),
                    SearchAttributePair(DUE_AT, due),
                    SearchAttributePair(BORROWER_ID, borrower_id),
                ]
            ),
            static_summary=f"Loan {loan_id}: {item[:60]} for {borrower_id}",
            static_details=f"Due {due:%Y-%m-%d %H:%M} UTC, borrower zone {borrower.timezone}, policy {self.policy.name}",
        )
        return started

    async def return_loan(
        self, loan_id: str, *, returned_at: datetime | None = None, wait: bool = True
    ) -> LoanStatus | None:
        """Mark the loan returned: pending reminders stop and the thank-you goes out.

        ``wait=True`` waits for the worker and answers the final status; ``wait=False``
        records the return at once, even when no worker runs, and answers ``None``.
        """
        at = aware_instant(returned_at, "return time") if returned_at else None
        if at and at > datetime.now(UTC) + timedelta(minutes=5):
            raise InvalidInput(f"the return time {at.isoformat()} is in the future")
        handle = await self._running_loan(loan_id)
        if not wait:
            await self._signal(handle, f"loan {loan_id}", "returned", ReturnInput(returned_at=at))
            return None
        final = await self._update(
            handle, "return_loan", ReturnInput(returned_at=at), LoanStatus, hint=_STATUS_HINT
        )
        # The update answers the final state without the notifications (kept out of the
        # loan's history); the status query of the closed loan has them all.
        return final if final.notifications else await self.loan_status(loan_id)

    async def extend_loan(self, loan_id: str, *, due_at: datetime) -> LoanStatus:
        """Move the due time later; the plan is recomputed, nothing sent is sent again.
        Extending to the due time the loan already has answers its status unchanged."""
        due = aware_instant(due_at, "new due time")
        if due <= datetime.now(UTC):
            raise InvalidInput(f"the new due time {due.isoformat()} is in the past")
        handle = await self._running_loan(loan_id)
        status = await self.loan_status(loan_id)
        if status.due_at == due:
            return status  # already extended to it: a repeated call changes nothing
        contact = await asyncio.to_thread(self.store.get_contact, status.borrower_id)
        timezone = contact.timezone if contact else None
        return await self._update(
            handle,
            "extend",
            ExtendInput(due_at=due, timezone=timezone),
            LoanStatus,
            hint=_STATUS_HINT,
        )

    async def notify_loan(
        self, loan_id: str, *, kind: str, manager: bool = False
    ) -> ManualNotifyResult:
        """Send one of a running loan's notices now, by hand (RadGestMat's "send now"): a
        new delivery each time, logged "sent by hand"; the reminder plan is untouched.
        ``manager``: the loan's manager gets a copy too."""
        if kind not in MANUAL_KINDS:
            raise InvalidInput(
                f"unknown loan notice {str(kind)[:60]!r}: choose among {', '.join(MANUAL_KINDS)}"
            )
        handle = await self._running_loan(loan_id)
        return await self._update(
            handle,
            "notify_now",
            ManualNotifyInput(kind=kind, manager=bool(manager)),
            ManualNotifyResult,
            hint=_STATUS_HINT,
        )

    async def cancel_loan(self, loan_id: str) -> None:
        """Stop the loan's workflow without any message."""
        handle = await self._running_loan(loan_id)
        await self._signal(handle, f"loan {loan_id}", "cancel")

    async def loan_status(self, loan_id: str) -> LoanStatus:
        check_id(loan_id, "loan id")
        return await self._query(loan_workflow_id(loan_id), f"loan {loan_id!r}", LoanStatus)

    async def _running_loan(self, loan_id: str) -> WorkflowHandle[Any, Any]:
        check_id(loan_id, "loan id")
        return await self._running_workflow(loan_workflow_id(loan_id), f"loan {loan_id}")

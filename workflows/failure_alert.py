"""A delivery of a loan, repair, follow-up or CRM notice that failed for good: the
technical admins are told, once per failure. The same workflow tells them when the month's
SMS spending nears or passes its budget, once a month each.

Started by the ``deliver`` activity when it records a permanent failure, with an id derived
from the failed row's key, so a retried activity or a second start alerts nobody twice.
Staff alerts tell their admins from their own workflow, and an alert about an alert is
never sent: failures cannot loop.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.notifying import group_members, notify_each_now

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        DeliveryRequest,
        FailureAlertInput,
        Role,
    )

FAILURE_KIND = "system.delivery_failed"


@workflow.defn(name="FailureAlertWorkflow")
class FailureAlertWorkflow:
    @workflow.run
    async def run(self, inp: FailureAlertInput) -> int:
        """Alert each member of the admins' group; how many were alerted."""
        admins = [a for a in await group_members(inp.tech_admins_group) if a != inp.recipient_id]
        failure = inp.kind == FAILURE_KIND
        prefix = "failed" if failure else inp.kind
        # A failed failure alert raises nothing more.
        await notify_each_now(
            [
                DeliveryRequest(
                    workflow_id=workflow.info().workflow_id,
                    notification_id=f"{prefix}:{inp.idempotency_key}/{admin}",
                    kind=inp.kind,
                    role=Role.ADMIN,
                    subscriber_id=admin,
                    subject_type="system",
                    subject_id=inp.subject_id,
                    scheduled_at=workflow.now(),
                    priority="urgent",
                    channels=inp.channels,
                    # A failure passes ids only: the activity reads its row when it sends.
                    data={
                        "notification_id": inp.idempotency_key,
                        "recipient_id": inp.recipient_id,
                    }
                    if failure
                    else dict(inp.data or {}),
                )
                for admin in admins
            ]
        )
        return len(admins)

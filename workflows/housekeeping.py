"""Scheduled housekeeping: run daily by a Temporal Schedule (``herald setup`` creates it).

A run that fails for good (the purge still failing after its retries) tells the technical
admins before it fails."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.notifying import group_members, notify_each_now

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        DISPATCH_PENDING_WEBHOOKS,
        HOUSEKEEPING_ALERT_PATCH,
        PURGE_OLD_RECORDS,
        WEBHOOK_SWEEP_PATCH,
        DeliveryRequest,
        PurgeInput,
        PurgeResult,
        Role,
        WebhookSweepResult,
    )

PURGE_TIMEOUT = timedelta(hours=2)
HOUSEKEEPING_FAILED_KIND = "system.housekeeping_failed"


@workflow.defn(name="HousekeepingWorkflow")
class HousekeepingWorkflow:
    @workflow.run
    async def run(self, inp: PurgeInput) -> PurgeResult:
        dispatched = 0
        if workflow.patched(WEBHOOK_SWEEP_PATCH):
            try:
                sweep = await workflow.execute_activity(
                    DISPATCH_PENDING_WEBHOOKS,
                    result_type=WebhookSweepResult,
                    start_to_close_timeout=timedelta(minutes=30),
                    heartbeat_timeout=timedelta(minutes=2),
                    retry_policy=RetryPolicy(
                        maximum_interval=timedelta(minutes=10), maximum_attempts=5
                    ),
                    summary="start webhook events never handed over",
                )
                dispatched = sweep.dispatched
            except ActivityError as err:
                # The purge still runs; tomorrow's sweep tries again.
                workflow.logger.warning("webhook sweep failed: %s", err.cause or err)
        try:
            result = await workflow.execute_activity(
                PURGE_OLD_RECORDS,
                inp,
                result_type=PurgeResult,
                start_to_close_timeout=PURGE_TIMEOUT,
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(minutes=10), maximum_attempts=5
                ),
                summary=f"delete records older than {inp.retention_days} days",
            )
        except ActivityError as err:
            if workflow.patched(HOUSEKEEPING_ALERT_PATCH):
                await self._alert_admins(inp, str(err.cause or err))
            raise
        return result.model_copy(update={"webhooks_dispatched": dispatched})

    async def _alert_admins(self, inp: PurgeInput, error: str) -> None:
        """The run failed for good: each technical admin is told, once per run."""
        info = workflow.info()
        admins = await group_members(inp.tech_admins_group)
        await notify_each_now(
            [
                DeliveryRequest(
                    workflow_id=info.workflow_id,
                    notification_id=f"housekeeping-failed:{info.run_id}/{admin}",
                    kind=HOUSEKEEPING_FAILED_KIND,
                    role=Role.ADMIN,
                    subscriber_id=admin,
                    subject_type="system",
                    subject_id=info.workflow_id,
                    scheduled_at=workflow.now(),
                    priority="urgent",
                    data={"error": error[:1000], "run_id": info.run_id},
                )
                for admin in admins
            ]
        )

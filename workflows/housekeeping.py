"""Scheduled housekeeping: run daily by a Temporal Schedule (``herald setup`` creates it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        DISPATCH_PENDING_WEBHOOKS,
        PURGE_OLD_RECORDS,
        WEBHOOK_SWEEP_PATCH,
        PurgeInput,
        PurgeResult,
        WebhookSweepResult,
    )

PURGE_TIMEOUT = timedelta(hours=2)


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
        result = await workflow.execute_activity(
            PURGE_OLD_RECORDS,
            inp,
            result_type=PurgeResult,
            start_to_close_timeout=PURGE_TIMEOUT,
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10), maximum_attempts=5),
            summary=f"delete records older than {inp.retention_days} days",
        )
        return result.model_copy(update={"webhooks_dispatched": dispatched})

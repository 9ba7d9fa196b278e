"""Scheduled housekeeping: run daily by a Temporal Schedule (``herald setup`` creates it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from herald.contracts import PURGE_OLD_RECORDS, PurgeInput, PurgeResult

PURGE_TIMEOUT = timedelta(hours=2)


@workflow.defn(name="HousekeepingWorkflow")
class HousekeepingWorkflow:
    @workflow.run
    async def run(self, inp: PurgeInput) -> PurgeResult:
        return await workflow.execute_activity(
            PURGE_OLD_RECORDS,
            inp,
            result_type=PurgeResult,
            start_to_close_timeout=PURGE_TIMEOUT,
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10), maximum_attempts=5),
            summary=f"delete records older than {inp.retention_days} days",
        )

"""Handing a repair notice to its recipient's batch (``RepairBatchWorkflow``): a workflow
cannot signal-with-start, an activity can. A retried attempt signals again; the batch keeps
a notice it already holds once."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from herald.contracts import (
    QUEUE_REPAIR_NOTICE,
    REPAIR_BATCH_SIGNAL,
    REPAIR_BATCH_WORKFLOW,
    BatchedRepairNotice,
    RepairBatchInput,
    repair_batch_workflow_id,
)
from herald.settings import Settings


class RepairBatchActivities:
    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    @activity.defn(name=QUEUE_REPAIR_NOTICE)
    async def queue_repair_notice(self, item: BatchedRepairNotice) -> str:
        """Signal the recipient's batch with the notice, starting it if none runs; returns
        the batch's workflow id."""
        subscriber_id = item.request.subscriber_id
        workflow_id = repair_batch_workflow_id(subscriber_id)
        await self.client.start_workflow(
            REPAIR_BATCH_WORKFLOW,
            RepairBatchInput(subscriber_id=subscriber_id),
            id=workflow_id,
            task_queue=self.settings.task_queue,
            start_signal=REPAIR_BATCH_SIGNAL,
            start_signal_args=[item],
            static_summary=f"Repair notices for {subscriber_id}",
        )
        return workflow_id

"""One recipient's repair notices, gathered for a short window and sent as one
(``repair-batch-<person>``): twelve repairs approved together are one SMS listing them,
not twelve.

Repair workflows hand their notices over through an activity that signals this workflow,
starting it with the first (signal-with-start), when an event carries a batch window
(``HERALD_REPAIR_BATCH_WINDOW``). The workflow waits the window from the first notice,
then sends what it holds: a single notice as its repair workflow would have sent it (same
kind, same delivery key), several as one ``repair.batch`` listing them. Notices that arrive
while it sends start the next window; it ends when none is left, and a notice arriving as it
ends is delivered to it before it may (Temporal refuses to complete a workflow with a signal
unhandled), so none is lost. A notice handed over twice (a retried activity) is kept once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.notifying import notify

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        REPAIR_BATCH_SIGNAL,
        REPAIR_BATCH_WORKFLOW,
        BatchedRepairNotice,
        DeliveryRequest,
        NotificationRecord,
        RepairBatchInput,
    )

BATCH_KIND = "repair.batch"
# Repairs listed in one notice; more go out in the next one.
MAX_ITEMS = 50
# Keys remembered to recognise a notice handed over twice.
SEEN_LIMIT = 1000
PRIORITY_RANK = {"urgent": 3, "high": 2, "medium": 1, "low": 0}


def batch_priority(requests: list[DeliveryRequest]) -> str:
    """The most pressing of the notices' priorities."""
    return max((r.priority or "medium" for r in requests), key=lambda p: PRIORITY_RANK.get(p, 1))


def item_key(request: DeliveryRequest) -> str:
    return f"{request.workflow_id}|{request.notification_id}"


@workflow.defn(name=REPAIR_BATCH_WORKFLOW)
class RepairBatchWorkflow:
    @workflow.init
    def __init__(self, inp: RepairBatchInput) -> None:
        self._inp = inp
        self._pending: list[DeliveryRequest] = list(inp.pending)
        self._seen: list[str] = list(inp.seen)
        self._window = timedelta(0)

    @workflow.signal(name=REPAIR_BATCH_SIGNAL)
    def add(self, item: BatchedRepairNotice) -> None:
        key = item_key(item.request)
        if key in self._seen:
            return
        self._seen = [*self._seen, key][-SEEN_LIMIT:]
        self._pending.append(item.request)
        self._window = max(self._window, timedelta(seconds=item.window_seconds))

    @workflow.query(name="pending")
    def pending(self) -> list[str]:
        return [item_key(r) for r in self._pending]

    @workflow.run
    async def run(self, inp: RepairBatchInput) -> int:
        batches = inp.batches
        while True:
            await workflow.wait_condition(lambda: bool(self._pending))
            if self._window > timedelta(0):
                await workflow.sleep(self._window, summary="the batch window")
            items, self._pending = self._pending[:MAX_ITEMS], self._pending[MAX_ITEMS:]
            # Notices left over (past MAX_ITEMS) have waited already; new ones set it again.
            self._window = timedelta(0)
            batches += 1
            await self._send(items, batches)
            if not self._pending:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._pending:
                    return batches
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    RepairBatchInput(
                        subscriber_id=inp.subscriber_id,
                        pending=self._pending,
                        seen=self._seen,
                        batches=batches,
                    )
                )

    async def _send(self, items: list[DeliveryRequest], number: int) -> None:
        if len(items) == 1:
            # Alone in its window: exactly the notice its repair workflow would have sent.
            request = items[0]
        else:
            first = items[0]
            request = DeliveryRequest(
                workflow_id=workflow.info().workflow_id,
                notification_id=f"batch:{item_key(first)}",
                kind=BATCH_KIND,
                role=first.role,
                subscriber_id=first.subscriber_id,
                subject_type="repair_batch",
                subject_id=first.subscriber_id,
                scheduled_at=workflow.now(),
                priority=batch_priority(items),
                data={
                    "items": [
                        {
                            **r.data,
                            "kind": r.kind,
                            "priority": r.priority,
                            "at": r.scheduled_at.isoformat(),
                        }
                        for r in items
                    ]
                },
            )
        record = NotificationRecord(
            notification_id=request.notification_id,
            kind=request.kind,
            role=request.role,
            planned_at=workflow.now(),
            fired_at=workflow.now(),
        )
        await notify(request, record)

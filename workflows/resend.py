"""A new attempt of a delivery that failed for good: one ``deliver`` activity for the row
``herald deliveries resend`` created, with the channel's queue and retry budget."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.notifying import SEND_START_TO_CLOSE, send_options

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        DELIVER,
        RESEND_WORKFLOW,
        ChannelResult,
        ChannelSend,
        DeliveryStatus,
        ResendInput,
        ResendResult,
        channel_task_queue,
    )


@workflow.defn(name=RESEND_WORKFLOW)
class ResendWorkflow:
    @workflow.run
    async def run(self, inp: ResendInput) -> ResendResult:
        retry_policy, schedule_to_close = send_options(inp.retry)
        try:
            result = await workflow.execute_activity(
                DELIVER,
                ChannelSend(
                    channel=inp.channel,
                    idempotency_key=inp.idempotency_key,
                    max_attempts=inp.retry.attempts if inp.retry else None,
                ),
                result_type=ChannelResult,
                task_queue=channel_task_queue(workflow.info().task_queue, inp.channel),
                start_to_close_timeout=min(SEND_START_TO_CLOSE, schedule_to_close),
                schedule_to_close_timeout=schedule_to_close,
                retry_policy=retry_policy,
                summary=f"resend of delivery #{inp.original_id} via {inp.channel.value}",
            )
            status = result.status
        except ActivityError as err:
            permanent = isinstance(err.cause, ApplicationError) and err.cause.non_retryable
            status = DeliveryStatus.PERMANENTLY_FAILED if permanent else DeliveryStatus.FAILED
        return ResendResult(idempotency_key=inp.idempotency_key, status=status)

"""One outbound webhook event: POSTed to every endpoint that wants it, each retried apart.

The endpoints are those enabled and subscribed to the event's type when the workflow runs
(activity ``webhook_targets``). Each gets its own ``send_webhook`` activity, all in
parallel, retried with backoff (5 s, doubling, at most an hour apart) for as long as the
event's ``retry_for``; an endpoint disabled or removed meanwhile stops its retries.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        SEND_WEBHOOK,
        WEBHOOK_STOPPED_ERROR,
        WEBHOOK_TARGETS,
        WebhookDeliveryInput,
        WebhookDeliveryResult,
    )

# Beyond the POST's own timeout: reading the endpoint, logging the attempt.
SEND_MARGIN = timedelta(seconds=30)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(hours=1),
    maximum_attempts=0,  # unlimited: schedule_to_close (retry_for) ends them
    non_retryable_error_types=[WEBHOOK_STOPPED_ERROR],
)


@workflow.defn(name="WebhookDeliveryWorkflow")
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, inp: WebhookDeliveryInput) -> WebhookDeliveryResult:
        targets: list[str] = await workflow.execute_activity(
            WEBHOOK_TARGETS,
            inp.event_id,
            result_type=list[str],
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
            summary="endpoints subscribed now",
        )
        outcomes = await asyncio.gather(*(self._send(inp, t) for t in targets))
        workflow.set_current_details(
            ", ".join(f"{t}: {o}" for t, o in zip(targets, outcomes, strict=True))
            or "no endpoint subscribed"
        )
        return WebhookDeliveryResult(
            event_id=inp.event_id, outcomes=dict(zip(targets, outcomes, strict=True))
        )

    async def _send(self, inp: WebhookDeliveryInput, endpoint_id: str) -> str:
        try:
            await workflow.execute_activity(
                SEND_WEBHOOK,
                args=[inp.event_id, endpoint_id],
                result_type=int,
                schedule_to_close_timeout=inp.retry_for,
                start_to_close_timeout=timedelta(seconds=inp.timeout) + SEND_MARGIN,
                retry_policy=SEND_RETRY,
                summary=f"POST to {endpoint_id}",
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == WEBHOOK_STOPPED_ERROR:
                return f"stopped: {cause.message}"
            if isinstance(cause, TimeoutError):
                return f"gave up after {inp.retry_for}: {cause.message}"
            return f"failed: {getattr(cause, 'message', None) or err.message}"
        return "delivered"

"""Sending one notification from any workflow: plan the channels, then one delivery activity
per channel, concurrently. Shared by loans, repairs and staff alerts so they all keep the
same guarantees (delivery log, idempotency keys, retries, per-channel queues)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        CHANNEL_QUEUES_PATCH,
        DELIVER,
        LEAN_NOTIFY_PATCH,
        LOCAL_PLAN_PATCH,
        PLAN_DELIVERIES,
        PLAN_DELIVERY,
        PLAN_NOTIFICATION,
        RECIPIENTS_PAGE,
        ChannelResult,
        ChannelSend,
        DeliveryPlan,
        DeliveryPlans,
        DeliveryRequest,
        DeliveryRequests,
        DeliveryStatus,
        NotificationRecord,
        PlanSummary,
        RecipientsPage,
        RecipientsPageInput,
        channel_task_queue,
    )
    from herald.kinds import Channel
    from herald.retry_budget import RetryBudget
    from herald.search_attributes import NEXT_REMINDER_AT

# Reading the directory and writing the log: retried for a day before the workflow moves on.
PLAN_START_TO_CLOSE = timedelta(seconds=30)
PLAN_SCHEDULE_TO_CLOSE = timedelta(hours=24)
PLAN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)

# A provider call: a transient failure is retried with backoff for up to six hours.
SEND_START_TO_CLOSE = timedelta(seconds=60)
SEND_SCHEDULE_TO_CLOSE = timedelta(hours=6)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["PermanentSendError"],
)

MEMBERS_PAGE = 1000


async def notify(request: DeliveryRequest, record: NotificationRecord) -> list[str]:
    """Send ``request`` on every channel it plans; fill ``record`` with each channel's outcome.

    Returns the idempotency keys of deliveries that failed permanently.
    """
    try:
        lean = workflow.patched(LEAN_NOTIFY_PATCH)
        # Workflows that began before the lean-notify patch replay as they ran.
        execute = (
            workflow.execute_local_activity
            if lean or workflow.patched(LOCAL_PLAN_PATCH)
            else workflow.execute_activity
        )
        planned = await execute(
            PLAN_NOTIFICATION if lean else PLAN_DELIVERY,
            request,
            result_type=PlanSummary if lean else DeliveryPlan,
            start_to_close_timeout=PLAN_START_TO_CLOSE,
            schedule_to_close_timeout=PLAN_SCHEDULE_TO_CLOSE,
            retry_policy=PLAN_RETRY,
            summary=f"{request.kind} → {request.role.value} {request.subscriber_id}",
        )
    except ActivityError as err:
        record.skipped_reason = f"could not plan delivery: {err.cause or err}"
        return []
    plan = planned.expand(request) if isinstance(planned, PlanSummary) else planned
    return await _send_planned(request, plan, record)


async def notify_each_now(requests: list[DeliveryRequest]) -> list[NotificationRecord]:
    """:func:`notify` for each request at once, each with a record planned and fired now
    (the alerts the admins get); what each channel did is on the records."""
    records = [
        NotificationRecord(
            notification_id=r.notification_id,
            kind=r.kind,
            role=r.role,
            planned_at=workflow.now(),
            fired_at=workflow.now(),
        )
        for r in requests
    ]
    await asyncio.gather(*(notify(r, rec) for r, rec in zip(requests, records, strict=True)))
    return records


async def notify_many(
    requests: list[DeliveryRequest], records: list[NotificationRecord]
) -> list[list[str]]:
    """:func:`notify` for a batch: one planning activity for all, then the deliveries.

    Returns, per request, the idempotency keys of deliveries that failed permanently.
    """
    try:
        plans = await workflow.execute_activity(
            PLAN_DELIVERIES,
            DeliveryRequests(requests=requests),
            result_type=DeliveryPlans,
            start_to_close_timeout=PLAN_START_TO_CLOSE * 4,
            schedule_to_close_timeout=PLAN_SCHEDULE_TO_CLOSE,
            retry_policy=PLAN_RETRY,
            summary=f"{requests[0].kind} → {len(requests)} people" if requests else None,
        )
    except ActivityError as err:
        for record in records:
            record.skipped_reason = f"could not plan delivery: {err.cause or err}"
        return [[] for _ in requests]

    return list(
        await asyncio.gather(
            *(
                _send_planned(r, p, rec)
                for r, p, rec in zip(requests, plans.plans, records, strict=True)
            )
        )
    )


async def _send_planned(
    request: DeliveryRequest, plan: DeliveryPlan, record: NotificationRecord
) -> list[str]:
    """One delivery activity per planned channel, concurrently; returns the idempotency keys
    of deliveries that failed permanently."""
    record.channels = {d.channel.value: d.status for d in plan.decisions}
    results = await asyncio.gather(
        *(
            _deliver(request, d.channel, d.idempotency_key, plan.retry.get(d.channel))
            for d in plan.to_send
        )
    )
    failed: list[str] = []
    for channel, key, status in results:
        record.channels[channel] = status
        if status is DeliveryStatus.PERMANENTLY_FAILED:
            failed.append(key)
    return failed


def send_options(budget: RetryBudget | None) -> tuple[RetryPolicy, timedelta]:
    """The deliver activity's retry policy and total time: the default, or the channel's
    budget from the plan (``HERALD_RETRY_*``)."""
    if budget is None:
        return SEND_RETRY, SEND_SCHEDULE_TO_CLOSE
    policy = RetryPolicy(
        initial_interval=SEND_RETRY.initial_interval,
        backoff_coefficient=SEND_RETRY.backoff_coefficient,
        maximum_interval=SEND_RETRY.maximum_interval,
        maximum_attempts=budget.attempts or 0,
        non_retryable_error_types=SEND_RETRY.non_retryable_error_types,
    )
    return policy, budget.within or SEND_SCHEDULE_TO_CLOSE


async def _deliver(
    request: DeliveryRequest, channel: Channel, key: str, budget: RetryBudget | None = None
) -> tuple[str, str, DeliveryStatus]:
    # Loans started before per-channel queues replay on the main queue, as they ran; the
    # lean-notify patch implies the queues, so a new workflow records only that one marker.
    lean = workflow.patched(LEAN_NOTIFY_PATCH)
    task_queue = (
        channel_task_queue(workflow.info().task_queue, channel)
        if lean or workflow.patched(CHANNEL_QUEUES_PATCH)
        else None
    )
    retry_policy, schedule_to_close = send_options(budget)
    try:
        result = await workflow.execute_activity(
            DELIVER,
            # Since lean-notify the activity reads the request from the row planning wrote:
            # the template data is not copied into history once per channel.
            ChannelSend(
                request=None if lean else request,
                channel=channel,
                idempotency_key=key,
                max_attempts=budget.attempts if budget else None,
            ),
            result_type=ChannelResult,
            task_queue=task_queue,
            start_to_close_timeout=min(SEND_START_TO_CLOSE, schedule_to_close),
            schedule_to_close_timeout=schedule_to_close,
            retry_policy=retry_policy,
            summary=f"{request.kind} via {channel.value}",
        )
        return channel.value, key, result.status
    except ActivityError as err:
        permanent = isinstance(err.cause, ApplicationError) and err.cause.non_retryable
        workflow.logger.warning("delivery %s failed: %s", key, err.cause)
        return (
            channel.value,
            key,
            (DeliveryStatus.PERMANENTLY_FAILED if permanent else DeliveryStatus.FAILED),
        )


async def recipients_page(page: RecipientsPageInput) -> RecipientsPage:
    return await workflow.execute_activity(
        RECIPIENTS_PAGE,
        page,
        result_type=RecipientsPage,
        start_to_close_timeout=PLAN_START_TO_CLOSE,
        schedule_to_close_timeout=PLAN_SCHEDULE_TO_CLOSE,
        retry_policy=PLAN_RETRY,
        summary=f"members of {', '.join(page.group_names) or 'users'}",
    )


async def group_members(group: str) -> list[str]:
    """Every member of a (small) group, page by page: for managers and admins."""
    members: list[str] = []
    after: str | None = None
    while True:
        page = await recipients_page(
            RecipientsPageInput(group_names=[group], after=after, limit=MEMBERS_PAGE)
        )
        members.extend(page.ids)
        if page.next_after is None:
            return members
        after = page.next_after


def next_reminder_pair(
    enabled: bool, at: datetime | None
) -> list[tuple[SearchAttributeKey[Any], Any]]:
    """The ``NextReminderAt`` pair for :func:`upsert_changed`, unless the workflow's input
    turned the attribute off (``HERALD_NEXT_REMINDER_ATTRIBUTE``)."""
    return [(NEXT_REMINDER_AT, at)] if enabled else []


def upsert_changed(*pairs: tuple[SearchAttributeKey[Any], Any]) -> None:
    """Set each search attribute to its value (``None`` unsets it), upserting only those that
    changed: every upsert is a history event, and most wake-ups change nothing."""
    current = workflow.info().typed_search_attributes
    updates: list[SearchAttributeUpdate] = [
        key.value_set(value) if value is not None else key.value_unset()
        for key, value in pairs
        if current.get(key) != value
    ]
    if updates:
        workflow.upsert_search_attributes(updates)

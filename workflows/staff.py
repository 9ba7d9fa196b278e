"""Staff alerts (Hanna): one admin template, or an ad-hoc title and message, to named people
and whole groups; at once, or at a later time (a durable timer, cancellable until it fires).

``StaffNotifyWorkflow`` walks the recipients page by page and hands them out in batches to
``StaffBatchWorkflow`` children, a few at a time, so no history grows with the group's
size: a group of thousands is tens of children of a few hundred events each. A delivery
that fails for good alerts the technical admins, once per failure; an alert about an alert
is never sent, so failures cannot loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.workflow import ParentClosePolicy

from workflows.notifying import group_members, notify, notify_many, recipients_page

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        DeliveryRequest,
        NoticeCancelled,
        NotificationRecord,
        NotifyBatchInput,
        NotifyInput,
        NotifyResult,
        RecipientsPageInput,
        Role,
    )
    from herald.kinds import Channel

FAILURE_KIND = "system.delivery_failed"
NOTICE_KIND = "staff.notice"
PAGE_SIZE = 1000
# Batches running at once: enough to keep workers busy, few enough to spread the load.
MAX_RUNNING_BATCHES = 4
BATCH_TIMEOUT = timedelta(days=1)


@workflow.defn(name="StaffNotifyWorkflow")
class StaffNotifyWorkflow:
    @workflow.init
    def __init__(self, inp: NotifyInput) -> None:
        self._inp = inp
        self._cancelled = False
        # Only a notice scheduled for later waits; one that began its walk has fired.
        self._waiting = inp.scheduled_for is not None and inp.batches_started == 0

    @workflow.run
    async def run(self, inp: NotifyInput) -> NotifyResult:
        if self._waiting and inp.scheduled_for is not None:
            delay = inp.scheduled_for - workflow.now()
            if delay > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._cancelled,
                        timeout=delay,
                        timeout_summary="until the notice's scheduled time",
                    )
            if self._cancelled:
                return NotifyResult(
                    request_id=inp.request_id, recipients=0, batches=0, totals={}, cancelled=True
                )
            self._waiting = False
        totals: Counter[str] = Counter(inp.totals)
        after, batches = inp.after, inp.batches_started
        # A list, not a set: iteration order must be the same on every replay.
        running: list[asyncio.Task[dict[str, int]]] = []
        while True:
            page = await recipients_page(
                RecipientsPageInput(
                    user_ids=inp.user_ids, group_names=inp.group_names, after=after, limit=PAGE_SIZE
                )
            )
            for start in range(0, len(page.ids), inp.batch_size):
                chunk = page.ids[start : start + inp.batch_size]
                if len(running) >= MAX_RUNNING_BATCHES:
                    done, running = await workflow.wait(
                        running, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        totals.update(task.result())
                batches += 1
                totals["recipients"] += len(chunk)
                came_from = {r: page.groups[r] for r in chunk if r in page.groups}
                running.append(asyncio.create_task(self._batch(inp, chunk, batches, came_from)))
            after = page.next_after
            if after is None:
                break
            if workflow.info().is_continue_as_new_suggested():
                for finished in workflow.as_completed(running):
                    totals.update(await finished)
                workflow.continue_as_new(
                    inp.model_copy(
                        update={"after": after, "batches_started": batches, "totals": dict(totals)}
                    )
                )
        for finished in workflow.as_completed(running):
            totals.update(await finished)
        recipients = totals.pop("recipients", 0)
        return NotifyResult(
            request_id=inp.request_id, recipients=recipients, batches=batches, totals=dict(totals)
        )

    @workflow.update(name="cancel")
    def cancel(self) -> NoticeCancelled:
        """Cancel a notice scheduled for later, before it fires."""
        self._cancelled = True
        return NoticeCancelled(
            request_id=self._inp.request_id, scheduled_for=self._inp.scheduled_for
        )

    @cancel.validator
    def _validate_cancel(self) -> None:
        if not self._waiting or self._cancelled:
            raise ValueError(
                f"alert {self._inp.request_id} has already gone out: only a notice scheduled "
                "for later can be cancelled, before its time"
            )

    async def _batch(
        self,
        inp: NotifyInput,
        recipients: list[str],
        number: int,
        came_from: dict[str, list[str]],
    ) -> dict[str, int]:
        return await workflow.execute_child_workflow(
            StaffBatchWorkflow.run,
            NotifyBatchInput(
                notify=inp.model_copy(update={"user_ids": [], "group_names": []}),
                recipients=recipients,
                groups=came_from,
            ),
            id=f"{workflow.info().workflow_id}-batch-{number}",
            execution_timeout=BATCH_TIMEOUT,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            static_summary=f"{inp.template}: batch {number} of {len(recipients)}",
        )


@workflow.defn(name="StaffBatchWorkflow")
class StaffBatchWorkflow:
    @workflow.run
    async def run(self, inp: NotifyBatchInput) -> dict[str, int]:
        n = inp.notify
        records: list[NotificationRecord] = []

        adhoc = n.title is not None
        data = (
            {"title": n.title, "message": n.message, "data": n.data, "link": n.link}
            if adhoc
            else {"template": n.template, "context": n.context, "link": n.link}
        )
        requests = [
            DeliveryRequest(
                workflow_id=f"notify-{n.request_id}",
                notification_id=f"notice/{subscriber_id}"
                if adhoc
                else f"{n.template}/{subscriber_id}",
                kind=NOTICE_KIND,
                role=Role.STAFF,
                subscriber_id=subscriber_id,
                subject_type="staff",
                subject_id=n.request_id,
                scheduled_at=workflow.now(),
                priority=n.priority,
                channels=_channels(n, inp.groups.get(subscriber_id, [])),
                data={**data, "groups": inp.groups.get(subscriber_id, [])},
            )
            for subscriber_id in inp.recipients
        ]
        records.extend(
            NotificationRecord(
                notification_id=r.notification_id,
                kind=NOTICE_KIND,
                role=Role.STAFF,
                planned_at=workflow.now(),
                fired_at=workflow.now(),
            )
            for r in requests
        )
        failed = await notify_many(requests, records)
        failures = [
            f"{r.subscriber_id}|{key}"
            for r, keys in zip(requests, failed, strict=True)
            for key in keys
        ]
        if failures:
            await self._alert_admins(n, failures, records)
        totals: Counter[str] = Counter()
        for record in records:
            totals.update(status.value for status in record.channels.values())
        return dict(totals)

    async def _alert_admins(
        self, n: NotifyInput, failures: list[str], records: list[NotificationRecord]
    ) -> None:
        """One alert per failed delivery to each technical admin; never about an alert."""
        admins = await group_members(n.tech_admins_group)
        sends = []
        for failure in failures:
            subscriber_id, key = failure.split("|", 1)
            for admin in admins:
                request = DeliveryRequest(
                    workflow_id=f"notify-{n.request_id}",
                    notification_id=f"failed:{key}/{admin}",
                    kind=FAILURE_KIND,
                    role=Role.ADMIN,
                    subscriber_id=admin,
                    subject_type="system",
                    subject_id=n.request_id,
                    scheduled_at=workflow.now(),
                    priority="urgent",
                    channels=n.admin_channels,
                    # Ids only: the activity reads the rest from the failed delivery's row.
                    data={"notification_id": key, "recipient_id": subscriber_id},
                )
                record = NotificationRecord(
                    notification_id=request.notification_id,
                    kind=FAILURE_KIND,
                    role=Role.ADMIN,
                    planned_at=workflow.now(),
                    fired_at=workflow.now(),
                )
                records.append(record)
                # The result is ignored on purpose: a failed failure alert raises nothing more.
                sends.append(notify(request, record))
        await asyncio.gather(*sends)


def _channels(n: NotifyInput, groups: list[str]) -> list[Channel] | None:
    """The call's or template's channels, else those of the recipient's groups (in the
    notice's order, each once), else the deployment's; None: the priority route."""
    if n.channels:
        return n.channels
    chosen: list[Channel] = []
    for group in groups:
        chosen.extend(c for c in n.group_channels.get(group, []) if c not in chosen)
    return chosen or n.default_channels

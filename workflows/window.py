"""A staff member's WhatsApp 24-hour window: told before it closes (Hanna's 24-hour window
reminders), on a per-person durable timer, not a poll.

Each inbound WhatsApp message signals (or starts) ``whatsapp-window-<number>`` with its
time. The workflow sleeps until ``lead`` before the window closes; a later message moves
the deadline; at the deadline the members of ``group`` with that number hear that their
window closes soon (inside it, so free text still goes), and the workflow ends. The next
message starts it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.notifying import notify_each_now

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        WINDOW_PEOPLE,
        DeliveryRequest,
        Role,
        WindowInput,
        WindowPeopleInput,
    )
    from herald.kinds import Channel

WINDOW_KIND = "system.window_closing"


@workflow.defn(name="WhatsAppWindowWorkflow")
class WhatsAppWindowWorkflow:
    @workflow.init
    def __init__(self, inp: WindowInput) -> None:
        self._last: datetime = inp.last_inbound_at

    @workflow.signal(name="inbound")
    def inbound(self, at: datetime) -> None:
        """The person wrote again: the window now closes 24 hours after ``at``."""
        if at > self._last:
            self._last = at

    @workflow.run
    async def run(self, inp: WindowInput) -> int:
        while True:
            last = self._last
            remind_at = last + inp.window - inp.lead
            wait = remind_at - workflow.now()
            if wait <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda last=last: self._last != last,  # type: ignore[misc]
                    timeout=wait,
                )
            except TimeoutError:
                break
        people: list[str] = await workflow.execute_activity(
            WINDOW_PEOPLE,
            WindowPeopleInput(address=inp.address, group=inp.group),
            result_type=list[str],
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
        )
        closes = self._last + inp.window
        await notify_each_now(
            [
                DeliveryRequest(
                    workflow_id=workflow.info().workflow_id,
                    notification_id=f"window-closing:{closes.isoformat()}",
                    kind=WINDOW_KIND,
                    role=Role.STAFF,
                    subscriber_id=person,
                    subject_type="system",
                    subject_id=person,
                    scheduled_at=workflow.now(),
                    priority="high",
                    channels=[Channel.WHATSAPP],
                    data={"closes_at": closes.isoformat()},
                )
                for person in people
            ]
        )
        return len(people)

"""The baseline: the smallest Temporal workflow that does a loan's job.

It sleeps on a durable timer until each reminder instant and calls one activity that
sends the e-mail; optionally it sends a confirmation first and, at the end, waits for a
``returned`` signal and sends a thank-you. No directory, no preferences, no delivery log,
no search attributes. Runs in the default workflow sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

SEND_EMAIL = "baseline_send_email"
WORKFLOW_NAME = "BaselineLoan"


@dataclass
class BaselineLoanInput:
    to: str
    # ISO 8601 instants (UTC) of the reminders, in order.
    reminder_at: list[str] = field(default_factory=list)
    reminder_kinds: list[str] = field(default_factory=list)
    send_created: bool = False
    wait_for_return: bool = False


@dataclass
class SendInput:
    to: str
    kind: str
    # Stable per (workflow, notification): used as the Message-ID, like Herald's key.
    key: str


@workflow.defn(name=WORKFLOW_NAME)
class BaselineLoan:
    def __init__(self) -> None:
        self._returned = False

    @workflow.signal(name="returned")
    def returned(self) -> None:
        self._returned = True

    async def _send(self, to: str, kind: str) -> None:
        await workflow.execute_activity(
            SEND_EMAIL,
            SendInput(to=to, kind=kind, key=f"{workflow.info().workflow_id}|{kind}"),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5)),
        )

    @workflow.run
    async def run(self, inp: BaselineLoanInput) -> None:
        if inp.send_created:
            await self._send(inp.to, "loan.created")
        for index, at in enumerate(inp.reminder_at):
            delay = datetime.fromisoformat(at) - workflow.now()
            if delay > timedelta(0):
                await workflow.sleep(delay)
            kind = inp.reminder_kinds[index] if index < len(inp.reminder_kinds) else "reminder"
            await self._send(inp.to, kind)
        if inp.wait_for_return:
            await workflow.wait_condition(lambda: self._returned)
            await self._send(inp.to, "loan.returned")

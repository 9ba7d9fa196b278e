"""Replay recorded loan histories with today's workflow code.

A change that would break loans already running (a new activity before an old one, a timer
removed...) fails here, before deploy. Change the logic of a running workflow type through
``workflow.patched``; record new histories with ``HERALD_RECORD_HISTORIES=1`` when you add
behaviour (see the README).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from herald.contracts import (
    CrmEventInput,
    CrmEventResult,
    FollowUpInput,
    FollowUpStatus,
    HeldNotice,
    LoanInput,
    LoanStatus,
    MailboxInput,
    MailboxStatus,
)
from herald.temporal import DATA_CONVERTER, workflow_runner
from workflows.crm import CrmEventWorkflow
from workflows.followup import FollowUpWorkflow
from workflows.loan import LoanWorkflow
from workflows.mailbox import MailboxWorkflow
from workflows.registry import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    data = json.loads(path.read_text())
    # Recorded with its workflow id: children's ids derive from it.
    workflow_id = data.pop("workflowId", f"replay-{path.stem}")
    return WorkflowHistory.from_json(workflow_id, data)


def test_histories_are_recorded() -> None:
    names = {p.stem for p in HISTORIES}
    assert {"repair_full_life", "staff_notify", "staff_batch"} <= names
    assert {
        "followup_full_life",
        "followup_reassigned_rescheduled",
        # Notices sent by hand (the notify_now update).
        "followup_sent_by_hand",
        "crm_lead_created",
        "mailbox_quiet_hours",
        "mailbox_daily_digest",
        # Held notices checked for lateness when let go (the mailbox-drops-late-notices patch).
        "mailbox_too_late_quiet_hours",
        "mailbox_weekly_too_late",
        "mailbox_confirmation_quiet_hours",
        # Ad-hoc notices on a timer, repair notices batched per person, resends.
        "notice_scheduled",
        "notice_cancelled",
        "repair_batch",
        "repair_batched",
        "resend",
        # The personal daily summary: one sent; an empty day, a new hour, switched off.
        "daily_summary_sent",
        "daily_summary_moved_stopped",
        # v5: follow-ups and lead events record their facts for the daily summary.
        "followup_full_life.v5",
        "followup_reassigned_rescheduled.v5",
        "crm_lead_created.v5",
    } <= names
    # v2: per-channel delivery queues and the in-app inbox; v3: planning as a local activity;
    # v4: both under the one lean-notify patch, the plan recorded as a PlanSummary.
    for version in ("", ".v2", ".v3", ".v4"):
        assert {
            f"loan_full_life{version}",
            f"loan_returned_early{version}",
            f"loan_extended_cancelled{version}",
        } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=DATA_CONVERTER, workflow_runner=workflow_runner()
    )
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@workflow.defn(name="LoanWorkflow")
class LoanWorkflowWithoutConfirmation(LoanWorkflow):
    """An unguarded change: the confirmation no longer goes out first."""

    @workflow.run
    async def run(self, inp: LoanInput) -> LoanStatus:
        self._p.created_notified = True
        return await super().run(inp)


async def test_unguarded_change_fails_the_replay() -> None:
    """Proves the replay test can fail: the changed code issues different commands."""
    replayer = Replayer(
        workflows=[LoanWorkflowWithoutConfirmation],
        data_converter=DATA_CONVERTER,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(
        load(next(p for p in HISTORIES if p.stem == "loan_full_life")),
        raise_on_replay_failure=False,
    )
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()


@workflow.defn(name="LoanWorkflow")
class LoanWorkflowWithGuardedChange(LoanWorkflow):
    """The same change as above, guarded: loans that started before it keep their past."""

    @workflow.run
    async def run(self, inp: LoanInput) -> LoanStatus:
        if workflow.patched("skip-confirmation"):
            self._p.created_notified = True
        return await super().run(inp)


LOAN_HISTORIES = [p for p in HISTORIES if p.stem.startswith("loan_")]


@pytest.mark.parametrize("path", LOAN_HISTORIES, ids=[p.stem for p in LOAN_HISTORIES])
async def test_guarded_change_replays_old_histories(path: Path) -> None:
    replayer = Replayer(
        workflows=[LoanWorkflowWithGuardedChange],
        data_converter=DATA_CONVERTER,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@workflow.defn(name="MailboxWorkflow")
class MailboxWorkflowSendingLateNotices(MailboxWorkflow):
    """The mailbox as it was: every held notice is let go, late or not."""

    @workflow.run
    async def run(self, inp: MailboxInput) -> MailboxStatus:
        return await super().run(inp)

    async def _drop_late(
        self, notices: list[HeldNotice], held: list[HeldNotice], now: datetime
    ) -> list[HeldNotice]:
        return notices


@pytest.mark.parametrize("name", ["mailbox_too_late_quiet_hours", "mailbox_weekly_too_late"])
async def test_mailbox_histories_need_the_lateness_check(name: str) -> None:
    """A mailbox that dropped a late notice does not replay on code that would send it."""
    replayer = Replayer(
        workflows=[MailboxWorkflowSendingLateNotices],
        data_converter=DATA_CONVERTER,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(
        load(next(p for p in HISTORIES if p.stem == name)), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()


@workflow.defn(name="FollowUpWorkflow")
class FollowUpWorkflowWithoutFacts(FollowUpWorkflow):
    """The follow-up as it was before it recorded its facts for the daily summary."""

    @workflow.run
    async def run(self, inp: FollowUpInput) -> FollowUpStatus:
        return await super().run(inp)

    async def _record_facts(self) -> None:
        return None


@workflow.defn(name="CrmEventWorkflow")
class CrmEventWorkflowWithoutFacts(CrmEventWorkflow):
    """A lead event as it was before the assignment was recorded."""

    @workflow.run
    async def run(self, inp: CrmEventInput) -> CrmEventResult:
        return await super().run(inp)

    async def _record_assignment(self, inp: CrmEventInput) -> None:
        return None


@pytest.mark.parametrize(
    ("name", "workflow_class"),
    [
        ("followup_full_life.v5", FollowUpWorkflowWithoutFacts),
        ("followup_reassigned_rescheduled.v5", FollowUpWorkflowWithoutFacts),
        ("crm_lead_created.v5", CrmEventWorkflowWithoutFacts),
    ],
)
async def test_histories_that_recorded_facts_need_the_recording(
    name: str, workflow_class: type
) -> None:
    """The v5 histories exercise the facts' patch: code that skips the record fails them,
    while every older history replays with today's code (above)."""
    replayer = Replayer(
        workflows=[workflow_class], data_converter=DATA_CONVERTER, workflow_runner=workflow_runner()
    )
    result = await replayer.replay_workflow(
        load(next(p for p in HISTORIES if p.stem == name)), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()

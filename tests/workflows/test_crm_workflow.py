"""CRM follow-ups, lead and user events on the time-skipping server, with the real delivery
activities, aiosmtpd, an SMS outbox and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from herald.contracts import FollowUpState, FollowUpStatus
from herald.errors import InvalidInput, NotFound
from starter.client import followup_workflow_id
from tests.conftest import eventually
from tests.workflows.test_loan_workflow import Desk, record_history

PARIS = ZoneInfo("Europe/Paris")
URGENT = {"sms", "email", "in_app"}
HIGH = {"sms", "in_app"}
MEDIUM = {"email", "in_app"}


def sent(desk: Desk, subject_id: str) -> set[tuple[str, str, str]]:
    """(kind, subscriber, channel) of every delivery sent about ``subject_id``."""
    return {
        (r.kind, r.subscriber_id, r.channel)
        for r in desk.store.list_deliveries(subject_id=subject_id)
        if r.status == "sent"
    }


def kinds_to(desk: Desk, subject_id: str, subscriber: str) -> list[str]:
    return sorted(
        {
            r.notification_id
            for r in desk.store.list_deliveries(subject_id=subject_id)
            if r.status == "sent" and r.subscriber_id == subscriber
        }
    )


def local(now: datetime, days: int, at: time) -> datetime:
    day = now.astimezone(PARIS).date() + timedelta(days=days)
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


async def sleep_until(desk: Desk, instant: datetime) -> None:
    delta = instant - await desk.now()
    assert delta > timedelta(0), f"{instant} is already past"
    await desk.env.sleep(delta)


async def finish(desk: Desk, followup_id: str) -> FollowUpStatus:
    """Close the follow-up and wait for its workflow to end (nothing left on the server)."""
    status = await desk.herald.complete_followup(followup_id)
    assert status is not None
    return status


async def test_followup_reminds_the_day_before_then_escalates_to_managers(crm: Desk) -> None:
    now = await crm.now()
    due = local(now, 3, time(14, 0))
    started = await crm.herald.start_followup(
        "F-1", title="Rappeler ACME pour le devis", assignee_id="ana", due_at=due, customer="ACME"
    )
    assert started.created and started.workflow_id == followup_workflow_id("F-1")
    again = await crm.herald.start_followup(
        "F-1", title="Rappeler ACME pour le devis", assignee_id="ana", due_at=due
    )
    assert not again.created

    # The day before, 08:00 local: nothing a minute earlier, the reminder a minute later.
    reminder_at = local(now, 2, time(8, 0))
    await sleep_until(crm, reminder_at - timedelta(minutes=1))
    await crm.env.sleep(timedelta(seconds=1))
    assert sent(crm, "F-1") == set()
    await sleep_until(crm, reminder_at + timedelta(minutes=1))
    await eventually(lambda: len(sent(crm, "F-1")) == len(HIGH))
    assert sent(crm, "F-1") == {("followup.due_tomorrow", "ana", ch) for ch in HIGH}

    # Overdue 15 minutes after the due time: urgent to the assignee, copies to both managers.
    await sleep_until(crm, due + timedelta(minutes=16))
    expected = {("followup.overdue", who, ch) for who in ("ana", "boss", "boss2") for ch in URGENT}
    await eventually(lambda: expected <= sent(crm, "F-1"))
    status = await crm.herald.followup_status("F-1")
    assert status.state is FollowUpState.OVERDUE
    assert status.next_reminder is not None and status.next_reminder.kind == "followup.overdue"

    # Two more alerts on the following days at 09:00, then nothing more.
    await sleep_until(crm, local(now, 5, time(9, 1)))
    await eventually(lambda: len(kinds_to(crm, "F-1", "ana")) == 4)
    assert kinds_to(crm, "F-1", "ana") == [
        f"followup.due_tomorrow@{due:%Y%m%dT%H%M%SZ}",
        f"followup.overdue#2@{due:%Y%m%dT%H%M%SZ}",
        f"followup.overdue#3@{due:%Y%m%dT%H%M%SZ}",
        f"followup.overdue@{due:%Y%m%dT%H%M%SZ}",
    ]
    assert len(kinds_to(crm, "F-1", "boss")) == 3
    mails = [m for m in crm.smtp.handler.to("boss@example.org") if "ACME" in m.subject]
    assert len(mails) == 3 and "Ana Costa" in mails[0].part("plain")

    final = await finish(crm, "F-1")
    assert final.state is FollowUpState.COMPLETED and final.completed_at is not None
    await record_history(crm, followup_workflow_id("F-1"), "followup_full_life")
    with pytest.raises(InvalidInput, match="no longer running"):
        await crm.herald.complete_followup("F-1")


async def test_reassignment_moves_pending_reminders_and_reschedule_replans(crm: Desk) -> None:
    now = await crm.now()
    due = local(now, 4, time(11, 0))
    await crm.herald.start_followup("F-2", title="Relance contrat", assignee_id="ana", due_at=due)

    status = await crm.herald.reassign_followup("F-2", assignee_id="ben")
    assert status.assignee_id == "ben" and status.reassignments == 1
    # Again to the same person (a retried hand-off): the state it already made.
    again = await crm.herald.reassign_followup("F-2", assignee_id="ben")
    assert again.assignee_id == "ben" and again.reassignments == 1
    with pytest.raises(InvalidInput, match="unknown assignee"):
        await crm.herald.reassign_followup("F-2", assignee_id="nobody")

    await sleep_until(crm, local(now, 3, time(8, 1)))
    await eventually(lambda: kinds_to(crm, "F-2", "ben"))
    assert kinds_to(crm, "F-2", "ben") == [f"followup.due_tomorrow@{due:%Y%m%dT%H%M%SZ}"]
    assert kinds_to(crm, "F-2", "ana") == []

    # Moved two days later: a new day-before reminder, the old overdue alert never comes.
    later = due + timedelta(days=2)
    status = await crm.herald.reschedule_followup("F-2", due_at=later)
    assert status.due_at == later and status.reschedules == 1
    assert status.next_reminder is not None
    assert status.next_reminder.at == local(now, 5, time(8, 0))
    await sleep_until(crm, due + timedelta(hours=1))
    await crm.env.sleep(timedelta(seconds=1))
    assert not any(k.startswith("followup.overdue") for k in kinds_to(crm, "F-2", "ben"))
    await sleep_until(crm, local(now, 5, time(8, 1)))
    await eventually(lambda: len(kinds_to(crm, "F-2", "ben")) == 2)
    assert f"followup.due_tomorrow@{later:%Y%m%dT%H%M%SZ}" in kinds_to(crm, "F-2", "ben")

    await crm.herald.cancel_followup("F-2")
    handle = crm.herald.client.get_workflow_handle(
        followup_workflow_id("F-2"), result_type=FollowUpStatus
    )
    assert (await handle.result()).state is FollowUpState.CANCELLED
    await record_history(crm, followup_workflow_id("F-2"), "followup_reassigned_rescheduled")


async def test_followup_refuses_bad_input_and_starts_nothing(crm: Desk) -> None:
    now = await crm.now()
    h = crm.herald
    with pytest.raises(InvalidInput, match="title is empty"):
        await h.start_followup("F-x", title=" ", assignee_id="ana", due_at=now + timedelta(days=1))
    with pytest.raises(InvalidInput, match="in the past"):
        await h.start_followup(
            "F-x", title="t", assignee_id="ana", due_at=now - timedelta(days=400)
        )
    with pytest.raises(InvalidInput, match="unknown assignee"):
        await h.start_followup("F-x", title="t", assignee_id="zed", due_at=now + timedelta(days=1))
    with pytest.raises(InvalidInput, match="unknown subscriber"):
        await h.start_followup(
            "F-x", title="t", assignee_id="ana", due_at=now + timedelta(days=1), manager_ids=["zed"]
        )
    with pytest.raises(InvalidInput, match="no time zone"):
        await h.start_followup(
            "F-x", title="t", assignee_id="ana", due_at=datetime(2030, 1, 1, 10, 0)
        )
    with pytest.raises(NotFound, match="no follow-up 'F-x'"):
        await h.complete_followup("F-x")


async def test_lead_events_reach_assignees_and_managers(crm: Desk) -> None:
    h = crm.herald
    now = await crm.now()

    await h.lead_event(
        "LD-1", "created", event_id="e1", name="40 portables", company="ACME",
        assignee_id="ana", occurred_at=now, wait=True,
    )  # fmt: skip
    assert sent(crm, "LD-1") == {("lead.created", "ana", ch) for ch in HIGH} | {
        ("lead.created", m, ch) for m in ("boss", "boss2") for ch in HIGH
    }

    # The same event again (a retried webhook) sends nothing more.
    again = await h.lead_event("LD-1", "created", event_id="e1", assignee_id="ana", wait=True)
    assert not again.created
    await record_history(crm, again.workflow_id, "crm_lead_created")
    assert len(crm.store.list_deliveries(subject_id="LD-1")) == 4 * 3

    # Every stage change reaches the assignee; won reaches the managers too.
    await h.lead_event("LD-1", "stage_changed", event_id="e2", stage="proposal",
                       assignee_id="ana", wait=True)  # fmt: skip
    await h.lead_event("LD-1", "stage_changed", event_id="e3", stage="won",
                       previous_stage="negotiation", assignee_id="ana", wait=True)  # fmt: skip
    stage = [s for s in sent(crm, "LD-1") if s[0] == "lead.stage_changed"]
    assert {s for s in stage if s[1] != "ana"} == {
        ("lead.stage_changed", m, ch) for m in ("boss", "boss2") for ch in MEDIUM
    }
    to_ana = [
        r
        for r in crm.store.list_deliveries(subject_id="LD-1")
        if r.kind == "lead.stage_changed" and r.subscriber_id == "ana" and r.status == "sent"
    ]
    assert len(to_ana) == 2 * len(MEDIUM)  # proposal and won, each on her channels

    # Reassigned: the new assignee and the previous one, each their own notice.
    await h.lead_event("LD-1", "assigned", event_id="e4", assignee_id="ben",
                       previous_assignee_id="ana", changed_by_id="boss", wait=True)  # fmt: skip
    assert {s for s in sent(crm, "LD-1") if s[0] in ("lead.assigned", "lead.reassigned_away")} == {
        ("lead.assigned", "ben", ch) for ch in HIGH
    } | {("lead.reassigned_away", "ana", "in_app")}
    ben_inbox = await h.inbox("ben")
    assert any("Chef Ventes" in n["body"] or "40 portables" in n["body"] for n in ben_inbox)

    # Fulfilment: the assignee and the managers; named managers replace the group.
    await h.lead_event("LD-1", "fulfilment_changed", event_id="e5", fulfilment="fulfilled",
                       assignee_id="ben", manager_ids=["boss2"], wait=True)  # fmt: skip
    assert {s for s in sent(crm, "LD-1") if s[0] == "lead.fulfilment_changed"} == {
        ("lead.fulfilment_changed", who, ch) for who in ("ben", "boss2") for ch in MEDIUM
    }

    with pytest.raises(InvalidInput, match="unknown lead event 'deleted'"):
        await h.lead_event("LD-1", "deleted")
    with pytest.raises(InvalidInput, match="needs stage"):
        await h.lead_event("LD-1", "stage_changed")
    with pytest.raises(InvalidInput, match="unknown assignee 'zed'"):
        await h.lead_event("LD-2", "created", assignee_id="zed")


async def test_user_events_reach_the_user(crm: Desk) -> None:
    h = crm.herald
    await h.user_event("ben", "welcome", event_id="u1", link="https://crm.example.org/login",
                       wait=True)  # fmt: skip
    await h.user_event("ben", "role_changed", event_id="u2", role="manager",
                       previous_role="salesperson", changed_by_id="boss", wait=True)  # fmt: skip
    await h.user_event("ben", "deactivated", event_id="u3", wait=True)
    await h.user_event("ben", "activated", event_id="u4", wait=True)
    assert sent(crm, "ben") == (
        {(k, "ben", ch) for k in ("user.welcome", "user.role_changed", "user.activated")
         for ch in MEDIUM}
        | {("user.deactivated", "ben", ch) for ch in HIGH}
    )  # fmt: skip
    role_mail = [m for m in crm.smtp.handler.to("ben@example.org") if "manager" in m.part("plain")]
    assert role_mail and "salesperson" in role_mail[0].part("plain")
    with pytest.raises(InvalidInput, match="needs role"):
        await h.user_event("ben", "role_changed")
    with pytest.raises(InvalidInput, match="unknown user event"):
        await h.user_event("ben", "promoted")


async def test_repeating_a_reschedule_or_a_reassignment_changes_nothing(crm: Desk) -> None:
    """A hand-off delivered twice (a relay that crashed before recording it) answers the
    state it already made, instead of a refusal."""
    h = crm.herald
    due = await crm.now() + timedelta(days=3)
    await h.start_followup("F-rep", title="Call back", assignee_id="ana", due_at=due)
    later = due + timedelta(days=2)
    first = await h.reschedule_followup("F-rep", due_at=later)
    again = await h.reschedule_followup("F-rep", due_at=later)
    assert first.reschedules == again.reschedules == 1
    assert again.due_at == later
    moved = await h.reassign_followup("F-rep", assignee_id="ben")
    twice = await h.reassign_followup("F-rep", assignee_id="ben")
    assert moved.reassignments == twice.reassignments == 1
    await h.cancel_followup("F-rep")

"""The personal daily summary on the time-skipping server, with the follow-up and CRM event
workflows recording their facts, the real delivery activities, aiosmtpd and SQLite."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowExecutionStatus

from herald import crm_store
from herald.contracts import FollowUpState
from herald.daily_summary import SUMMARY_KIND, DailySummaryStatus, daily_summary_workflow_id
from herald.errors import InvalidInput, NotFound
from tests.conftest import eventually
from tests.workflows.test_loan_workflow import Desk, record_history

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MEDIUM = {"email", "in_app"}


def at(day: date, clock: time, tz: ZoneInfo = PARIS) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


async def sleep_until(desk: Desk, instant: datetime) -> None:
    delta = instant - await desk.now()
    assert delta > timedelta(0), f"{instant} is already past"
    await desk.env.sleep(delta)


async def next_local_day(desk: Desk) -> date:
    """Move to 00:30 in Paris on the next day: the rest of the test plans ahead of it."""
    day = (await desk.now()).astimezone(PARIS).date() + timedelta(days=1)
    await sleep_until(desk, at(day, time(0, 30)))
    return day


def summaries(desk: Desk, subscriber_id: str) -> list[tuple[str, str, str]]:
    """(notification id, channel, status) of every summary logged for the person."""
    return sorted(
        (r.notification_id, r.channel, r.status)
        for r in desk.store.list_deliveries(subject_id=subscriber_id)
        if r.kind == SUMMARY_KIND
    )


async def status_where(desk: Desk, subscriber_id: str, check: object) -> DailySummaryStatus:
    """The summary's status once ``check(status)`` holds (signals are taken asynchronously)."""

    async def read() -> DailySummaryStatus | None:
        status = await desk.herald.daily_summary(subscriber_id)
        return status if check(status) else None  # type: ignore[operator]

    found = await eventually(read)
    assert isinstance(found, DailySummaryStatus)
    return found


async def test_the_summary_arrives_at_the_persons_hour_with_their_own_day(crm: Desk) -> None:
    h = crm.herald
    day = await next_local_day(crm)
    # Ana's day: one follow-up overdue by 08:00, one due in the afternoon, one completed
    # overnight, one due tomorrow (not today's), one cancelled, one given to Ben.
    await h.start_followup("F-late", title="Envoyer le contrat", assignee_id="ana",
                           due_at=at(day, time(5, 0)), customer="Fromagerie Vidal")  # fmt: skip
    await h.start_followup("F-due", title="Rappeler ACME", assignee_id="ana",
                           due_at=at(day, time(15, 0)), customer="ACME")  # fmt: skip
    await h.start_followup("F-done", title="Relancer la facture", assignee_id="ana",
                           due_at=at(day + timedelta(days=2), time(10, 0)))  # fmt: skip
    await h.start_followup("F-next", title="Préparer la démo", assignee_id="ana",
                           due_at=at(day + timedelta(days=1), time(10, 0)))  # fmt: skip
    await h.start_followup("F-gone", title="Visite annulée", assignee_id="ana",
                           due_at=at(day, time(11, 0)))  # fmt: skip
    await h.start_followup("F-moved", title="Donnée à Ben", assignee_id="ana",
                           due_at=at(day, time(12, 0)))  # fmt: skip
    await h.complete_followup("F-done")
    await h.cancel_followup("F-gone")
    await h.reassign_followup("F-moved", assignee_id="ben")
    now = await crm.now()
    # (Not waiting for the events' workflows: a wait lets the server skip time ahead.)
    await h.lead_event("LD-1", "created", event_id="e1", name="40 portables", company="ACME",
                       assignee_id="ana", occurred_at=now)  # fmt: skip
    await h.lead_event("LD-2", "created", event_id="e2", name="Copieurs", assignee_id="ana",
                       occurred_at=now)  # fmt: skip
    await h.lead_event("LD-2", "assigned", event_id="e3", assignee_id="ben",
                       previous_assignee_id="ana", occurred_at=now + timedelta(seconds=1))  # fmt: skip

    # The workflows recorded their facts as they changed.
    async def recorded() -> bool:
        gone = crm_store.get_followup(crm.store, "F-gone")
        moved = crm_store.get_followup(crm.store, "F-moved")
        lead = crm_store.get_lead_assignment(crm.store, "LD-2")
        return (
            gone is not None
            and gone.state is FollowUpState.CANCELLED
            and moved is not None
            and moved.assignee_id == "ben"
            and crm_store.get_lead_assignment(crm.store, "LD-1") is not None
            and lead is not None
            and lead.assignee_id == "ben"
        )

    await eventually(recorded)
    done = crm_store.get_followup(crm.store, "F-done")
    assert done is not None and done.state is FollowUpState.COMPLETED
    assert done.completed_at is not None and done.completed_at >= at(day, time(0, 30))
    lead = crm_store.get_lead_assignment(crm.store, "LD-2")
    assert lead is not None and lead.assignee_id == "ben" and lead.name == "Copieurs"

    status = await h.set_daily_summary("ana", at="08:00")
    assert (status.at, status.timezone, status.running) == ("08:00", "Europe/Paris", True)
    status = await status_where(crm, "ana", lambda s: s.next_at is not None)
    assert status.next_at == at(day, time(8, 0)) and status.sent == 0

    # Nothing a minute before the hour, the summary a minute after.
    await sleep_until(crm, at(day, time(7, 59)))
    await crm.env.sleep(timedelta(seconds=1))
    assert summaries(crm, "ana") == []
    await sleep_until(crm, at(day, time(8, 1)))
    key = f"{SUMMARY_KIND}@{day.isoformat()}"
    await eventually(lambda: {(k, ch, st) for k, ch, st in summaries(crm, "ana")} >= {
        (key, ch, "sent") for ch in MEDIUM
    })  # fmt: skip
    [row] = [
        r
        for r in crm.store.list_deliveries(subject_id="ana")
        if r.kind == SUMMARY_KIND and r.channel == "email"
    ]
    assert row.scheduled_at == at(day, time(8, 0))

    [mail] = [m for m in crm.smtp.handler.to("ana@example.org") if "journée" in m.subject]
    assert mail.subject == (
        "Votre journée : 1 relance prévue aujourd'hui, 1 en retard, 1 terminée, 1 nouveau prospect"
    )
    text = mail.part("plain")
    for expected in ("Envoyer le contrat", "Rappeler ACME", "Relancer la facture", "40 portables"):
        assert expected in text, expected
    for left_out in ("Préparer la démo", "Visite annulée", "Donnée à Ben", "Copieurs"):
        assert left_out not in text, left_out
    late = text[text.index("RELANCES EN RETARD") : text.index("À FAIRE AUJOURD'HUI")]
    assert "Envoyer le contrat" in late and "en retard de 3 heures" in late
    inbox = await h.inbox("ana")
    assert any(n["kind"] == SUMMARY_KIND for n in inbox)
    # Ben never asked for one.
    assert summaries(crm, "ben") == []

    status = await status_where(crm, "ana", lambda s: s.sent == 1)
    assert status.last_day == day and status.skipped == 0
    assert status.next_at == at(day + timedelta(days=1), time(8, 0))
    assert status.last_outcome is not None and "1 due, 1 overdue" in status.last_outcome
    await record_history(crm, daily_summary_workflow_id("ana"), "daily_summary_sent")

    await h.set_daily_summary("ana", at="off")
    for fid in ("F-late", "F-due", "F-next"):
        await h.cancel_followup(fid)
    await h.complete_followup("F-moved")


async def test_an_empty_day_sends_nothing_and_a_new_hour_moves_the_summary(crm: Desk) -> None:
    h = crm.herald
    day = await next_local_day(crm)
    await h.set_daily_summary("ben", at="09:00")

    # Nothing of Ben's: the day passes without a summary, and the status says why.
    await sleep_until(crm, at(day, time(9, 1)))
    status = await status_where(crm, "ben", lambda s: s.skipped == 1)
    assert status.sent == 0 and status.last_day == day
    assert status.last_outcome == f"{day}: nothing to report, not sent"
    assert summaries(crm, "ben") == []

    # A follow-up due tomorrow afternoon; tomorrow's summary moved from 09:00 to 12:00.
    tomorrow = day + timedelta(days=1)
    await h.start_followup("F-ben", title="Démonstration du four", assignee_id="ben",
                           due_at=at(tomorrow, time(15, 0)))  # fmt: skip
    await h.set_daily_summary("ben", at="12:00")
    # Today had its summary (an empty one): the new hour applies from tomorrow, and the
    # timer moves at once (without the signal it would still say 09:00).
    status = await status_where(crm, "ben", lambda s: s.next_at == at(tomorrow, time(12, 0)))
    assert status.at == "12:00" and status.skipped == 1

    await sleep_until(crm, at(tomorrow, time(11, 59)))
    await crm.env.sleep(timedelta(seconds=1))
    assert summaries(crm, "ben") == []
    await sleep_until(crm, at(tomorrow, time(12, 1)))
    key = f"{SUMMARY_KIND}@{tomorrow.isoformat()}"
    await eventually(lambda: (key, "email", "sent") in summaries(crm, "ben"))
    [mail] = [m for m in crm.smtp.handler.to("ben@example.org") if "journée" in m.subject]
    assert mail.subject == "Votre journée : 1 relance prévue aujourd'hui"
    assert "15:00  Démonstration du four" in mail.part("plain")

    # Switched off: the workflow ends, and the next day sends nothing.
    stopped = await h.set_daily_summary("ben", at="off")
    assert stopped.at is None and not stopped.running
    handle = h.client.get_workflow_handle(daily_summary_workflow_id("ben"))

    async def ended() -> bool:
        return (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED

    await eventually(ended)
    final = await handle.query("status", result_type=DailySummaryStatus)
    assert (final.sent, final.skipped, final.at) == (1, 1, None)
    shown = await h.daily_summary("ben")
    assert (shown.at, shown.running, shown.next_at) == (None, False, None)
    await sleep_until(crm, at(tomorrow + timedelta(days=1), time(12, 1)))
    await crm.env.sleep(timedelta(seconds=1))
    assert len([s for s in summaries(crm, "ben") if s[1] == "email"]) == 1
    await record_history(crm, daily_summary_workflow_id("ben"), "daily_summary_moved_stopped")
    await h.cancel_followup("F-ben")


async def test_the_summary_follows_its_person_and_continues_as_new_each_week(crm: Desk) -> None:
    h = crm.herald
    day = await next_local_day(crm)
    await h.set_daily_summary("boss2", at="07:00")
    status = await status_where(crm, "boss2", lambda s: s.next_at is not None)
    assert status.next_at == at(day, time(7, 0))
    first_run = (
        await h.client.get_workflow_handle(daily_summary_workflow_id("boss2")).describe()
    ).run_id

    # Moving to New York moves the next summary to 07:00 there, at once.
    await h.upsert_subscriber("boss2", timezone="America/New_York")
    status = await status_where(crm, "boss2", lambda s: s.timezone == "America/New_York"
                                and s.next_at == at(day, time(7, 0), NEW_YORK))  # fmt: skip

    # A week and a day of empty days: one run per week, the counts carried over.
    await sleep_until(crm, at(day + timedelta(days=8), time(7, 1), NEW_YORK))
    status = await status_where(crm, "boss2", lambda s: s.skipped == 9)
    assert status.sent == 0 and status.last_day == day + timedelta(days=8)
    handle = h.client.get_workflow_handle(daily_summary_workflow_id("boss2"))
    assert (await handle.describe()).run_id != first_run

    # Switched off in the database without a signal (Temporal was unreachable then): at
    # its next hour the summary reads the setting, sends nothing and ends.
    crm_store.set_summary_at(crm.store, "boss2", None)
    await sleep_until(crm, at(day + timedelta(days=9), time(7, 1), NEW_YORK))

    async def ended() -> bool:
        return (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED

    await eventually(ended)
    final = await handle.query("status", result_type=DailySummaryStatus)
    assert (final.at, final.skipped, final.sent) == (None, 9, 0)


async def test_a_bad_setting_is_refused_and_changes_nothing(crm: Desk) -> None:
    h = crm.herald
    with pytest.raises(InvalidInput, match="'25:00' is not a time of day like 08:00"):
        await h.set_daily_summary("ana", at="25:00")
    with pytest.raises(NotFound, match="unknown subscriber 'nobody'"):
        await h.set_daily_summary("nobody", at="08:00")
    with pytest.raises(InvalidInput, match=re.escape("invalid subscriber id 'ana\\n'")):
        await h.set_daily_summary("ana\n", at="08:00")
    shown = await h.daily_summary("ana")
    assert (shown.at, shown.running) == (None, False)
    setting = crm_store.summary_setting(crm.store, "ana")
    assert setting is not None and setting.version is None  # nothing was written
    with pytest.raises(InvalidInput, match="unknown reminder|cannot be switched off"):
        await h.set_preferences("ana", reminders={SUMMARY_KIND: False})

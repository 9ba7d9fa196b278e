"""Quiet hours and digests on the time-skipping server: the planning activity hands notices
to the person's mailbox workflow, which lets them go on durable timers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from herald.contracts import LoanStatus, MailboxStatus, mailbox_workflow_id
from tests.conftest import eventually
from tests.workflows.test_crm_workflow import PARIS, local, sleep_until
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, Desk, record_history

HIGH = {"sms", "in_app"}


def rows(
    desk: Desk, subject_id: str, subscriber: str, kind: str, event: str | None = None
) -> dict[str, str]:
    """channel -> status of the deliveries of ``kind`` to ``subscriber`` (of one CRM event)."""
    return {
        r.channel: r.status
        for r in desk.store.list_deliveries(subject_id=subject_id)
        if r.subscriber_id == subscriber
        and r.kind == kind
        and (event is None or r.workflow_id.endswith(f"/event-{event}"))
    }


async def settled(
    desk: Desk, subject_id: str, subscriber: str, kind: str, event: str
) -> dict[str, str]:
    """Wait until the notice has been planned: every channel decided (and none in flight).
    Polling the log, not waiting on a workflow result, so the test server skips no time."""
    await eventually(
        lambda: (
            (r := rows(desk, subject_id, subscriber, kind, event))
            and "pending" not in r.values()
            and "failed" not in r.values()
        )
    )
    return rows(desk, subject_id, subscriber, kind, event)


async def mailbox_closed(desk: Desk, subscriber: str) -> MailboxStatus:
    """The mailbox ends as soon as it holds nothing: wait for that."""
    handle = desk.herald.client.get_workflow_handle(
        mailbox_workflow_id(subscriber), result_type=MailboxStatus
    )
    return await handle.result()


def at_local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


async def test_quiet_hours_hold_a_notice_until_they_end_urgent_goes_at_once(crm: Desk) -> None:
    h = crm.herald
    await h.set_preferences("ana", quiet_hours="21:00-07:30")
    now = await crm.now()
    # A follow-up due at 22:30 tonight: its urgent overdue alert falls inside the quiet hours.
    await h.start_followup(
        "F-q", title="Relance devis", assignee_id="ana", due_at=local(now, 1, time(22, 30))
    )
    await sleep_until(crm, local(now, 1, time(23, 0)))
    await eventually(lambda: rows(crm, "F-q", "ana", "followup.overdue").get("sms") == "sent")

    # 23:00: a lead assigned to Ana (high) waits for the end of her quiet hours.
    await h.lead_event(
        "LD-q", "assigned", event_id="q1", assignee_id="ana", occurred_at=await crm.now()
    )
    await settled(crm, "LD-q", "ana", "lead.assigned", "q1")
    assert rows(crm, "LD-q", "ana", "lead.assigned") == {
        "sms": "held",
        "in_app": "held",
        "email": "skipped",
        "whatsapp": "skipped",
    }
    box = await h.mailbox("ana")
    assert box is not None and [w.kind for w in box.waiting] == ["lead.assigned"]
    assert box.quiet_until == local(now, 2, time(7, 30))

    await sleep_until(crm, local(now, 2, time(7, 29)))
    await crm.env.sleep(timedelta(seconds=1))
    assert rows(crm, "LD-q", "ana", "lead.assigned")["sms"] == "held"
    await sleep_until(crm, local(now, 2, time(7, 31)))
    await eventually(
        lambda: set(rows(crm, "LD-q", "ana", "lead.assigned").values()) == {"sent", "skipped"}
    )
    done = await mailbox_closed(crm, "ana")
    assert done.released == 1 and not done.waiting
    await record_history(crm, mailbox_workflow_id("ana"), "mailbox_quiet_hours")
    await h.complete_followup("F-q")


async def test_changing_quiet_hours_applies_to_what_waits(crm: Desk) -> None:
    h = crm.herald
    await h.set_preferences("ben", quiet_hours="21:00-07:30")
    now = await crm.now()
    await sleep_until(crm, local(now, 1, time(23, 0)))
    await h.lead_event("LD-c", "assigned", event_id="c1", assignee_id="ben")
    await settled(crm, "LD-c", "ben", "lead.assigned", "c1")
    assert rows(crm, "LD-c", "ben", "lead.assigned")["sms"] == "held"

    # Ben now wakes earlier: the notice goes at 06:00, not 07:30.
    await h.set_preferences("ben", quiet_hours="21:00-06:00")
    await sleep_until(crm, local(now, 2, time(5, 59)))
    await crm.env.sleep(timedelta(seconds=1))
    assert rows(crm, "LD-c", "ben", "lead.assigned")["sms"] == "held"
    await sleep_until(crm, local(now, 2, time(6, 1)))
    await eventually(lambda: rows(crm, "LD-c", "ben", "lead.assigned")["sms"] == "sent")
    await mailbox_closed(crm, "ben")

    # Held again the next night, then quiet hours switched off: it goes at once.
    await sleep_until(crm, local(now, 2, time(22, 0)))
    await h.lead_event("LD-c2", "assigned", event_id="c2", assignee_id="ben")
    await settled(crm, "LD-c2", "ben", "lead.assigned", "c2")
    assert rows(crm, "LD-c2", "ben", "lead.assigned")["sms"] == "held"
    await h.set_preferences("ben", quiet_hours=None)
    await eventually(lambda: rows(crm, "LD-c2", "ben", "lead.assigned")["sms"] == "sent")
    assert (await crm.now()) < local(now, 2, time(22, 1))
    await mailbox_closed(crm, "ben")


async def test_a_held_reminder_is_dropped_when_the_loan_is_returned_meanwhile(crm: Desk) -> None:
    h = crm.herald
    # Quiet hours that end before the loan is due: the reminder is not too late, only moot.
    await h.set_preferences("camille", quiet_hours="21:00-23:00")
    now = await crm.now()
    due = local(now, 1, time(23, 50))  # a short loan: one reminder, 2 hours before (21:50)
    await h.start_loan("L-q", borrower_id="camille", item="Perceuse", due_at=due, borrowed_at=now)
    await sleep_until(crm, due - timedelta(hours=1, minutes=50))
    await eventually(lambda: rows(crm, "L-q", "camille", "loan.reminder_2h").get("email") == "held")

    status = await h.return_loan("L-q")
    assert isinstance(status, LoanStatus)
    await sleep_until(crm, local(now, 1, time(23, 1)))
    await eventually(lambda: rows(crm, "L-q", "camille", "loan.returned").get("email") == "sent")
    reminder = [
        r
        for r in crm.store.list_deliveries(subject_id="L-q")
        if r.kind == "loan.reminder_2h" and r.channel == "email"
    ][0]
    assert reminder.status == "skipped" and reminder.sent_at is None
    assert reminder.error == "loan L-q was closed while the notice waited"
    done = await mailbox_closed(crm, "camille")
    assert done.released == 2 and done.dropped == 0


async def test_a_2h_reminder_held_past_the_due_time_is_dropped_not_sent_at_the_end_of_quiet_hours(
    crm: Desk,
) -> None:
    h = crm.herald
    await h.set_preferences("camille", quiet_hours="21:00-07:30")
    now = await crm.now()
    await sleep_until(crm, local(now, 1, time(12, 0)))
    due = local(now, 1, time(23, 50))  # a short loan: one reminder, at 21:50, in quiet hours
    await h.start_loan(
        "L-late", borrower_id="camille", item="Perceuse", due_at=due, borrowed_at=await crm.now()
    )
    await eventually(lambda: rows(crm, "L-late", "camille", "loan.created").get("email") == "sent")
    await sleep_until(crm, local(now, 1, time(22, 0)))
    await eventually(
        lambda: rows(crm, "L-late", "camille", "loan.reminder_2h").get("email") == "held"
    )
    # 00:05: the first overdue alert is urgent and goes at once, quiet hours or not.
    await sleep_until(crm, due + timedelta(minutes=16))
    await eventually(lambda: rows(crm, "L-late", "camille", "loan.overdue").get("email") == "sent")
    box = await h.mailbox("camille")
    assert box is not None and [w.kind for w in box.waiting] == ["loan.reminder_2h"]
    before = len(crm.smtp.handler.to(BORROWER_EMAIL))

    # 07:30: the quiet hours end after the due time the reminder announces: dropped.
    await sleep_until(crm, local(now, 2, time(7, 31)))
    done = await mailbox_closed(crm, "camille")
    assert done.dropped == 1 and done.released == 0
    reminder = rows(crm, "L-late", "camille", "loan.reminder_2h")
    assert reminder["email"] == "skipped"
    assert "held" not in reminder.values() and "sent" not in reminder.values()
    row = next(
        r
        for r in crm.store.list_deliveries(subject_id="L-late")
        if r.kind == "loan.reminder_2h" and r.channel == "email"
    )
    assert row.sent_at is None
    assert row.error is not None and row.error.startswith("too late: loan.reminder_2h")
    assert len(crm.smtp.handler.to(BORROWER_EMAIL)) == before  # nothing went out at 07:30
    await record_history(crm, mailbox_workflow_id("camille"), "mailbox_too_late_quiet_hours")
    await h.return_loan("L-late")


async def test_daily_digest_at_the_chosen_hour_across_the_october_dst_change(crm: Desk) -> None:
    h = crm.herald
    await h.set_preferences("ben", digest="daily", digest_at="08:00")
    # Saturday 30 October 2027; clocks go back from 03:00 to 02:00 on Sunday morning.
    saturday = date(2027, 10, 30)
    await sleep_until(crm, at_local(saturday, time(9, 0)))
    await h.user_event("ben", "role_changed", event_id="d1", role="manager")
    await settled(crm, "ben", "ben", "user.role_changed", "d1")
    await sleep_until(crm, at_local(saturday, time(20, 0)))
    await h.user_event("ben", "welcome", event_id="d2")
    await settled(crm, "ben", "ben", "user.welcome", "d2")
    # High priority does not wait for the digest.
    await h.user_event("ben", "deactivated", event_id="d3")
    await settled(crm, "ben", "ben", "user.deactivated", "d3")
    assert set(rows(crm, "ben", "ben", "user.deactivated").values()) >= {"sent"}
    assert rows(crm, "ben", "ben", "user.welcome")["email"] == "held"
    box = await h.mailbox("ben")
    assert box is not None and len(box.collected) == 2
    # 08:00 on Sunday is 07:00 UTC after the change (06:00 UTC the day before).
    assert box.next_digest_at == datetime(2027, 10, 31, 7, 0, tzinfo=UTC)

    before = len(crm.smtp.handler.to("ben@example.org"))
    await sleep_until(crm, datetime(2027, 10, 31, 6, 30, tzinfo=UTC))
    await crm.env.sleep(timedelta(seconds=1))
    assert len(crm.smtp.handler.to("ben@example.org")) == before
    await sleep_until(crm, datetime(2027, 10, 31, 7, 1, tzinfo=UTC))
    await eventually(lambda: len(crm.smtp.handler.to("ben@example.org")) == before + 1)
    digest = crm.smtp.handler.to("ben@example.org")[-1]
    assert digest.subject == "Votre résumé du jour : 2 notifications"
    assert "manager" in digest.part("plain")
    assert rows(crm, "ben", "ben", "user.welcome")["email"] == "digested"
    assert rows(crm, "ben", "ben", "user.role_changed")["in_app"] == "digested"
    inbox = await h.inbox("ben")
    assert inbox[0]["kind"] == "digest.daily"
    done = await mailbox_closed(crm, "ben")
    assert done.digests_sent == 1
    await record_history(crm, mailbox_workflow_id("ben"), "mailbox_daily_digest")
    await h.set_preferences("ben", digest="off")


async def test_weekly_digest_and_leaving_digest_mode(crm: Desk) -> None:
    h = crm.herald
    await h.set_preferences("ana", digest="weekly", digest_weekday="friday", digest_at="17:00")
    now = await crm.now()
    today = now.astimezone(PARIS).date()
    monday = today + timedelta(days=7 - today.weekday())
    friday = monday + timedelta(days=4)
    await sleep_until(crm, at_local(monday, time(10, 0)))
    await h.user_event("ana", "role_changed", event_id="w1", role="lead")
    await settled(crm, "ana", "ana", "user.role_changed", "w1")
    await sleep_until(crm, at_local(monday + timedelta(days=2), time(15, 0)))
    await h.user_event("ana", "activated", event_id="w2")
    await settled(crm, "ana", "ana", "user.activated", "w2")
    box = await h.mailbox("ana")
    assert box is not None and box.next_digest_at == at_local(friday, time(17, 0))

    before = len(crm.smtp.handler.to("ana@example.org"))
    await sleep_until(crm, at_local(friday, time(16, 59)))
    await crm.env.sleep(timedelta(seconds=1))
    assert len(crm.smtp.handler.to("ana@example.org")) == before
    await sleep_until(crm, at_local(friday, time(17, 1)))
    await eventually(lambda: len(crm.smtp.handler.to("ana@example.org")) == before + 1)
    assert crm.smtp.handler.to("ana@example.org")[-1].subject.startswith(
        "Votre résumé de la semaine"
    )
    await mailbox_closed(crm, "ana")

    # Two more collected, then Ana leaves digest mode: they go at once, as one digest.
    await h.user_event("ana", "welcome", event_id="w3")
    await settled(crm, "ana", "ana", "user.welcome", "w3")
    await h.user_event("ana", "role_changed", event_id="w4", role="manager")
    await settled(crm, "ana", "ana", "user.role_changed", "w4")
    assert rows(crm, "ana", "ana", "user.welcome")["email"] == "held"
    await h.set_preferences("ana", digest="off")
    await eventually(lambda: len(crm.smtp.handler.to("ana@example.org")) == before + 2)
    assert "2 notifications" in crm.smtp.handler.to("ana@example.org")[-1].subject
    done = await mailbox_closed(crm, "ana")
    assert done.digests_sent == 1  # this run of the mailbox: the flush
    # Out of digest mode, a medium notice goes at once.
    await h.user_event("ana", "activated", event_id="w5")
    await settled(crm, "ana", "ana", "user.activated", "w5")
    assert rows(crm, "ana", "ana", "user.activated")["email"] == "sent"


def next_monday(now: datetime) -> date:
    today = now.astimezone(PARIS).date()
    return today + timedelta(days=7 - today.weekday())


async def test_weekly_digest_drops_a_j2_whose_due_time_passed_the_confirmation_is_not_digested(
    crm: Desk,
) -> None:
    h = crm.herald
    await h.set_preferences("camille", digest="weekly", digest_weekday="friday", digest_at="17:00")
    monday = next_monday(await crm.now())
    thursday, friday = monday + timedelta(days=3), monday + timedelta(days=4)
    await sleep_until(crm, at_local(monday, time(10, 0)))
    # A long loan due Thursday noon: J-2 (medium) on Tuesday at 08:00, collected for Friday.
    await h.start_loan(
        "L-w",
        borrower_id="camille",
        item="Projecteur",
        due_at=at_local(thursday, time(12, 0)),
        borrowed_at=await crm.now(),
    )
    # The confirmation is medium too, yet goes at once: it never waits for a digest.
    await eventually(lambda: rows(crm, "L-w", "camille", "loan.created").get("email") == "sent")
    await sleep_until(crm, at_local(monday + timedelta(days=1), time(9, 0)))
    await eventually(lambda: rows(crm, "L-w", "camille", "loan.reminder_j2").get("email") == "held")
    await h.user_event("camille", "role_changed", event_id="cw1", role="manager")
    await settled(crm, "camille", "camille", "user.role_changed", "cw1")
    box = await h.mailbox("camille")
    assert box is not None
    assert [w.kind for w in box.collected] == ["loan.reminder_j2", "user.role_changed"]

    before = len(crm.smtp.handler.to(BORROWER_EMAIL))
    await sleep_until(crm, at_local(friday, time(17, 1)))
    done = await mailbox_closed(crm, "camille")
    assert done.digests_sent == 1 and done.dropped == 1
    mails = crm.smtp.handler.to(BORROWER_EMAIL)[before:]
    digest = next(m for m in mails if m.subject.startswith("Votre résumé de la semaine"))
    assert "1 notification" in digest.subject
    assert "manager" in digest.part("plain")
    assert "Projecteur" not in digest.part("plain")
    assert rows(crm, "camille", "camille", "user.role_changed")["email"] == "digested"
    j2 = rows(crm, "L-w", "camille", "loan.reminder_j2")
    assert j2["email"] == "skipped" and "digested" not in j2.values()
    await record_history(crm, mailbox_workflow_id("camille"), "mailbox_weekly_too_late")
    await h.return_loan("L-w")
    await h.set_preferences("camille", digest="off")


async def test_a_digest_whose_every_notice_came_too_late_is_not_sent(crm: Desk) -> None:
    h = crm.herald
    await h.set_preferences("camille", digest="weekly", digest_weekday="friday", digest_at="17:00")
    monday = next_monday(await crm.now())
    thursday, friday = monday + timedelta(days=3), monday + timedelta(days=4)
    await sleep_until(crm, at_local(monday, time(10, 0)))
    await h.start_loan(
        "L-w2",
        borrower_id="camille",
        item="Projecteur",
        due_at=at_local(thursday, time(12, 0)),
        borrowed_at=await crm.now(),
    )
    await sleep_until(crm, at_local(monday + timedelta(days=1), time(9, 0)))
    await eventually(
        lambda: rows(crm, "L-w2", "camille", "loan.reminder_j2").get("email") == "held"
    )
    before = len(crm.smtp.handler.to(BORROWER_EMAIL))
    inbox_before = len(await h.inbox("camille"))

    await sleep_until(crm, at_local(friday, time(17, 1)))
    done = await mailbox_closed(crm, "camille")
    assert done.digests_sent == 0 and done.dropped == 1
    mails = crm.smtp.handler.to(BORROWER_EMAIL)[before:]
    assert not [m for m in mails if "résumé" in m.subject]
    assert all(n["kind"] != "digest.weekly" for n in await h.inbox("camille"))
    assert len(await h.inbox("camille")) >= inbox_before
    assert set(rows(crm, "L-w2", "camille", "loan.reminder_j2").values()) <= {"skipped"}
    assert not [r for r in crm.store.list_deliveries() if r.kind == "digest.weekly"]
    await h.return_loan("L-w2")
    await h.set_preferences("camille", digest="off")


async def test_a_confirmation_waits_out_quiet_hours_then_goes_out_not_into_the_digest(
    crm: Desk,
) -> None:
    h = crm.herald
    await h.set_preferences("camille", quiet_hours="21:00-07:30", digest="daily", digest_at="08:00")
    now = await crm.now()
    await sleep_until(crm, local(now, 1, time(22, 0)))
    await h.start_loan(
        "L-c",
        borrower_id="camille",
        item="Perceuse",
        due_at=local(now, 6, time(14, 0)),
        borrowed_at=await crm.now(),
    )
    await eventually(lambda: rows(crm, "L-c", "camille", "loan.created").get("email") == "held")
    box = await h.mailbox("camille")
    assert box is not None
    assert [w.kind for w in box.waiting] == ["loan.created"] and not box.collected

    await sleep_until(crm, local(now, 2, time(7, 29)))
    await crm.env.sleep(timedelta(seconds=1))
    assert rows(crm, "L-c", "camille", "loan.created")["email"] == "held"
    await sleep_until(crm, local(now, 2, time(7, 31)))
    await eventually(lambda: rows(crm, "L-c", "camille", "loan.created").get("email") == "sent")
    done = await mailbox_closed(crm, "camille")
    assert done.released == 1 and done.digests_sent == 0
    assert "digested" not in rows(crm, "L-c", "camille", "loan.created").values()
    confirmation = crm.smtp.handler.to(BORROWER_EMAIL)[-1]
    assert "Perceuse" in confirmation.part("plain") and "résumé" not in confirmation.subject
    await record_history(crm, mailbox_workflow_id("camille"), "mailbox_confirmation_quiet_hours")

    # The thank-you, low priority, goes at once out of quiet hours, digest mode or not.
    await sleep_until(crm, local(now, 2, time(12, 0)))
    await h.return_loan("L-c")
    await eventually(lambda: rows(crm, "L-c", "camille", "loan.returned").get("email") == "sent")
    await h.set_preferences("camille", quiet_hours=None, digest="off")

"""The loan workflow on the time-skipping server, with the real delivery activities, a real
SMTP server (aiosmtpd) and an SQLite database: days pass in seconds."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from herald.contracts import LoanState, LoanStatus
from herald.errors import Conflict, InvalidInput
from herald.search_attributes import DUE_AT, NEXT_REMINDER_AT
from herald.settings import Settings
from herald.store import Store, migrate
from herald.temporal import data_converter
from starter.client import Herald, loan_workflow_id
from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from worker import running_workers

PARIS = ZoneInfo("Europe/Paris")
HISTORIES = Path(__file__).parent.parent / "histories"
BORROWER_EMAIL = "camille@example.org"
MANAGER_EMAIL = "sam@example.com"


@dataclass
class Desk:
    env: WorkflowEnvironment
    herald: Herald
    store: Store
    smtp: SmtpServer

    async def now(self) -> datetime:
        return (await self.env.get_current_time()).astimezone(UTC)

    def rows(self, loan_id: str) -> list[dict[str, Any]]:
        from herald.store import delivery_as_dict

        return [delivery_as_dict(r) for r in self.store.list_deliveries(subject_id=loan_id)]

    def sent(self, loan_id: str, role: str = "borrower") -> list[str]:
        return [
            r["notification_id"].split("@")[0]
            for r in self.rows(loan_id)
            if r["status"] == "sent" and r["role"] == role and r["channel"] == "email"
        ]

    async def status(self, loan_id: str) -> LoanStatus:
        return await self.herald.loan_status(loan_id)

    async def cancel(self, loan_id: str) -> LoanStatus:
        """Cancel and wait until the workflow has closed: a loan left running with timers
        would stall the time-skipping server for every later test."""
        await self.herald.cancel_loan(loan_id)
        handle = self.herald.client.get_workflow_handle(
            loan_workflow_id(loan_id), result_type=LoanStatus
        )
        return await handle.result()


@asynccontextmanager
async def open_desk(
    env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Desk]:
    """A loan desk: settings (SMTP by default), a migrated SQLite store, two people and the
    workers running against the time-skipping server."""
    settings = Settings(
        **{
            "task_queue": f"loans-{uuid.uuid4().hex[:8]}",
            "database_url": f"sqlite:///{tmp_path / 'herald.db'}",
            "email_provider": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_starttls": False,
            "email_from": "Prêts <prets@example.org>",
            **overrides,
        }
    )
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    client = env.client
    if settings.encryption_keys is not None:
        # Same server, same time skipping; payloads sealed with the desk's keys.
        client = Client(**{**env.client.config(), "data_converter": data_converter(settings)})
    herald = Herald(client, store, settings)
    await herald.upsert_subscriber(
        "camille", name="Camille Martin", email=BORROWER_EMAIL, locale="fr", timezone="Europe/Paris"
    )
    await herald.upsert_subscriber(
        "sam", name="Sam Lee", email=MANAGER_EMAIL, locale="en", timezone="America/New_York"
    )
    async with running_workers(client, settings, store):
        yield Desk(env, herald, store, smtp)
    store.close()


def local_afternoon(now: datetime, days: int) -> datetime:
    """14:00 in Paris, ``days`` calendar days after ``now``: clear of the 08:00 reminders."""
    day = now.astimezone(PARIS).date() + timedelta(days=days)
    return datetime.combine(day, time(14, 0), tzinfo=PARIS).astimezone(UTC)


async def start(desk: Desk, loan_id: str, due_in: timedelta | int, **kw: Any) -> datetime:
    """Start a loan due ``due_in`` from now, or at 14:00 Paris ``due_in`` days from now."""
    now = await desk.now()
    due = local_afternoon(now, due_in) if isinstance(due_in, int) else now + due_in
    await desk.herald.start_loan(
        loan_id, borrower_id="camille", item="Perceuse Bosch", due_at=due, borrowed_at=now, **kw
    )
    return due


async def test_long_loan_full_life(desk: Desk) -> None:
    """J-2, J-1, due day, three overdue alerts (manager copied from the 2nd), then return."""
    due = await start(desk, "L-full", 5, manager_id="sam")
    await eventually(lambda: desk.sent("L-full") == ["loan.created"])

    await desk.env.sleep(due - await desk.now() + timedelta(days=3, hours=12))
    await eventually(lambda: len(desk.sent("L-full")) == 7)
    assert desk.sent("L-full") == [
        "loan.created",
        "loan.reminder_j2",
        "loan.reminder_j1",
        "loan.due_today",
        "loan.overdue",
        "loan.overdue#2",
        "loan.overdue#3",
    ]
    await eventually(lambda: len(desk.sent("L-full", role="manager")) == 2)
    assert desk.sent("L-full", role="manager") == ["loan.overdue#2", "loan.overdue#3"]
    status = await desk.status("L-full")
    assert status.state is LoanState.OVERDUE
    assert status.next_reminder is None

    # Each reminder was scheduled at 08:00 in the borrower's zone, the first alert 15 min late.
    rows = {
        r["notification_id"].split("@")[0]: r
        for r in desk.rows("L-full")
        if r["role"] == "borrower"
    }
    for kind in ("loan.reminder_j2", "loan.reminder_j1", "loan.due_today", "loan.overdue#2"):
        local = datetime.fromisoformat(rows[kind]["scheduled_at"]).astimezone(PARIS)
        assert (local.hour, local.minute) == (8, 0), kind
    assert datetime.fromisoformat(rows["loan.overdue"]["scheduled_at"]) == due + timedelta(
        minutes=15
    )

    # The manager's copy is their own message, in their own language.
    manager_mail = desk.smtp.handler.to(MANAGER_EMAIL)
    assert len(manager_mail) == 2
    assert "Camille Martin" in manager_mail[0].part("plain")
    borrower_overdue = [
        m for m in desk.smtp.handler.to(BORROWER_EMAIL) if "RETARD" in m.subject.upper()
    ]
    assert borrower_overdue and manager_mail[0].subject != borrower_overdue[0].subject
    assert "overdue" in manager_mail[0].subject.lower()

    final = await desk.herald.return_loan("L-full")
    assert final is not None and final.state is LoanState.RETURNED
    assert final.late_by_seconds and final.late_by_seconds > 3 * 86400
    # The answer has every notification, the thank-you last, though history keeps them once.
    assert [n.kind for n in final.notifications][:2] == ["loan.created", "loan.reminder_j2"]
    assert final.notifications[-1].kind == "loan.returned"
    assert final.notifications[-1].channels["email"] == "sent"
    await eventually(lambda: desk.sent("L-full")[-1] == "loan.returned")
    thanks = desk.smtp.handler.to(BORROWER_EMAIL)[-1]
    assert "retard" in thanks.part("plain")
    # Multipart: HTML and text alternatives, both in French.
    assert thanks.message.get_content_type() == "multipart/alternative"
    assert "<html" in thanks.part("html")

    events = await record_history(desk, loan_workflow_id("L-full"), "loan_full_life")
    print(f"\nfull loan life history: {events} events")
    assert events < 400


async def record_history(desk: Desk, workflow_id: str, name: str) -> int:
    """The history's length; with HERALD_RECORD_HISTORIES=1 also saved for the replay test."""
    handle = desk.herald.client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    # HERALD_RECORD_HISTORIES=1 writes NAME.json; any other value is a suffix (NAME.v2.json),
    # so histories of earlier code stay beside the new ones.
    tag = os.environ.get("HERALD_RECORD_HISTORIES")
    if tag:
        HISTORIES.mkdir(exist_ok=True)
        filename = f"{name}.json" if tag == "1" else f"{name}.{tag}.json"
        recorded = {"workflowId": workflow_id, **json.loads(history.to_json())}
        (HISTORIES / filename).write_text(json.dumps(recorded, indent=1))
    return len(history.events)


async def test_return_before_first_reminder_stops_everything(desk: Desk) -> None:
    await start(desk, "L-early", 6)
    await eventually(lambda: desk.sent("L-early") == ["loan.created"])
    final = await desk.herald.return_loan("L-early")
    assert final is not None
    assert final.state is LoanState.RETURNED and final.late_by_seconds is None
    await desk.env.sleep(timedelta(days=10))
    assert desk.sent("L-early") == ["loan.created", "loan.returned"]
    thanks = desk.smtp.handler.to(BORROWER_EMAIL)[-1]
    await record_history(desk, loan_workflow_id("L-early"), "loan_returned_early")
    assert "à temps" in thanks.part("plain")
    assert "de retard" not in thanks.part("plain")


async def test_extension_after_j2_replans_without_resending(desk: Desk) -> None:
    due = await start(desk, "L-ext", 5)
    # Sleep past J-2 (08:00 local two days before) but not to J-1.
    j1 = datetime.combine(due.astimezone(PARIS).date() - timedelta(days=1), time(8), tzinfo=PARIS)
    await desk.env.sleep(j1 - await desk.now() - timedelta(hours=2))
    await eventually(lambda: desk.sent("L-ext") == ["loan.created", "loan.reminder_j2"])

    new_due = due + timedelta(days=4)
    status = await desk.herald.extend_loan("L-ext", due_at=new_due)
    assert status.due_at == new_due and status.extensions == 1
    assert status.next_reminder is not None and status.next_reminder.kind == "loan.reminder_j2"

    await desk.env.sleep(new_due - await desk.now() - timedelta(hours=1))
    await eventually(lambda: len(desk.sent("L-ext")) == 5)
    sent_ids = [
        r["notification_id"]
        for r in desk.rows("L-ext")
        if r["status"] == "sent" and r["channel"] == "email"
    ]
    # The first J-2 belongs to the old due date; the new date has its own J-2, J-1, due day.
    assert [i.split("@")[0] for i in sent_ids] == [
        "loan.created",
        "loan.reminder_j2",
        "loan.reminder_j2",
        "loan.reminder_j1",
        "loan.due_today",
    ]
    assert len(set(sent_ids)) == len(sent_ids)
    # The old J-1 and due-day points never went out.
    old_key = f"{due:%Y%m%dT%H%M%SZ}"
    assert not any(old_key in i for i in sent_ids[2:])

    # The same extension again (a retried hand-off) answers the loan as it is.
    again = await desk.herald.extend_loan("L-ext", due_at=new_due)
    assert again.due_at == new_due and again.extensions == 1
    # An extension must be later and in the future.
    with pytest.raises(Conflict, match="not later"):
        await desk.herald.extend_loan("L-ext", due_at=new_due - timedelta(hours=1))
    await desk.herald.cancel_loan("L-ext")
    await desk.herald.client.get_workflow_handle(loan_workflow_id("L-ext")).result()
    await record_history(desk, loan_workflow_id("L-ext"), "loan_extended_cancelled")


async def test_duplicate_start_sends_nothing_twice(desk: Desk) -> None:
    now = await desk.now()
    due = now + timedelta(days=1, hours=12)
    first = await desk.herald.start_loan(
        "L-dup", borrower_id="camille", item="Visseuse", due_at=due, borrowed_at=now
    )
    second = await desk.herald.start_loan(
        "L-dup", borrower_id="camille", item="Visseuse", due_at=due, borrowed_at=now
    )
    assert first.created and not second.created
    assert first.run_id == second.run_id
    await eventually(lambda: desk.sent("L-dup") == ["loan.created"])
    await desk.herald.cancel_loan("L-dup")
    status = await desk.herald.client.get_workflow_handle(
        loan_workflow_id("L-dup"), result_type=LoanStatus
    ).result()
    assert status.state is LoanState.CANCELLED
    assert (
        len([m for m in desk.smtp.handler.to(BORROWER_EMAIL) if "Visseuse" in m.part("plain")]) == 1
    )


async def test_preferences_are_read_when_each_notice_is_due(desk: Desk) -> None:
    await desk.herald.upsert_subscriber(
        "noa", name="Noa", email="noa@example.org", phone="+33612345678"
    )
    now = await desk.now()
    due = local_afternoon(now, 5)
    await desk.herald.start_loan(
        "L-prefs", borrower_id="noa", item="Laser", due_at=due, borrowed_at=now
    )
    await eventually(lambda: desk.sent("L-prefs") == ["loan.created"])
    # Switched off after the start: J-2 is skipped with its reason, J-1 is not.
    await desk.herald.set_preferences("noa", reminders={"loan.reminder_j2": False})
    await desk.env.sleep(due - now - timedelta(hours=12))
    await eventually(lambda: "loan.reminder_j1" in desk.sent("L-prefs"))
    j2 = [r for r in desk.rows("L-prefs") if r["kind"] == "loan.reminder_j2"]
    assert {r["status"] for r in j2} == {"skipped"}
    assert any("loan.reminder_j2 switched off" in (r["error"] or "") for r in j2)
    # SMS is off by default: logged as skipped, with the reason.
    sms = [r for r in desk.rows("L-prefs") if r["channel"] == "sms"]
    assert sms and all(r["status"] == "skipped" for r in sms)

    # E-mail off too: the mandatory return notice still reaches a channel the person has.
    await desk.herald.set_preferences("noa", email=False)
    await desk.herald.return_loan("L-prefs")
    returned = [r for r in desk.rows("L-prefs") if r["kind"] == "loan.returned"]
    by_channel = {r["channel"]: r for r in returned}
    assert by_channel["email"]["status"] == "sent"
    assert by_channel["sms"]["status"] == "skipped"
    assert by_channel["sms"]["error"] == "no sms provider configured"


async def test_permanent_smtp_refusal_does_not_stop_later_reminders(desk: Desk) -> None:
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    due = await start(desk, "L-550", timedelta(hours=30))
    row = await eventually(
        lambda: [
            r
            for r in desk.rows("L-550")
            if r["kind"] == "loan.created"
            and r["channel"] == "email"
            and r["status"] == "permanently_failed"
        ]
    )
    assert row[0]["attempts"] == 1
    assert "550 5.1.1 Mailbox unavailable" in row[0]["error"]
    # The row is settled by the activity, the workflow's record when its result arrives.
    for _ in range(200):
        status = await desk.status("L-550")
        if status.notifications[0].channels["email"] != "pending":
            break
        await asyncio.sleep(0.1)
    assert status.notifications[0].channels["email"] == "permanently_failed"
    # The next reminder (moyen terme: J-1 08:00 local, then 2 h before) still goes out.
    await desk.env.sleep(due - await desk.now() - timedelta(hours=1))
    await eventually(lambda: "loan.reminder_2h" in desk.sent("L-550"))
    assert desk.smtp.handler.rcpt_attempts[BORROWER_EMAIL] >= 2
    await desk.cancel("L-550")


async def test_transient_smtp_failure_is_retried_until_it_succeeds(desk: Desk) -> None:
    desk.smtp.handler.refuse(BORROWER_EMAIL, "451 4.3.0 Try again later", times=2)
    await start(desk, "L-451", timedelta(hours=10))
    await eventually(lambda: desk.smtp.handler.rcpt_attempts.get(BORROWER_EMAIL, 0) >= 1)
    # The retry backoff (5 s, then 10 s) passes on the skipped clock.
    await desk.env.sleep(timedelta(minutes=1))
    rows = await eventually(
        lambda: [
            r for r in desk.rows("L-451") if r["kind"] == "loan.created" and r["status"] == "sent"
        ]
    )
    assert rows[0]["attempts"] == 3
    assert rows[0]["error"] is None
    assert desk.smtp.handler.rcpt_attempts[BORROWER_EMAIL] == 3
    assert len(desk.smtp.handler.to(BORROWER_EMAIL)) == 1
    await desk.cancel("L-451")


async def test_invalid_input_starts_nothing(desk: Desk) -> None:
    now = await desk.now()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"due_at": datetime(2030, 1, 1, 10, 0)}, "no time zone"),
        ({"due_at": datetime.now(UTC) - timedelta(days=1)}, "in the past"),
        ({"due_at": datetime(9999, 12, 31, tzinfo=UTC)}, "within 5 years"),
        ({"due_at": now + timedelta(days=2), "borrowed_at": now + timedelta(days=3)}, "not after"),
        ({"due_at": now + timedelta(days=2), "borrower_id": "nobody"}, "unknown borrower"),
        ({"due_at": now + timedelta(days=2), "manager_id": "ghost"}, "unknown manager"),
        ({"due_at": now + timedelta(days=2), "item": "  "}, "item"),
    ]
    for overrides, message in cases:
        kw: dict[str, Any] = {"borrower_id": "camille", "item": "Scie", **overrides}
        with pytest.raises(InvalidInput, match=message):
            await desk.herald.start_loan("L-bad", **kw)
    await desk.herald.upsert_subscriber("mute", name="No contact")
    with pytest.raises(InvalidInput, match="no e-mail, phone"):
        await desk.herald.start_loan(
            "L-bad", borrower_id="mute", item="Scie", due_at=now + timedelta(days=2)
        )
    with pytest.raises(Exception, match="(?i)not found|no loan"):
        await desk.herald.loan_status("L-bad")
    assert desk.rows("L-bad") == []


async def test_points_already_past_when_planned_are_skipped_not_sent(desk: Desk) -> None:
    """A long loan registered late (borrowed 4 days ago, due tomorrow): its J-2 is already past
    when planned, so it shows in the status as skipped and is never sent."""
    now = await desk.now()
    due = local_afternoon(now, 1)
    await desk.herald.start_loan(
        "L-late-reg",
        borrower_id="camille",
        item="Scie",
        due_at=due,
        borrowed_at=now - timedelta(days=4),
    )
    await eventually(lambda: desk.sent("L-late-reg") == ["loan.created"])
    status = await desk.status("L-late-reg")
    assert status.loan_class == "long terme"
    j2 = [n for n in status.notifications if n.kind == "loan.reminder_j2"]
    assert (
        len(j2) == 1
        and j2[0].skipped_reason == "already past when planned"
        and j2[0].fired_at is None
    )
    assert status.next_reminder is not None and status.next_reminder.kind != "loan.reminder_j2"
    await desk.env.sleep(due - await desk.now() - timedelta(minutes=30))
    await eventually(lambda: "loan.due_today" in desk.sent("L-late-reg"))
    assert "loan.reminder_j2" not in desk.sent("L-late-reg")
    assert not [r for r in desk.rows("L-late-reg") if r["kind"] == "loan.reminder_j2"]
    await desk.cancel("L-late-reg")


async def test_encrypted_payloads_keep_personal_data_out_of_temporal(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> None:
    """With keys set, the loan runs as usual, yet its history holds no name, address or
    item in clear; search attributes hold opaque ids only."""
    from pydantic import SecretStr

    from herald.codec import new_key

    async with open_desk(
        ts_env, smtp, tmp_path, encryption_keys=SecretStr(f"k1:{new_key()}")
    ) as desk:
        await start(desk, "L-sealed", 5, manager_id="sam")
        await eventually(lambda: desk.sent("L-sealed") == ["loan.created"])
        assert "Perceuse Bosch" in desk.smtp.handler.to(BORROWER_EMAIL)[0].part("plain")
        status = await desk.status("L-sealed")  # the query decodes with the keys
        assert status.item == "Perceuse Bosch"
        # Read raw, the way a client or UI without the keys sees it.
        raw = await ts_env.client.get_workflow_handle(loan_workflow_id("L-sealed")).fetch_history()
        text = raw.to_json()
        for secret in (BORROWER_EMAIL, "Camille", "Perceuse", "Europe/Paris"):
            assert secret not in text
        assert base64.b64encode(b"binary/encrypted").decode() in text
        for event in raw.events:
            if event.HasField("upsert_workflow_search_attributes_event_attributes"):
                fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
                for payload in fields.values():
                    assert b"@" not in payload.data and b"+33" not in payload.data
        await desk.cancel("L-sealed")


async def next_reminder_upserts(desk: Desk, workflow_id: str) -> tuple[object, int]:
    """The loan's NextReminderAt now, and how many upserts in its history set it."""
    handle = desk.herald.client.get_workflow_handle(workflow_id)
    described = await handle.describe()
    history = await handle.fetch_history()
    upserts = [
        e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    return (
        described.typed_search_attributes.get(NEXT_REMINDER_AT),
        sum("NextReminderAt" in fields for fields in upserts),
    )


@pytest.mark.parametrize("tracked", [True, False])
async def test_next_reminder_attribute_follows_the_setting(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path, tracked: bool
) -> None:
    """On by default: NextReminderAt moves with the plan. Off: never upserted, while the
    reminders and the other attributes are the same."""
    loan_id = f"L-sa-{tracked}"
    async with open_desk(ts_env, smtp, tmp_path, next_reminder_attribute=tracked) as desk:
        due = await start(desk, loan_id, 3)
        await eventually(lambda: desk.sent(loan_id) == ["loan.created"])
        status = await desk.herald.loan_status(loan_id)
        assert status.next_reminder is not None
        wid = loan_workflow_id(loan_id)

        handle = desk.herald.client.get_workflow_handle(wid)

        async def sleeping() -> bool:
            # The J-2 timer is set right after the status and attributes are published.
            history = await handle.fetch_history()
            return any(e.HasField("timer_started_event_attributes") for e in history.events)

        await eventually(sleeping)
        value, count = await next_reminder_upserts(desk, wid)
        if tracked:
            assert value == status.next_reminder.at and count == 1
        else:
            assert (value, count) == (None, 0)
        described = await handle.describe()
        assert described.typed_search_attributes.get(DUE_AT) == due
        await desk.cancel(loan_id)

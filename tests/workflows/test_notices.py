"""Ad-hoc notices on the time-skipping server: a title and a message without a template, at
once or at a later time (a durable timer, cancellable until it fires), and a dry run that
answers who would get what on which channel and sends nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from herald.contracts import NotifyResult
from herald.errors import Conflict, InvalidInput, NotFound
from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import (
    BORROWER_EMAIL,
    MANAGER_EMAIL,
    Desk,
    open_desk,
    record_history,
)


@pytest.fixture
async def office(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env, smtp, tmp_path, sms_provider="outbox", outbox_dir=tmp_path / "outbox"
    ) as desk:
        await desk.herald.create_group("tech")
        await desk.herald.add_to_group("tech", ["sam"])
        yield desk


async def result_of(desk: Desk, request_id: str) -> NotifyResult:
    handle = desk.herald.client.get_workflow_handle(
        f"notify-{request_id}", result_type=NotifyResult
    )
    return await handle.result()


async def test_a_title_and_a_message_go_out_without_a_template(office: Desk) -> None:
    h = office.herald
    request_id, result = await h.create_notice(
        "Maintenance ce soir",
        "Le serveur redémarre à 22 h.\nMerci d'enregistrer votre travail.",
        user_ids=["camille"],
        group_names=["tech"],
        data={"invoice_id": 42},
        link="https://status.example.org",
        request_id="maint-1",
        wait=True,
    )
    assert request_id == "maint-1"
    assert result is not None and result.recipients == 2 and not result.cancelled
    (mail,) = office.smtp.handler.to(BORROWER_EMAIL)
    assert mail.subject == "Maintenance ce soir"
    text = mail.message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "Le serveur redémarre à 22 h.\nMerci d'enregistrer votre travail." in text
    assert "https://status.example.org" in text
    assert len(office.smtp.handler.to(MANAGER_EMAIL)) == 1
    rows = office.rows("maint-1")
    assert {r["notification_id"] for r in rows} == {"notice/camille", "notice/sam"}
    assert all(r["kind"] == "staff.notice" for r in rows)
    sent = {(r["channel"], r["status"]) for r in rows if r["status"] != "skipped"}
    assert sent == {("email", "sent"), ("in_app", "sent")}
    (item,) = await h.inbox("camille")
    assert item["title"] == "Maintenance ce soir"
    # The same request id again is refused: it sends nothing more.
    with pytest.raises(Conflict, match="already used"):
        await h.create_notice(
            "Maintenance ce soir", "x", user_ids=["camille"], request_id="maint-1"
        )
    assert len(office.smtp.handler.to(BORROWER_EMAIL)) == 1


async def test_a_scheduled_notice_waits_on_a_timer_and_goes_out_at_its_time(office: Desk) -> None:
    h = office.herald
    at = await office.now() + timedelta(hours=2)
    await h.create_notice(
        "Rappel", "Réunion à 15 h", user_ids=["camille"], scheduled_for=at, request_id="later-1"
    )
    await office.env.sleep(timedelta(hours=1))
    assert office.smtp.handler.to(BORROWER_EMAIL) == []
    assert office.rows("later-1") == []
    await office.env.sleep(timedelta(hours=1, minutes=5))
    await eventually(lambda: len(office.smtp.handler.to(BORROWER_EMAIL)) == 1)
    assert (await result_of(office, "later-1")).recipients == 1
    await record_history(office, "notify-later-1", "notice_scheduled")
    with pytest.raises(Conflict, match="no longer running"):
        await h.cancel_notice("later-1")


async def test_a_scheduled_notice_is_cancelled_before_it_fires(office: Desk) -> None:
    h = office.herald
    at = await office.now() + timedelta(days=1)
    await h.create_notice(
        "Annulé", "Rien", group_names=["tech"], scheduled_for=at, request_id="later-2"
    )
    cancelled = await h.cancel_notice("later-2")
    assert cancelled.request_id == "later-2" and cancelled.scheduled_for == at
    result = await result_of(office, "later-2")
    assert result.cancelled and result.recipients == 0
    await record_history(office, "notify-later-2", "notice_cancelled")
    await office.env.sleep(timedelta(days=1, hours=1))
    assert office.smtp.handler.to(MANAGER_EMAIL) == []
    assert office.rows("later-2") == []


async def test_an_alert_that_went_out_cannot_be_cancelled(office: Desk) -> None:
    h = office.herald
    at = await office.now() + timedelta(hours=1)
    await h.create_notice(
        "Bientôt", "…", user_ids=["camille"], scheduled_for=at, request_id="later-3"
    )
    await office.env.sleep(timedelta(minutes=61))
    await eventually(lambda: len(office.smtp.handler.to(BORROWER_EMAIL)) == 1)
    with pytest.raises(Conflict):
        await h.cancel_notice("later-3")
    with pytest.raises(NotFound):
        await h.cancel_notice("never-started")


@pytest.mark.parametrize(
    ("title", "message", "kwargs", "match"),
    [
        ("Deux\nlignes", "ok", {}, "must be one line"),
        ("  ", "ok", {}, "title is empty"),
        ("x" * 201, "ok", {}, "title is 201 characters"),
        ("ok", "nul\x00", {}, "control character"),
        ("ok", "", {}, "message is empty"),
        ("ok", "ok", {"user_ids": []}, "at least one user or group"),
        ("ok", "ok", {"priority": "asap"}, "unknown priority"),
        ("ok", "ok", {"channels": ["fax"]}, "use email, sms"),
    ],
)
async def test_invalid_notices_start_nothing(
    office: Desk, title: str, message: str, kwargs: dict[str, object], match: str
) -> None:
    kw: dict[str, object] = {"user_ids": ["camille"], **kwargs}
    with pytest.raises(InvalidInput, match=match):
        await office.herald.create_notice(title, message, **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=match):
        await office.herald.preview_notice(title, message, **kw)  # type: ignore[arg-type]


async def test_a_scheduled_time_in_the_past_or_without_offset_is_refused(office: Desk) -> None:
    from datetime import UTC, datetime

    with pytest.raises(InvalidInput, match="in the past"):
        await office.herald.create_notice(
            "t", "m", user_ids=["camille"], scheduled_for=datetime.now(UTC) - timedelta(minutes=1)
        )
    with pytest.raises(InvalidInput, match="no time zone"):
        await office.herald.create_notice(
            "t", "m", user_ids=["camille"], scheduled_for=datetime(2030, 1, 1, 9, 0)
        )


async def test_a_dry_run_answers_who_would_get_what_and_sends_nothing(office: Desk) -> None:
    h = office.herald
    await h.upsert_subscriber("ana", name="Ana", email="ana@example.org", phone="+33611111111")
    await h.upsert_subscriber("ben", name="Ben", email="ben@example.org", timezone="Europe/Paris")
    await h.add_to_group("tech", ["ana", "ben"])
    await h.set_preferences("ben", quiet_hours="00:00-23:59")
    await h.suppress("email", "ana@example.org", reason="bounced")

    plan = await h.preview_notice(
        "Alerte", "Coupure", group_names=["tech"], user_ids=["sam"], priority="urgent"
    )
    assert plan["recipients"] == 3 and plan["listed"] == 3  # sam once, in the group and named
    by = {(d["subscriber_id"], d["channel"]): d for d in plan["deliveries"]}
    assert by[("ana", "sms")]["status"] == "send"
    assert by[("ana", "sms")]["address"] == "+33611111111"
    assert by[("ana", "email")]["status"] == "suppressed"
    assert by[("sam", "email")]["status"] == "send"
    assert by[("sam", "sms")]["status"] == "skipped" and by[("sam", "sms")]["reason"]

    medium = await h.preview_notice("Info", "Rien d'urgent", user_ids=["ben"])
    (ben_email,) = [d for d in medium["deliveries"] if d["channel"] == "email"]
    assert ben_email["status"] == "held" and "quiet hours" in ben_email["reason"]

    assert office.store.list_deliveries() == []
    assert office.smtp.handler.messages == []

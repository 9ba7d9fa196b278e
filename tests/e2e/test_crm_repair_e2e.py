"""End to end on the real Temporal dev server, as in :mod:`tests.e2e.test_loan_e2e` (same
stack, same waiting rules): a repair's life, a follow-up's life, and the housekeeping
schedule ``herald setup`` creates. A module of their own, so a parallel run spreads the
end-to-end lives over two processes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.test_loan_e2e import (  # noqa: F401 - the fixtures, for these tests
    Cli,
    database_url,
    dev_server,
    stack,
)
from tests.e2e.waiting import until
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e


# One repair life on PostgreSQL is enough: the loans cover SQLite end to end.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_repair_life_through_cli_and_worker_process(stack: Cli, smtp: SmtpServer) -> None:  # noqa: F811 - the imported fixture
    repair = f"R-{uuid.uuid4().hex[:6]}"
    stack.ok("subscriber", "upsert", "cust", "--name", "Client", "--email", "cust@example.org")
    stack.ok("subscriber", "upsert", "tech", "--name", "Tech", "--email", "tech@example.org")
    stack.ok("subscriber", "upsert", "tech2", "--name", "Tech Deux", "--email", "tech2@example.org")
    stack.ok("subscriber", "upsert", "chef", "--name", "Chef", "--email", "chef@example.org")
    stack.ok("group", "create", "repair-managers", "--description", "Atelier")
    stack.ok("group", "add", "repair-managers", "chef")
    assert stack.json("group", "list", "repair-managers")["members"] == ["chef"]
    started = stack.json(
        "repair",
        "start",
        repair,
        "--title",
        "Écran cassé",
        "--customer",
        "cust",
        "--technician",
        "tech",
    )
    assert started["workflow_id"] == f"repair-{repair}"
    for event, extra in (
        ("approved", []),
        ("assigned", ["--technician", "tech2"]),
        ("in_progress", []),
        ("completed", []),
    ):
        applied = stack.json(
            "repair", "event", repair, event, "--event-id", f"{repair}-{event}", *extra
        )
        assert applied["outcome"] == "applied", applied
    again = stack.json("repair", "event", repair, "approved", "--event-id", f"{repair}-late")
    assert again["outcome"] == "duplicate"
    refused = stack.run("repair", "event", repair, "denied", "--event-id", f"{repair}-x")
    assert refused.returncode == 2 and "cannot be denied" in refused.stderr
    # Medium and urgent priorities use e-mail: the technicians' approval and reassignment,
    # the customer's "in progress". High ones (created, completed) use SMS + in-app only.
    await until(lambda: smtp.handler.to("tech@example.org") and smtp.handler.to("cust@example.org"))
    assert any("Tech Deux" in m.part("plain") for m in smtp.handler.to("tech@example.org"))
    status = stack.json("repair", "status", repair)
    assert status["state"] == "COMPLETED" and status["technician_id"] == "tech2"
    stack.json("repair", "event", repair, "closed", "--event-id", f"{repair}-closed")
    rows = stack.json("deliveries")
    kinds = {r["kind"] for r in rows if r["subject_id"] == repair and r["status"] == "sent"}
    assert {
        "repair.created",
        "repair.approved",
        "repair.reassigned_away",
        "repair.assigned",
        "repair.in_progress",
        "repair.completed",
    } <= kinds


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_setup_schedules_housekeeping_which_purges_old_rows(
    stack: Cli,  # noqa: F811 - the imported fixture
    dev_server: WorkflowEnvironment,  # noqa: F811 - the imported fixture
) -> None:
    first = stack.ok("setup")
    assert "schedule herald-housekeeping: created" in first or "updated" in first
    assert "schedule herald-housekeeping: updated" in stack.ok("setup")  # idempotent
    listed = stack.ok("schedules")
    assert "herald-housekeeping: HousekeepingWorkflow, active, next " in listed
    next_run = datetime.fromisoformat(listed.split("next ")[1].split(",")[0].strip())
    assert next_run.astimezone(ZoneInfo("Europe/Paris")).hour == 2

    # An old delivery row, then run the schedule now instead of waiting for 02:00.
    from herald.store import Store

    store = Store.from_url(stack.env["HERALD_DATABASE_URL"])
    old = datetime.now(UTC) - timedelta(days=200)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO deliveries (idempotency_key, workflow_id, notification_id, subject_type,"
            " subject_id, kind, role, channel, subscriber_id, status, attempts, created_at, updated_at)"
            " VALUES ('old-row', 'w', 'n', 'loan', 'L', 'loan.created', 'borrower', 'email', 's',"
            " 'sent', 1, %(at)s, %(at)s)",
            {"at": old},
        )
    # `herald setup` ran with this stack's task queue, so its worker runs the workflow.
    handle = dev_server.client.get_schedule_handle("herald-housekeeping")
    await handle.trigger()
    await until(lambda: store.get_delivery("old-row") is None)
    store.close()


# Started due in an hour: the reminder comes 20 s after the start, the overdue alerts an
# hour later. Once reassigned, the follow-up is rescheduled due RESCHEDULED_DUE_IN from
# then: its reminder is past (skipped) and the two overdue alerts follow, 10 s apart.
FOLLOWUP_DUE_IN = timedelta(hours=1)
RESCHEDULED_DUE_IN = timedelta(seconds=30)
FAST_FOLLOWUP_POLICY = {
    "name": "fast-followup",
    "classes": [
        {"name": "all", "reminders": [{"kind": "followup.due_tomorrow", "before": "PT59M40S"}]}
    ],
    "overdue": {
        "kind": "followup.overdue",
        "first_after": "PT1S",
        "repeat_at_local": None,
        "repeat_every": "PT10S",
        "max_alerts": 2,
        "manager_copy_from": 1,
    },
}


async def test_followup_life_through_cli_and_worker_process(
    stack: Cli,  # noqa: F811 - the imported fixture
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    """A CRM follow-up: reminder to the salesperson, reassigned, overdue to the new one with
    copies to the managers; then lead and user events, quiet hours through the CLI."""
    policy = tmp_path / "followup.json"
    policy.write_text(json.dumps(FAST_FOLLOWUP_POLICY))
    stack.env["HERALD_FOLLOWUP_POLICY"] = str(policy)
    tag = uuid.uuid4().hex[:6]
    for who in ("ana", "ben", "chef"):
        stack.ok(
            "subscriber",
            "upsert",
            who,
            "--name",
            who.title(),
            "--email",
            f"{who}-{tag}@example.org",
        )
    refused = stack.run(
        "followup", "start", f"F-{tag}", "--title", "Rappeler ACME", "--assignee", "ana",
        "--due", (datetime.now(UTC) + FOLLOWUP_DUE_IN).isoformat(),
    )  # fmt: skip
    assert refused.returncode == 2 and "unknown group 'sales-managers'" in refused.stderr
    stack.ok("group", "create", "sales-managers")
    stack.ok("group", "add", "sales-managers", "chef")

    due = datetime.now(UTC) + FOLLOWUP_DUE_IN
    started = stack.json(
        "followup", "start", f"F-{tag}", "--title", "Rappeler ACME", "--assignee", "ana",
        "--customer", "ACME", "--due", due.isoformat(),
    )  # fmt: skip
    assert started["workflow_id"] == f"followup-F-{tag}" and started["created"]
    # The reminder (high: SMS and inbox; no SMS provider here) lands in Ana's inbox.
    await until(lambda: stack.json("inbox", "list", "ana"), interval=1.0)
    assert "Rappeler ACME" in stack.json("inbox", "list", "ana")[0]["body"]
    # The overdue alert is still an hour away: the reassignment comes first by construction.
    status = stack.json("followup", "reassign", f"F-{tag}", "--assignee", "ben")
    assert status["assignee_id"] == "ben" and status["state"] == "OPEN"
    assert status["next_reminder"]["kind"] == "followup.overdue"
    assert datetime.fromisoformat(status["next_reminder"]["at"]) > due

    # Now bring the deadline near; the reminder for it is already past, so only the overdue
    # alerts (urgent: e-mail too) go out: to Ben, copied to the managers group; none to Ana.
    near = datetime.now(UTC) + RESCHEDULED_DUE_IN
    moved = stack.json("followup", "reschedule", f"F-{tag}", "--due", near.isoformat())
    assert moved["reschedules"] == 1 and moved["next_reminder"]["kind"] == "followup.overdue"
    await until(
        lambda: (
            len(smtp.handler.to(f"ben-{tag}@example.org")) == 2
            and len(smtp.handler.to(f"chef-{tag}@example.org")) == 2
        )
    )
    assert not smtp.handler.to(f"ana-{tag}@example.org")
    assert "ACME" in smtp.handler.to(f"chef-{tag}@example.org")[0].part("plain")
    done = stack.json("followup", "complete", f"F-{tag}")
    assert done["state"] == "COMPLETED"
    again = stack.run("followup", "complete", f"F-{tag}")
    assert again.returncode == 2 and "no longer running" in again.stderr

    # A lead event, then the same event again (a retried webhook): sent once.
    first = stack.json(
        "lead", "event", f"LD-{tag}", "stage_changed", "--event-id", "e1", "--stage", "won",
        "--name", "40 portables", "--wait",
    )  # fmt: skip
    assert first["duplicate"] is False
    assert stack.json("lead", "event", f"LD-{tag}", "stage_changed", "--event-id", "e1",
                      "--stage", "won")["duplicate"] is True  # fmt: skip
    await until(lambda: len(smtp.handler.to(f"chef-{tag}@example.org")) == 3)
    bad = stack.run("lead", "event", f"LD-{tag}", "stage_changed", "--event-id", "e2")
    assert bad.returncode == 2 and "needs stage" in bad.stderr

    # Preferences through the CLI: quiet hours, a digest, a category off.
    prefs = stack.json(
        "prefs", "set", "ben", "--quiet-hours", "21:00-07:30", "--digest", "weekly",
        "--digest-day", "fri", "--digest-at", "17:00", "--category", "leads=off",
    )  # fmt: skip
    assert prefs["quiet_start"] == "21:00:00" and prefs["digest"] == "weekly"
    assert prefs["digest_weekday"] == 4 and prefs["categories"] == {"leads": False}
    shown = stack.ok("prefs", "show", "ben")
    assert "quiet 21:00-07:30, weekly digest on friday at 17:00 (Europe/Paris)" in shown
    assert "leads" in shown
    wrong = stack.run("prefs", "set", "ben", "--quiet-hours", "21h-7h")
    assert wrong.returncode == 2 and "not a time of day" in wrong.stderr
    assert "nothing waiting" in stack.ok("mailbox", "ben")

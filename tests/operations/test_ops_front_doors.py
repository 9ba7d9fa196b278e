"""The same objects, schedules and checks through every front door on the dev server:
the ops routes and HttpHerald (ops keys only), and the CLI (``herald loan list``,
``herald loan notify`` without a kind, ``herald schedules``, ``herald doctor``)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.errors import HeraldError, InvalidInput, NotFound
from herald.http_client import HttpHerald
from herald.schedules import HOUSEKEEPING_ID, apply_schedules
from starter.cli import EXIT_INVALID, EXIT_OK, main
from tests.api.conftest import serving
from tests.conftest import eventually
from tests.operations.conftest import GUARD, UI, Ops, listed

pytestmark = pytest.mark.e2e


async def herald_cli(*args: str) -> int:
    """``herald ARGS`` in this process (its own event loop, in a thread)."""
    return await asyncio.to_thread(main, list(args))


async def test_the_ops_routes_answer_as_the_service_layer(ops: Ops) -> None:
    keys = ApiKeys(ops.store)
    ops_key = keys.create(f"ops-{ops.tag}", "ops")
    app_key = keys.create(f"app-{ops.tag}", "app")
    loan_id = ops.id("H-1")
    due = datetime.now(UTC) + timedelta(days=4)
    await ops.herald.start_loan(loan_id, borrower_id="ana", item="Perforateur", due_at=due)
    await listed(ops, "loan", "upcoming", loan_id, search=loan_id)

    async def settled() -> bool:  # the workflow's own upsert (NextReminderAt) visible too
        page = await ops.herald.objects("loan", search=loan_id, reminders=False)
        return page.items[0].next_reminder_at is not None

    await eventually(settled, timeout=GUARD, interval=0.2)
    (direct,) = (await ops.herald.objects("loan", state="upcoming", search=loan_id)).items
    async with (
        serving(create_app(ops.herald)) as url,
        HttpHerald(url, ops_key.key) as remote,
        HttpHerald(url, app_key.key) as app,
    ):
        page = await remote.objects("loan", state="upcoming", search=loan_id)
        assert page.items == [direct] and page.kind == "loan" and page.state == "upcoming"
        assert await remote.object_info("loan", loan_id) == await ops.herald.object_info(
            "loan", loan_id
        )
        sent = await remote.send_reminder_now("loan", loan_id)
        assert sent.notification_id == f"{direct.next_reminder.kind}@manual-1"  # type: ignore[union-attr]
        with pytest.raises(InvalidInput, match="invalid search"):
            await remote.objects("loan", search="x' OR WorkflowType = 'RepairWorkflow'")
        with pytest.raises(InvalidInput, match="unknown object kind"):
            await remote.objects("invoice")
        with pytest.raises(NotFound):
            await remote.object_info("loan", ops.id("H-none"))
        followup = ops.id("H-F1")
        await ops.herald.start_followup(
            followup,
            title="Relance",
            assignee_id="ana",
            due_at=datetime.now(UTC) + timedelta(days=3),
        )
        copied = await remote.notify_followup(followup, kind="followup.overdue", manager=True)
        assert copied.notification_id == "followup.overdue@manual-1"
        assert (
            ops.row(followup, "followup.overdue@manual-1/manager/sam", "email")["status"] == "sent"
        )
        assert (await remote.health()).checks == (await ops.herald.health()).checks
        assert await remote.schedules() == await ops.herald.schedules()
        # An application's key reaches none of it.
        for call in (
            app.objects("loan"),
            app.object_info("loan", loan_id),
            app.send_reminder_now("loan", loan_id),
            app.schedules(),
            app.health(),
        ):
            with pytest.raises(HeraldError, match="needs ops"):
                await call


async def test_the_housekeeping_schedule_shows_its_next_and_recent_runs(
    ops: Ops, cli_env: Ops, capsys: pytest.CaptureFixture[str]
) -> None:
    (missing,) = await ops.herald.schedules()
    assert missing.id == HOUSEKEEPING_ID and not missing.exists and missing.next_runs == []
    await apply_schedules(ops.herald.client, ops.settings)
    (info,) = await ops.herald.schedules()
    assert info.exists and info.workflow == "HousekeepingWorkflow" and not info.paused
    assert info.time_zone == "Europe/Paris" and len(info.next_runs) == 3
    assert all(t.astimezone(ZoneInfo("Europe/Paris")).hour == 2 for t in info.next_runs)
    assert info.ui_url == f"{UI}/namespaces/default/schedules/{HOUSEKEEPING_ID}"
    assert info.recent_runs == [] and info.runs_total == 0

    # Run it now rather than at 02:00: the run shows, with its outcome.
    await ops.herald.client.get_schedule_handle(HOUSEKEEPING_ID).trigger()

    async def completed() -> bool:
        (now,) = await ops.herald.schedules()
        return [r.status for r in now.recent_runs] == ["completed"]

    await eventually(completed, timeout=GUARD, interval=0.2)
    (info,) = await ops.herald.schedules()
    (run,) = info.recent_runs
    assert run.workflow_id.startswith(HOUSEKEEPING_ID) and run.closed_at is not None
    escaped = quote(run.workflow_id, safe="")  # the id holds the time, colons escaped
    assert run.ui_url == f"{UI}/namespaces/default/workflows/{escaped}/{run.run_id}/history"
    assert info.runs_total == 1

    assert await herald_cli("schedules") == EXIT_OK
    out = capsys.readouterr().out
    assert f"{HOUSEKEEPING_ID}: HousekeepingWorkflow, active, next " in out
    assert f"{run.workflow_id}: completed" in out
    assert await herald_cli("schedules", "--json") == EXIT_OK
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc == info.model_dump(mode="json")


async def test_health_is_the_doctors_checks_as_data(
    ops: Ops, cli_env: Ops, capsys: pytest.CaptureFixture[str]
) -> None:
    report = await ops.herald.health()
    assert report.ok and report.problems == []
    states = {(c.name, c.status) for c in report.checks}
    assert {
        ("temporal", "ok"),
        ("search-attributes", "ok"),
        ("database", "ok"),
        ("provider", "ok"),
        ("encryption", "note"),
    } <= states
    assert await herald_cli("doctor", "--json") == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert [(c["name"], c["status"]) for c in doc["checks"]] == [
        (c.name, c.status) for c in report.checks
    ]
    assert await herald_cli("doctor") == EXIT_OK
    out = capsys.readouterr().out
    assert "ok: search attributes registered" in out and "problem" not in out


async def test_the_cli_lists_and_sends_by_hand(
    ops: Ops, cli_env: Ops, capsys: pytest.CaptureFixture[str]
) -> None:
    late, soon = ops.id("C-late"), ops.id("C-soon")
    await ops.start_past_due_loan(late, "camille")
    await ops.herald.start_loan(
        soon, borrower_id="camille", item="Marteau", due_at=datetime.now(UTC) + timedelta(days=4)
    )
    await listed(ops, "loan", "all", late, soon, search=ops.id("C-"))

    assert await herald_cli("loan", "list", "--overdue", "--search", ops.id("C-"), "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in doc["items"]] == [late] and doc["items"][0]["overdue"] is True
    assert await herald_cli("loan", "list", "--upcoming", "--search", ops.id("C-")) == 0
    out = capsys.readouterr().out
    assert soon in out and "next loan.reminder_j2 at " in out and late not in out
    assert f"{UI}/namespaces/default/workflows/loan-{soon}/" in out
    assert await herald_cli("loan", "list", "--search", "x' OR 1=1") == EXIT_INVALID
    assert "invalid search" in capsys.readouterr().err

    assert await herald_cli("loan", "notify", soon) == EXIT_OK
    assert f"loan {soon}: loan.reminder_j2@manual-1 sent by hand (email=sent" in (
        capsys.readouterr().out
    )
    assert await herald_cli("repair", "list", "--overdue", "--search", ops.id("C-")) == 0
    assert "no overdue repair" in capsys.readouterr().out

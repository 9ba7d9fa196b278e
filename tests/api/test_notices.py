"""Resends and ad-hoc notices over HTTP, through HttpHerald, and from the command line:
the service layer's results and refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from herald.errors import Conflict, InvalidInput, NotFound
from herald.http_client import HttpHerald
from herald.store import Store, migrate
from starter.cli import EXIT_INVALID, EXIT_OK, main
from tests.api.conftest import Api
from tests.conftest import eventually
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, Desk, start


async def test_a_failed_delivery_is_resent_over_http(api: Api, desk: Desk) -> None:
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(desk, "L-http-resend", timedelta(hours=30))
    (failed,) = await eventually(
        lambda: [r for r in desk.rows("L-http-resend") if r["status"] == "permanently_failed"]
    )
    async with HttpHerald(api.url, timeout=60) as herald:
        row = await herald.resend_delivery(int(failed["id"]), wait=True)
        assert row["resend_of"] == failed["id"] and row["status"] == "sent"
        assert row["note"].startswith(f"resend of delivery {failed['id']} by api key loopback")
        with pytest.raises(Conflict, match="already resent"):
            await herald.resend_delivery(int(failed["id"]))
        with pytest.raises(NotFound):
            await herald.resend_delivery(424242)
    await desk.cancel("L-http-resend")


def test_the_cli_resends_by_id_and_still_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate(Store.from_url(url).engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    assert main(["deliveries", "resend", "7"]) == EXIT_INVALID
    assert "no delivery 7" in capsys.readouterr().err
    assert main(["deliveries", "resend"]) == EXIT_INVALID
    assert main(["deliveries", "--json"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "[]"


async def test_notices_over_http_scheduled_cancelled_and_dry_run(api: Api, desk: Desk) -> None:
    at = await desk.now() + timedelta(hours=3)
    async with HttpHerald(api.url, timeout=60) as herald:
        plan = await herald.preview_notice("Facture", "Traitée", user_ids=["camille"])
        direct = await api.herald.preview_notice("Facture", "Traitée", user_ids=["camille"])
        assert {**plan, "at": None} == {**direct, "at": None}
        assert {(d["channel"], d["status"]) for d in plan["deliveries"]} >= {("email", "send")}

        request_id, none = await herald.create_notice(
            "Facture",
            "Traitée\nÀ payer le 15",
            user_ids=["camille"],
            data={"invoice_id": 118},
            scheduled_for=at,
            request_id="inv-118",
        )
        assert request_id == "inv-118" and none is None
        cancelled = await herald.cancel_notice("inv-118")
        assert cancelled.request_id == "inv-118" and cancelled.scheduled_for == at
        with pytest.raises(InvalidInput, match="must be one line"):
            await herald.create_notice("Deux\nlignes", "m", user_ids=["camille"])
        with pytest.raises(NotFound):
            await herald.cancel_notice("nothing-here")
    handle = desk.herald.client.get_workflow_handle("notify-inv-118")
    assert (await handle.result())["cancelled"] is True
    assert desk.smtp.handler.to(BORROWER_EMAIL) == []


def test_the_cli_dry_run_needs_no_temporal_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    migrate(store.engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    monkeypatch.setenv("HERALD_TEMPORAL_ADDRESS", "127.0.0.1:1")
    assert main(["subscriber", "upsert", "u1", "--email", "u1@example.org"]) == EXIT_OK
    capsys.readouterr()
    dry = ["notify", "--title", "Bonjour", "--message", "Deux\nlignes", "--user", "u1"]
    assert main([*dry, "--dry-run", "--json"]) == EXIT_OK
    plan = json.loads(capsys.readouterr().out)
    assert plan["recipients"] == 1
    (email,) = [d for d in plan["deliveries"] if d["channel"] == "email"]
    assert email == {
        "subscriber_id": "u1",
        "channel": "email",
        "status": "send",
        "address": "u1@example.org",
        "reason": None,
    }
    assert main([*dry, "--dry-run"]) == EXIT_OK
    assert "u1@example.org" in capsys.readouterr().out
    assert store.list_deliveries() == []

    for argv, message in [
        (["notify", "--title", "A\nB", "--message", "m", "--user", "u1", "--dry-run"], "one line"),
        (["notify", "--title", "T", "--user", "u1"], "--title and --message"),
        (["notify", "tpl", "--title", "T", "--message", "m"], "not both"),
        (
            ["notify", "--title", "T", "--message", "m", "--user", "u1", "--data", "[1]"],
            "JSON object",
        ),
        (["notify", "--title", "T", "--message", "m", "--scheduled-for", "demain"], "ISO 8601"),
    ]:
        assert main(argv) == EXIT_INVALID, argv
        assert message in capsys.readouterr().err


async def test_an_event_naming_several_repairs_over_http(api: Api, desk: Desk) -> None:
    await desk.herald.create_group("repair-managers")
    for rid in ("RH1", "RH2"):
        await desk.herald.start_repair(rid, title=rid, customer_id="camille", technician_id="sam")
    async with HttpHerald(api.url, timeout=60) as herald:
        rows = await herald.repair_events(
            ["RH1", "RH2", "RH404"], "approved", event_id="ok-2", batch_id="L-2"
        )
        assert [(r["repair_id"], r["outcome"]) for r in rows] == [
            ("RH1", "applied"),
            ("RH2", "applied"),
            ("RH404", "unknown"),
        ]
        with pytest.raises(InvalidInput, match="unknown repair event"):
            await herald.repair_events(["RH1"], "exploded")
    await desk.env.sleep(timedelta(minutes=1))
    await eventually(
        lambda: [
            r for r in desk.rows("sam") if r["kind"] == "repair.batch" and r["status"] == "sent"
        ]
    )
    for rid in ("RH1", "RH2"):
        await desk.herald.repair_event(rid, "closed", event_id=f"{rid}-x")

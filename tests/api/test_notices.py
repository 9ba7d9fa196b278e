"""Resends and ad-hoc notices over HTTP, through HttpHerald, and from the command line:
the service layer's results and refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from herald.errors import Conflict, NotFound
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

"""``herald summary set|show`` (and ``SyncHerald``) without a Temporal server: what needs none works, a refused
value is one line and exit 2, and a choice Temporal could not take is kept and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from herald import crm_store
from herald.errors import InvalidInput
from herald.store import Store, migrate
from starter.cli import EXIT_FAILURE, EXIT_INVALID, EXIT_OK, main
from starter.sync import SyncHerald
from tests.api.conftest import refused_port


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    migrate(store.engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{refused_port()}")
    monkeypatch.chdir(tmp_path)
    store.upsert_subscriber("ana", name="Ana", timezone="Europe/Paris")
    return store


def test_summary_commands_without_temporal(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", "show", "ana"]) == EXIT_OK
    assert capsys.readouterr().out == "ana: no daily summary\n"
    assert main(["summary", "show", "ana", "--json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert (doc["at"], doc["timezone"], doc["running"]) == (None, "Europe/Paris", False)

    for value, reason in (
        ("25:00", "'25:00' is not a time of day like 08:00 (or off)"),
        ("8 h", "'8 h' is not a time of day like 08:00 (or off)"),
    ):
        assert main(["summary", "set", "ana", "--at", value]) == EXIT_INVALID
        err = capsys.readouterr().err
        assert err == f"herald: error: {reason}\n"
    assert main(["summary", "set", "nobody", "--at", "08:00"]) == EXIT_INVALID
    assert "unknown subscriber 'nobody'" in capsys.readouterr().err
    setting = crm_store.summary_setting(database, "ana")
    assert setting is not None and setting.version is None  # nothing written so far

    assert main(["summary", "set", "ana", "--at", "08:00"]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(
        "herald: failed: daily summary of ana saved (at 08:00 Europe/Paris) but not handed "
        "to Temporal: "
    )
    assert err.count("\n") == 1
    setting = crm_store.summary_setting(database, "ana")
    assert setting is not None and f"{setting.at:%H:%M}" == "08:00"


def test_the_sync_client_reads_and_refuses_like_the_others(database: Store) -> None:
    with SyncHerald() as herald:
        status = herald.daily_summary("ana")
        assert (status.at, status.running, status.timezone) == (None, False, "Europe/Paris")
        with pytest.raises(InvalidInput, match="'7:75' is not a time of day"):
            herald.set_daily_summary("ana", at="7:75")

"""``herald api-key create|list|revoke`` and ``herald api``'s refusal without keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from herald.api.keys import ApiKeys, hash_secret
from herald.store import Store, migrate
from starter.cli import EXIT_INVALID, EXIT_OK, main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    migrate(store.engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    return store


def test_a_key_is_printed_once_listed_by_prefix_and_revoked(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api-key", "create", "shop", "--scope", "ops"]) == EXIT_OK
    key, note = capsys.readouterr().out.splitlines()
    assert key.startswith("hrld_") and "shown only now" in note
    keys = ApiKeys(database)
    (info,) = keys.list()
    assert info.name == "shop" and info.scope == "ops" and key.startswith(info.prefix)
    with database.session() as s:
        from herald.db import ApiKey

        row = s.query(ApiKey).one()
        assert row.secret_hash == hash_secret(key) and key not in (row.prefix, row.secret_hash)
    assert keys.authenticate(key) is not None

    assert main(["api-key", "list"]) == EXIT_OK
    listing = capsys.readouterr().out
    assert "shop" in listing and info.prefix in listing and key not in listing
    assert main(["api-key", "list", "--json"]) == EXIT_OK
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["prefix"] == info.prefix and doc["revoked_at"] is None and key not in json.dumps(doc)

    assert main(["api-key", "create", "shop"]) == EXIT_INVALID
    assert "already exists" in capsys.readouterr().err

    assert main(["api-key", "revoke", "shop"]) == EXIT_OK
    assert "revoked" in capsys.readouterr().out
    assert keys.authenticate(key) is None
    assert main(["api-key", "list", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["revoked_at"] is not None
    assert main(["api-key", "revoke", "nobody"]) == EXIT_INVALID


def test_serving_beyond_the_loopback_without_a_key_is_refused(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api", "--host", "0.0.0.0", "--port", "0"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "no API key exists" in err and "herald api-key create" in err


def test_a_reader_that_goes_away_is_not_an_error(database: Store) -> None:
    """``HERALD_API_KEY=$(herald api-key create shop | head -n 1)``: the reader may leave
    before everything is written. The key is created all the same, and the command ends
    quietly with 0. Here the reader (``true``) leaves before the command writes a byte."""
    import os
    import subprocess
    import sys

    herald = Path(sys.executable).parent / "herald"
    proc = subprocess.run(
        f"'{herald}' api-key create shop | true; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert [k.name for k in ApiKeys(database).list()] == ["shop"]

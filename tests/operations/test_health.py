"""``herald doctor``'s checks as data, when something is wrong: the service layer and the
CLI report the same problem with how to fix it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from herald.health import HealthReport
from starter.cli import EXIT_FAILURE, main
from tests.api.conftest import bare_herald


async def test_an_unreachable_temporal_is_a_problem_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    herald = bare_herald(tmp_path)
    try:
        report = await herald.health()
    finally:
        herald.close()
    assert isinstance(report, HealthReport) and not report.ok
    checks = {c.name: c for c in report.checks}
    assert checks["temporal"].status == "problem"
    assert "unreachable" in checks["temporal"].detail
    assert "TEMPORAL_ADDRESS" in checks["temporal"].detail
    assert "search-attributes" not in checks  # not asked of a Temporal that is not there
    assert checks["database"].status == "ok"
    assert report.problems[0] == checks["temporal"].detail

    monkeypatch.setenv("TEMPORAL_ADDRESS", herald.settings.temporal_address)
    monkeypatch.setenv("HERALD_DATABASE_URL", str(herald.settings.database_url))
    assert await asyncio.to_thread(main, ["doctor", "--json"]) == EXIT_FAILURE
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    assert [c["name"] for c in doc["checks"] if c["status"] == "problem"] == ["temporal"]
    assert await asyncio.to_thread(main, ["doctor"]) == EXIT_FAILURE
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("problem: Temporal at ") and "ok: database" in "\n".join(lines)

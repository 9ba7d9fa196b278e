"""The dashboard's figures: the pure tally (windows, failure rate, SMS, lateness, busiest
kinds, days), and the service over a real SQLite log (queries, stuck rows, resends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.dashboard import LogRow, chart_days, percentile, tally
from herald.db import Delivery
from herald.errors import InvalidInput
from tests.api.conftest import bare_herald

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # 11:00 in Paris


def row(
    ago: timedelta,
    channel: str = "email",
    status: str = "sent",
    kind: str = "loan.created",
    late: float | None = 1.0,
    **kw: Any,
) -> LogRow:
    created = NOW - ago
    return LogRow(
        created_at=created,
        channel=channel,
        status=status,
        kind=kind,
        scheduled_at=created,
        sent_at=created + timedelta(seconds=late) if late is not None else None,
        **kw,
    )


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.99) is None


def test_rows_count_in_the_windows_they_were_created_in() -> None:
    doc = tally(
        [
            row(timedelta(hours=1)),
            row(timedelta(hours=23), channel="sms", segments=2, cost=0.16, currency="USD"),
            row(timedelta(hours=25), status="permanently_failed", late=None),
            row(timedelta(days=6, hours=23), channel="whatsapp"),
            row(timedelta(days=7, hours=1)),  # older than both windows: left out
            row(-timedelta(hours=1)),  # created after now (a clock ahead): left out
        ],
        now=NOW,
        timezone="Europe/Paris",
    )
    day, week = doc["windows"]["24h"], doc["windows"]["7d"]
    assert (day["total"], week["total"]) == (2, 4)
    assert day["by_channel"] == {
        "email": {"total": 1, "by_status": {"sent": 1}},
        "sms": {"total": 1, "by_status": {"sent": 1}},
    }
    assert week["by_channel"]["email"] == {
        "total": 2,
        "by_status": {"permanently_failed": 1, "sent": 1},
    }
    assert day["since"] == (NOW - timedelta(hours=24)).isoformat()


def test_failure_rate_is_failed_for_good_over_settled() -> None:
    rows = [
        row(timedelta(hours=1)),
        row(timedelta(hours=1), status="delivered"),
        row(timedelta(hours=1), status="bounced"),
        row(timedelta(hours=1), status="permanently_failed", late=None),
        row(timedelta(hours=1), status="pending", late=None),  # not settled yet
        row(timedelta(hours=1), status="skipped", late=None),  # never meant to go
        row(timedelta(hours=1), status="failed", late=None),  # still being retried
    ]
    day = tally(rows, now=NOW, timezone="UTC")["windows"]["24h"]
    assert (day["failed"], day["settled"]) == (2, 4)
    assert day["failure_rate"] == 0.5
    quiet = tally([row(timedelta(hours=1), status="pending")], now=NOW, timezone="UTC")
    assert quiet["windows"]["24h"]["failure_rate"] is None


def test_sms_segments_and_cost_count_accepted_sms_only() -> None:
    rows = [
        row(timedelta(hours=2), channel="sms", segments=1, cost=0.0795, currency="USD"),
        row(timedelta(hours=3), channel="sms", segments=3, cost=0.2385, currency="USD"),
        row(
            timedelta(hours=4),
            channel="sms",
            status="delivered",
            segments=2,
            cost=0.14,
            currency="EUR",
        ),
        # Failed before a provider took it: no segment was billed.
        row(
            timedelta(hours=5),
            channel="sms",
            status="permanently_failed",
            segments=1,
            cost=0.07,
            currency="USD",
            late=None,
        ),
        row(timedelta(hours=5), channel="email", segments=None),
    ]
    sms = tally(rows, now=NOW, timezone="UTC")["windows"]["24h"]["sms"]
    assert sms == {"messages": 3, "segments": 6, "cost": {"EUR": 0.14, "USD": 0.318}}


def test_lateness_median_and_p99_leave_resends_and_unsent_rows_out() -> None:
    rows = [row(timedelta(hours=1), late=float(s)) for s in range(1, 100)]  # 1..99 s
    rows.append(row(timedelta(hours=1), late=3600.0))  # one an hour late
    rows.append(row(timedelta(hours=1), late=86400.0, resend=True))  # a resend, a day on
    rows.append(row(timedelta(hours=1), status="pending", late=None))
    late = tally(rows, now=NOW, timezone="UTC")["windows"]["24h"]["lateness"]
    assert late == {"count": 100, "median_seconds": 50.5, "p99_seconds": 99.0}
    empty = tally([], now=NOW, timezone="UTC")["windows"]["24h"]["lateness"]
    assert empty == {"count": 0, "median_seconds": None, "p99_seconds": None}


def test_busiest_kinds_are_the_five_largest_then_by_name() -> None:
    kinds = {"a.one": 5, "b.two": 3, "c.three": 3, "d.four": 2, "e.five": 2, "f.six": 1}
    rows = [row(timedelta(hours=1), kind=k) for k, n in kinds.items() for _ in range(n)]
    busiest = tally(rows, now=NOW, timezone="UTC")["windows"]["24h"]["busiest_kinds"]
    assert busiest == [
        {"kind": "a.one", "count": 5},
        {"kind": "b.two", "count": 3},
        {"kind": "c.three", "count": 3},
        {"kind": "d.four", "count": 2},
        {"kind": "e.five", "count": 2},
    ]


def test_days_are_the_organisations_calendar_days() -> None:
    # 23:30 UTC on 3 Dec is 00:30 on 4 Dec in Paris: today there, yesterday in UTC.
    late_evening = NOW.replace(hour=0) - timedelta(minutes=30)
    rows = [
        LogRow(created_at=late_evening, channel="email", status="sent", kind="k"),
        LogRow(created_at=NOW - timedelta(days=6), channel="sms", status="sent", kind="k"),
    ]
    paris = tally(rows, now=NOW, timezone="Europe/Paris")["days"]
    assert [d["date"] for d in paris] == [f"2026-11-{d}" for d in range(28, 31)] + [
        f"2026-12-0{d}" for d in range(1, 5)
    ]
    assert paris[-1] == {"date": "2026-12-04", "total": 1, "by_channel": {"email": 1}}
    assert paris[0] == {"date": "2026-11-28", "total": 1, "by_channel": {"sms": 1}}
    utc = tally(rows, now=NOW, timezone="UTC")["days"]
    assert utc[-2] == {"date": "2026-12-03", "total": 1, "by_channel": {"email": 1}}
    assert utc[-1]["total"] == 0
    # Across the change to winter time, each day starts at local midnight.
    starts = chart_days(datetime(2026, 10, 27, 12, tzinfo=UTC), "Europe/Paris")
    assert [s.utcoffset() for s in starts[-3:]] == [
        timedelta(hours=2),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


# ---------------------------------------------------------------- over a real database


def add(store: Any, key: str, *, ago: timedelta, status: str, **kw: Any) -> int:
    created = datetime.now(UTC) - ago
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "workflow_id": "loan-L1",
        "notification_id": "loan.created@1",
        "subject_type": "loan",
        "subject_id": "L1",
        "kind": "loan.created",
        "role": "borrower",
        "channel": "email",
        "subscriber_id": "camille",
        "recipient": "camille@example.org",
        "status": status,
        "attempts": 1,
        "scheduled_at": created,
        "created_at": created,
        **kw,
    }
    with store.session() as s:
        r = Delivery(**fields)
        s.add(r)
        s.commit()
        return int(r.id)


async def test_the_service_reads_the_log_and_finds_stuck_and_resent_rows(tmp_path: Path) -> None:
    herald = bare_herald(tmp_path)
    store = herald.store
    try:
        sent = datetime.now(UTC) - timedelta(hours=2)
        add(store, "a", ago=timedelta(hours=2), status="sent", sent_at=sent + timedelta(seconds=4))
        failed = add(store, "b", ago=timedelta(hours=3), status="permanently_failed", error="550")
        resent = add(store, "b|resend-1", ago=timedelta(hours=1), status="sent")
        lone = add(store, "c", ago=timedelta(days=2), status="permanently_failed", error="bad")
        stuck = add(store, "d", ago=timedelta(hours=2), status="pending")
        add(store, "e", ago=timedelta(minutes=10), status="pending")  # not stuck yet
        old_stuck = add(store, "f", ago=timedelta(days=30), status="failed", error="timeout")
        add(store, "g", ago=timedelta(days=9), status="sent")  # out of both windows

        doc = await herald.dashboard()
        assert doc["windows"]["24h"]["total"] == 5
        assert doc["windows"]["7d"]["total"] == 6
        assert doc["stuck"] == 2
        assert doc["windows"]["24h"]["lateness"]["count"] == 1
        assert doc["windows"]["24h"]["lateness"]["median_seconds"] == pytest.approx(4, abs=0.01)

        found = await herald.delivery_problems()
        assert [r["id"] for r in found["permanently_failed"]] == [failed, lone]
        by_id = {r["id"]: r for r in found["permanently_failed"]}
        assert by_id[failed]["resent_as"] == {"id": resent, "status": "sent"}
        assert by_id[lone]["resent_as"] is None
        assert by_id[lone]["error"] == "bad"
        assert [r["id"] for r in found["stuck"]] == [stuck, old_stuck]
        assert found["stuck_after_seconds"] == 3600
        assert len((await herald.delivery_problems(limit=1))["stuck"]) == 1
        for bad in (0, 501, "5"):
            with pytest.raises(InvalidInput):
                await herald.delivery_problems(limit=bad)  # type: ignore[arg-type]
    finally:
        herald.close()


def test_the_cli_the_api_and_the_service_give_the_same_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import json

    import httpx

    from herald.api.app import create_app
    from starter.cli import EXIT_OK, main
    from tests.api.conftest import serving

    herald = bare_herald(tmp_path)
    try:
        sms = {"channel": "sms", "segments": 2, "cost_estimate": 0.159, "cost_currency": "USD"}
        now = datetime.now(UTC)
        add(herald.store, "a", ago=timedelta(hours=1), status="sent", sent_at=now, **sms)
        add(herald.store, "b", ago=timedelta(days=3), status="permanently_failed", error="550")
        add(herald.store, "c", ago=timedelta(hours=5), status="pending")
        monkeypatch.setenv("HERALD_DATABASE_URL", herald.settings.resolved_database_url)

        async def front_doors() -> tuple[dict[str, Any], dict[str, Any]]:
            direct = await herald.dashboard()
            async with serving(create_app(herald)) as url, httpx.AsyncClient(base_url=url) as h:
                return direct, (await h.get("/v1/stats/dashboard")).json()

        direct, over_http = asyncio.run(front_doors())
        assert main(["stats", "dashboard", "--json"]) == EXIT_OK
        from_cli = json.loads(capsys.readouterr().out)

        def figures(doc: dict[str, Any]) -> dict[str, Any]:
            windows = {
                n: {k: v for k, v in w.items() if k != "since"} for n, w in doc["windows"].items()
            }
            return {"windows": windows, "days": doc["days"], "stuck": doc["stuck"]}

        assert figures(direct) == figures(over_http) == figures(from_cli)
        assert direct["windows"]["24h"]["sms"] == {
            "messages": 1,
            "segments": 2,
            "cost": {"USD": 0.159},
        }
        assert direct["windows"]["7d"]["failed"] == 1 and direct["stuck"] == 1

        assert main(["stats", "dashboard"]) == EXIT_OK
        text = capsys.readouterr().out
        assert "last 24 h" in text and "2 seg / 0.16 USD" in text and "stuck" in text
        assert main(["stats", "problems", "--json"]) == EXIT_OK
        problems = json.loads(capsys.readouterr().out)
        assert [r["error"] for r in problems["permanently_failed"]] == ["550"]
        assert [r["status"] for r in problems["stuck"]] == ["pending"]
        assert main(["stats", "problems"]) == EXIT_OK
        assert "failed for good: 1" in capsys.readouterr().out
    finally:
        herald.close()

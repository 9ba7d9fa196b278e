"""The delivery log's filters and summary: through the service layer, and ``herald
deliveries`` (filters, paging by id, ``--summary``, a one-line refusal with exit 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from herald.db import Delivery
from herald.errors import InvalidInput
from herald.service import Herald
from herald.settings import Settings
from herald.store import Store, migrate
from starter.cli import EXIT_INVALID, EXIT_OK, main

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

# (subject id, kind, channel, subscriber, status, hours after T0)
ROWS = [
    ("L1", "loan.overdue", "sms", "ana", "permanently_failed", 0),
    ("L1", "loan.overdue", "email", "ana", "sent", 0),
    ("L2", "loan.overdue", "sms", "bob", "permanently_failed", 5),
    ("L2", "loan.reminder_j1", "sms", "bob", "sent", 10),
    ("L3", "loan.created", "email", "ana", "delivered", 30),
    ("L3", "loan.created", "whatsapp", "ana", "skipped", 30),
]


def seed(store: Store) -> list[int]:
    ids = []
    with store.session() as s, s.begin():
        for n, (loan, kind, channel, who, status, hours) in enumerate(ROWS):
            row = Delivery(
                idempotency_key=f"loan-{loan}|{kind}@{n}|{channel}",
                workflow_id=f"loan-{loan}",
                notification_id=f"{kind}@{n}",
                subject_type="loan",
                subject_id=loan,
                kind=kind,
                role="borrower",
                channel=channel,
                subscriber_id=who,
                recipient=None,
                status=status,
                attempts=1,
                created_at=T0 + timedelta(hours=hours),
            )
            s.add(row)
            s.flush()
            ids.append(row.id)
    return ids


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, list[int]]]:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    store = Store.from_url(url)
    migrate(store.engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    ids = seed(store)
    yield store, ids
    store.close()


@pytest.fixture
def herald(database: tuple[Store, list[int]], tmp_path: Path) -> Herald:
    store, _ = database
    return Herald(None, store, Settings(database_url=f"sqlite:///{tmp_path / 'log.db'}"))


def keys(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["subject_id"], r["channel"], r["status"]) for r in rows]


async def test_the_filters_combine(herald: Herald) -> None:
    failed_sms = await herald.deliveries(status="permanently_failed", channel="sms")
    assert keys(failed_sms) == [
        ("L1", "sms", "permanently_failed"),
        ("L2", "sms", "permanently_failed"),
    ]
    assert keys(await herald.deliveries(kind="loan.overdue", subscriber_id="bob")) == [
        ("L2", "sms", "permanently_failed")
    ]
    # since is inclusive, until is not.
    window = await herald.deliveries(since=T0 + timedelta(hours=5), until=T0 + timedelta(hours=30))
    assert keys(window) == [("L2", "sms", "permanently_failed"), ("L2", "sms", "sent")]
    # An instant in another zone is the same instant.
    plus_one = datetime(2026, 12, 1, 14, 0, tzinfo=timezone(timedelta(hours=1)))  # 13:00Z
    assert len(await herald.deliveries(since=plus_one)) == 4
    assert keys(await herald.deliveries("L3", channel="whatsapp")) == [
        ("L3", "whatsapp", "skipped")
    ]
    # No filter: today's behaviour, every row oldest first.
    assert len(await herald.deliveries()) == len(ROWS)


async def test_pages_by_id(herald: Herald, database: tuple[Store, list[int]]) -> None:
    _, ids = database
    first = await herald.deliveries(channel="sms", limit=2)
    assert [r["id"] for r in first] == [ids[0], ids[2]]
    rest = await herald.deliveries(channel="sms", after=first[-1]["id"], limit=2)
    assert [r["id"] for r in rest] == [ids[3]]
    page, cursor = await herald.delivery_page(status="permanently_failed", limit=1)
    assert [r["id"] for r in page] == [ids[0]] and cursor == str(ids[0])
    page, cursor = await herald.delivery_page(status="permanently_failed", cursor=cursor, limit=1)
    assert [r["id"] for r in page] == [ids[2]] and cursor is None


async def test_summary_counts_by_status_and_channel(herald: Herald) -> None:
    doc = await herald.delivery_summary()
    assert doc["total"] == 6
    assert doc["by_status"] == {"permanently_failed": 2, "sent": 2, "delivered": 1, "skipped": 1}
    assert list(doc["by_channel"].items()) == [("sms", 3), ("email", 2), ("whatsapp", 1)]
    assert await herald.delivery_summary(kind="loan.overdue", until=T0 + timedelta(hours=1)) == {
        "total": 2,
        "by_status": {"permanently_failed": 1, "sent": 1},
        "by_channel": {"email": 1, "sms": 1},
    }
    assert await herald.delivery_summary(subscriber_id="nobody") == {
        "total": 0,
        "by_status": {},
        "by_channel": {},
    }


BAD: list[tuple[dict[str, Any], str]] = [
    ({"status": "lost"}, "unknown status 'lost': use one of pending, sent"),
    ({"channel": "fax"}, "unknown channel 'fax': use one of email, sms, whatsapp, in_app"),
    ({"kind": "loan.late"}, "unknown kind 'loan.late'"),
    ({"subscriber_id": "ana\n"}, "invalid subscriber id"),
    ({"since": datetime(2026, 12, 1, 8, 0)}, "since 2026-12-01T08:00:00 has no time zone offset"),
    ({"since": T0, "until": T0}, "must be before until"),
    ({"since": T0 + timedelta(hours=1), "until": T0}, "must be before until"),
    ({"limit": 0}, "the page size must be a whole number from 1 to 501"),
    ({"limit": 10_000}, "the page size must be a whole number from 1 to 501"),
    ({"after": -1}, "the cursor must be a whole number"),
]


@pytest.mark.parametrize(("filters", "reason"), BAD)
async def test_every_filter_is_checked(
    herald: Herald, filters: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason.replace("(", r"\(").replace(")", r"\)")):
        await herald.deliveries(**filters)
    summary = {k: v for k, v in filters.items() if k not in ("limit", "after")}
    if summary:
        with pytest.raises(InvalidInput):
            await herald.delivery_summary(**summary)


def test_cli_filters_and_pages(
    database: tuple[Store, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, ids = database
    args = ["deliveries", "--status", "permanently_failed", "--channel", "sms", "--json"]
    assert main(args) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [ids[0], ids[2]]
    assert main([*args, "--limit", "1", "--after", str(ids[0])]) == EXIT_OK
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [ids[2]]
    assert (
        main(
            [
                "deliveries",
                "--kind",
                "loan.overdue",
                "--subscriber",
                "ana",
                "--since",
                "2026-12-01T09:00:00+01:00",
                "--until",
                "2026-12-01T10:00:00+01:00",
            ]
        )
        == EXIT_OK
    )
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if "loan.overdue" in line]) == 2


def test_cli_summary(database: tuple[Store, list[int]], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deliveries", "--summary", "--channel", "sms"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "total      3" in out
    assert "by status  permanently_failed 2, sent 1" in out
    assert "by channel sms 3" in out
    assert main(["deliveries", "--summary", "--loan", "L3", "--json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "total": 2,
        "by_status": {"delivered": 1, "skipped": 1},
        "by_channel": {"email": 1, "whatsapp": 1},
    }


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--status", "lost"], "unknown status 'lost'"),
        (["--channel", "fax"], "unknown channel 'fax'"),
        (["--kind", "nope"], "unknown kind 'nope'"),
        (["--subscriber", "a b"], "invalid subscriber id"),
        (["--since", "2026-12-01T08:00:00"], "has no time zone offset"),
        (["--until", "yesterday"], "invalid date-time 'yesterday'"),
        (
            ["--since", "2026-12-02T00:00:00Z", "--until", "2026-12-01T00:00:00Z"],
            "must be before until",
        ),
        (["--limit", "0"], "the page size must be a whole number from 1 to 501"),
        (["--after", "-5"], "the cursor must be a whole number"),
        (["--summary", "--limit", "5"], "--summary counts every matching row"),
        (["--summary", "--status", "lost"], "unknown status 'lost'"),
    ],
)
def test_cli_refuses_a_bad_filter_in_one_line(
    database: tuple[Store, list[int]],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    reason: str,
) -> None:
    assert main(["deliveries", *args]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert reason in err and len(err.splitlines()) == 1

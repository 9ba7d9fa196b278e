"""The inbox's queries on SQLite and PostgreSQL: filters by read state, category, text and
archive, and changes that only ever touch the person's own notifications; and migration
0009 files the rows already there under their kind's category."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from herald import inbox_store
from herald.inbox_store import InboxFilter, like_pattern
from herald.store import Store, alembic_config
from tests.conftest import BACKENDS, migrated_store

TABLES = ("inbox", "group_members", "groups", "templates", "preferences", "subscribers")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with migrated_store(request, tmp_path, tables=TABLES) as s:
        s.upsert_subscriber("ana", name="Ana")
        s.upsert_subscriber("ben", name="Ben")
        yield s


def add(store: Store, key: str, kind: str, title: str, body: str = "", who: str = "ana") -> int:
    return store.add_inbox(
        delivery_key=key,
        subscriber_id=who,
        kind=kind,
        title=title,
        body=body,
        priority="medium",
        link=None,
    )


def titles(store: Store, f: InboxFilter, who: str = "ana") -> list[str]:
    return [r.title for r in inbox_store.list_inbox(store, who, f)]


def test_the_list_filters_by_category_read_state_and_text(store: Store) -> None:
    add(store, "k1", "lead.created", "New lead Acme", "from the fair")
    read = add(store, "k2", "loan.reminder_j1", "Drill due tomorrow", "Bring the DRILL back")
    add(store, "k3", "lead.won", "Lead won", "50% off_season deal")
    add(store, "k4", "digest.daily", "Your digest")
    store.mark_read("ana", [read])

    assert titles(store, InboxFilter(category="leads")) == ["Lead won", "New lead Acme"]
    assert titles(store, InboxFilter(category="loans", read=True)) == ["Drill due tomorrow"]
    assert titles(store, InboxFilter(read=False, category="loans")) == []
    assert titles(store, InboxFilter(search="drill")) == ["Drill due tomorrow"]  # any case
    assert titles(store, InboxFilter(search="FAIR")) == ["New lead Acme"]  # in the body
    # % and _ are the text looked for, not wildcards.
    assert titles(store, InboxFilter(search="50%")) == ["Lead won"]
    assert titles(store, InboxFilter(search="o_f")) == []  # "off" if _ were a wildcard
    assert titles(store, InboxFilter(search="%")) == ["Lead won"]
    assert titles(store, InboxFilter(search="\\")) == []
    [digest] = inbox_store.list_inbox(store, "ana", InboxFilter(search="digest"))
    assert digest.category is None
    assert titles(store, InboxFilter(), who="ben") == []


def test_like_patterns_escape_their_metacharacters() -> None:
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_archived_notifications_leave_the_list_and_the_count_but_stay(store: Store) -> None:
    one = add(store, "k1", "repair.created", "Repair opened")
    two = add(store, "k2", "repair.approved", "Repair approved")
    assert store.count_unread("ana") == 2

    done = inbox_store.archive(store, "ana", [one])
    assert done == {"subscriber_id": "ana", "changed": 1, "unknown": []}
    assert titles(store, InboxFilter()) == ["Repair approved"]
    assert [r.id for r in store.list_inbox("ana")] == [two]
    assert titles(store, InboxFilter(archived=True)) == ["Repair opened"]
    assert store.count_unread("ana") == 1
    # Archiving again changes nothing; archiving all takes the rest.
    assert inbox_store.archive(store, "ana", [one])["changed"] == 0
    assert inbox_store.archive(store, "ana", None)["changed"] == 1
    assert store.count_unread("ana") == 0 and titles(store, InboxFilter()) == []
    assert len(titles(store, InboxFilter(archived=True))) == 2


def test_restored_notifications_come_back_to_the_list_and_the_count(store: Store) -> None:
    one = add(store, "k1", "repair.created", "Repair opened")
    two = add(store, "k2", "repair.approved", "Repair approved")
    store.mark_read("ana", [two])
    inbox_store.archive(store, "ana", None)
    assert store.count_unread("ana") == 0

    done = inbox_store.unarchive(store, "ana", [one])
    assert done == {"subscriber_id": "ana", "changed": 1, "unknown": []}
    assert titles(store, InboxFilter()) == ["Repair opened"]
    assert titles(store, InboxFilter(archived=True)) == ["Repair approved"]
    assert store.count_unread("ana") == 1  # unread, and counted again
    # Restoring one that is not archived changes nothing; all takes the rest, still read.
    assert inbox_store.unarchive(store, "ana", [one])["changed"] == 0
    assert inbox_store.unarchive(store, "ana", None)["changed"] == 1
    assert titles(store, InboxFilter(archived=True)) == []
    assert titles(store, InboxFilter(read=True)) == ["Repair approved"]
    assert store.count_unread("ana") == 1


def test_nobody_changes_another_persons_notifications(store: Store) -> None:
    mine = add(store, "k1", "staff.notice", "Maintenance tonight")
    theirs = add(store, "k2", "staff.notice", "Maintenance tonight", who="ben")
    store.mark_read("ana", None)
    store.mark_read("ben", None)

    done = inbox_store.mark_unread(store, "ana", [mine, theirs, 999_999])
    assert done == {"subscriber_id": "ana", "changed": 1, "unknown": [theirs, 999_999]}
    assert store.count_unread("ana") == 1
    assert store.count_unread("ben") == 0  # Ben's stays read
    assert inbox_store.archive(store, "ana", [theirs])["unknown"] == [theirs]
    inbox_store.archive(store, "ben", None)
    assert inbox_store.unarchive(store, "ana", [theirs]) == {
        "subscriber_id": "ana",
        "changed": 0,
        "unknown": [theirs],
    }
    assert inbox_store.unarchive(store, "ana", None)["changed"] == 0  # Ana's all: none
    assert titles(store, InboxFilter(archived=True), who="ben") == ["Maintenance tonight"]
    inbox_store.unarchive(store, "ben", None)
    assert titles(store, InboxFilter(), who="ben") == ["Maintenance tonight"]
    # Unread again twice: the second changes nothing.
    assert inbox_store.mark_unread(store, "ana", [mine])["changed"] == 0


def test_migration_0009_files_existing_rows_under_their_category(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0008")
            for i, kind in enumerate(("lead.created", "followup.due", "digest.daily")):
                conn.exec_driver_sql(
                    "INSERT INTO inbox (delivery_key, subscriber_id, kind, title, body, "
                    "priority, created_at) VALUES (?, 'ana', ?, 't', 'b', 'low', "
                    "'2026-12-01 10:00:00')",
                    (f"k{i}", kind),
                )
            command.upgrade(cfg, "head")
            rows = conn.exec_driver_sql("SELECT kind, category, archived_at FROM inbox").all()
    finally:
        engine.dispose()
    assert sorted(rows) == [
        ("digest.daily", None, None),
        ("followup.due", "followups", None),
        ("lead.created", "leads", None),
    ]

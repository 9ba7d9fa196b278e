"""Retention: old delivery-log rows, old read inbox entries and the daily summary's facts
about follow-ups closed and leads assigned long ago go, in small batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from herald.contracts import PurgeInput
from herald.db import CrmFollowUp, CrmLeadAssignment, Delivery, InboxNotification, utcnow
from herald.settings import Settings
from herald.store import Store
from tests.conftest import BACKENDS, migrated_store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    tables = ("delivery_events", "deliveries", "inbox", "crm_followups", "crm_lead_assignments")
    with migrated_store(request, tmp_path, tables=tables) as s:
        yield s


def seed(store: Store) -> None:
    now = utcnow()
    old, recent = now - timedelta(days=120), now - timedelta(days=10)
    rows = [
        {
            "idempotency_key": f"k{i}",
            "workflow_id": "w",
            "notification_id": "n",
            "subject_type": "loan",
            "subject_id": "L",
            "kind": "loan.created",
            "role": "borrower",
            "channel": "email",
            "subscriber_id": "s",
            "status": "sent",
            "attempts": 1,
            "created_at": at,
            "updated_at": at,
        }
        for i, at in enumerate([old] * 7 + [recent] * 2)
    ]
    inbox = [
        {
            "delivery_key": f"i{i}",
            "subscriber_id": "s",
            "kind": "loan.created",
            "title": "t",
            "body": "b",
            "priority": "low",
            "created_at": created,
            "read_at": read,
        }
        for i, (created, read) in enumerate(
            [(old, old)] * 4 + [(old, None)] * 2 + [(recent, recent)]
        )
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(Delivery), rows)
        conn.execute(insert(InboxNotification), inbox)


def count(store: Store, model: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_purge_deletes_only_what_retention_allows_in_small_batches(store: Store) -> None:
    seed(store)
    acts = DeliveryActivities(store, {}, Settings())
    result = ActivityEnvironment().run(
        acts.purge_old_records, PurgeInput(retention_days=90, batch_size=3)
    )
    assert (result.deliveries, result.inbox) == (7, 4)
    assert result.batches == 3 + 2  # 7 rows in batches of 3, 4 rows in batches of 3
    assert count(store, Delivery) == 2  # the recent ones
    with store.session() as s:
        left = list(s.scalars(select(InboxNotification)))
    assert len(left) == 3 and sum(1 for n in left if n.read_at is None) == 2  # unread stay
    again = ActivityEnvironment().run(acts.purge_old_records, PurgeInput(retention_days=90))
    assert (again.deliveries, again.inbox, again.batches) == (0, 0, 0)


def test_purge_forgets_closed_followups_and_old_assignments_keeps_open_ones(store: Store) -> None:
    old, now = utcnow() - timedelta(days=120), utcnow()
    followups = [
        {"followup_id": fid, "assignee_id": "ana", "title": "t", "due_at": old, "state": state,
         "updated_at": updated}
        for fid, state, updated in (
            ("F-done", "COMPLETED", old),
            ("F-gone", "CANCELLED", old),
            ("F-open", "OVERDUE", old),
            ("F-just-done", "COMPLETED", now),
        )
    ]  # fmt: skip
    leads = [
        {"lead_id": lid, "assignee_id": "ana", "assigned_at": at, "event_id": lid,
         "updated_at": at}
        for lid, at in (("LD-old", old), ("LD-new", now))
    ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(CrmFollowUp), followups)
        conn.execute(insert(CrmLeadAssignment), leads)
    acts = DeliveryActivities(store, {}, Settings())
    result = ActivityEnvironment().run(
        acts.purge_old_records, PurgeInput(retention_days=90, batch_size=2)
    )
    assert (result.deliveries, result.inbox, result.crm_facts) == (0, 0, 3)
    with store.session() as s:
        assert sorted(s.scalars(select(CrmFollowUp.followup_id))) == ["F-just-done", "F-open"]
        assert list(s.scalars(select(CrmLeadAssignment.lead_id))) == ["LD-new"]

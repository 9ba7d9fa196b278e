"""The CRM facts and the daily summary's setting on SQLite and PostgreSQL: a follow-up
recorded as it changes, a lead kept with its latest assignment, a person's candidates for a
summary window, the setting's version, and the housekeeping purge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from herald import crm_store
from herald.contracts import FollowUpState
from herald.crm_facts import FollowUpFact, LeadAssignmentFact
from herald.daily_summary import SummaryWindow, assemble
from herald.db import CrmFollowUp, CrmLeadAssignment
from herald.store import Store
from tests.conftest import BACKENDS, migrated_store

TABLES = (
    "crm_followups",
    "crm_lead_assignments",
    "daily_summaries",
    "preferences",
    "subscribers",
)
T0 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 in Paris
WINDOW = SummaryWindow(
    day=date(2026, 11, 24), at=T0, since=T0 - timedelta(days=1), day_end=T0 + timedelta(hours=16)
)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with migrated_store(request, tmp_path, tables=TABLES) as s:
        s.upsert_subscriber("ana", name="Ana", timezone="Europe/Paris")
        s.upsert_subscriber("ben", name="Ben", timezone="America/New_York")
        yield s


def fact(
    fid: str, due: datetime, state: FollowUpState = FollowUpState.OPEN, **kw: object
) -> FollowUpFact:
    return FollowUpFact.model_validate(
        {
            "followup_id": fid,
            "assignee_id": "ana",
            "title": f"Call {fid}",
            "due_at": due,
            "state": state,
            **kw,
        }
    )


def test_a_followup_is_recorded_as_it_changes(store: Store) -> None:
    first = fact("F-1", T0 + timedelta(hours=2), customer="ACME", link="https://crm.example/f/1")
    crm_store.record_followup(store, first)
    assert crm_store.get_followup(store, "F-1") == first
    moved = first.model_copy(update={"assignee_id": "ben", "due_at": T0 + timedelta(days=2)})
    crm_store.record_followup(store, moved)
    done = moved.model_copy(
        update={"state": FollowUpState.COMPLETED, "completed_at": T0 + timedelta(minutes=5)}
    )
    crm_store.record_followup(store, done)
    got = crm_store.get_followup(store, "F-1")
    assert got == done and got is not None and got.completed_at == T0 + timedelta(minutes=5)
    assert got.due_at.tzinfo is not None
    with store.session() as s:
        assert s.query(CrmFollowUp).count() == 1


def test_a_lead_keeps_its_latest_assignment(store: Store) -> None:
    created = LeadAssignmentFact(
        lead_id="LD-7",
        assignee_id="ana",
        assigned_at=T0 - timedelta(hours=3),
        event_id="e1",
        name="40 laptops",
        company="ACME",
    )
    assert crm_store.record_lead_assignment(store, created)
    given = LeadAssignmentFact(
        lead_id="LD-7", assignee_id="ben", assigned_at=T0 - timedelta(hours=1), event_id="e2"
    )
    assert crm_store.record_lead_assignment(store, given)
    # The creation delivered again, late: the later assignment stays.
    assert not crm_store.record_lead_assignment(store, created)
    got = crm_store.get_lead_assignment(store, "LD-7")
    assert got is not None
    assert (got.assignee_id, got.event_id, got.assigned_at) == ("ben", "e2", given.assigned_at)
    # What the assignment event left out keeps the value the creation gave.
    assert (got.name, got.company) == ("40 laptops", "ACME")


def test_a_persons_candidates_are_their_own_within_the_window(store: Store) -> None:
    done = FollowUpState.COMPLETED
    for f in (
        fact("due", T0 + timedelta(hours=3)),
        fact("late", T0 - timedelta(days=3), FollowUpState.OVERDUE),
        fact("tomorrow", WINDOW.day_end + timedelta(hours=1)),
        fact("done", T0 + timedelta(days=1), done, completed_at=T0 - timedelta(hours=2)),
        fact("done-long-ago", T0, done, completed_at=T0 - timedelta(days=3)),
        fact("cancelled", T0 + timedelta(hours=1), FollowUpState.CANCELLED),
        fact("bens", T0 + timedelta(hours=1), assignee_id="ben"),
    ):
        crm_store.record_followup(store, f)
    for lid, who, at in (
        ("LD-new", "ana", T0 - timedelta(hours=5)),
        ("LD-old", "ana", T0 - timedelta(days=2)),
        ("LD-ben", "ben", T0 - timedelta(hours=5)),
    ):
        crm_store.record_lead_assignment(
            store, LeadAssignmentFact(lead_id=lid, assignee_id=who, assigned_at=at, event_id=lid)
        )
    followups, leads = crm_store.summary_candidates(store, "ana", WINDOW)
    assert sorted(f.followup_id for f in followups) == ["done", "due", "late"]
    assert [lead.lead_id for lead in leads] == ["LD-new"]
    summary = assemble("ana", WINDOW, followups, leads)
    assert summary.describe() == "1 due, 1 overdue, 1 completed, 1 leads assigned"


def test_the_summary_setting_and_its_version(store: Store) -> None:
    off = crm_store.summary_setting(store, "ana")
    assert off is not None and off.at is None and off.version is None
    assert off.timezone == "Europe/Paris"
    on = crm_store.set_summary_at(store, "ana", time(8, 0))
    assert on.at == time(8, 0) and on.version is not None
    moved = crm_store.set_summary_at(store, "ana", time(18, 30))
    assert moved.at == time(18, 30) and moved.newer_than(on) and moved.version != on.version
    stopped = crm_store.set_summary_at(store, "ana", None)
    assert stopped.at is None and stopped.newer_than(moved)
    assert crm_store.summary_setting(store, "ana") == stopped
    assert crm_store.summary_setting(store, "nobody") is None
    ben = crm_store.set_summary_at(store, "ben", time(7, 15))
    assert ben.timezone == "America/New_York"


def test_housekeeping_forgets_closed_followups_and_old_assignments(store: Store) -> None:
    now = datetime.now(UTC)
    closed = (FollowUpState.COMPLETED, FollowUpState.CANCELLED)
    for i, state in enumerate((FollowUpState.OPEN, FollowUpState.OVERDUE, *closed)):
        crm_store.record_followup(store, fact(f"F-{i}", now - timedelta(days=200), state))
    crm_store.record_followup(store, fact("F-recent", now, FollowUpState.COMPLETED))
    for lid, days in (("LD-old", 200), ("LD-new", 1)):
        crm_store.record_lead_assignment(
            store,
            LeadAssignmentFact(
                lead_id=lid, assignee_id="ana", assigned_at=now - timedelta(days=days), event_id=lid
            ),
        )
    with store.session() as s:  # closed long ago
        s.query(CrmFollowUp).filter(CrmFollowUp.followup_id.in_(["F-2", "F-3"])).update(
            {CrmFollowUp.updated_at: now - timedelta(days=100)}
        )
        s.commit()
    removed, batches = crm_store.purge_crm_facts(store, now - timedelta(days=90), batch_size=1)
    assert removed == 3 and batches == 3
    with store.session() as s:
        kept = sorted(s.scalars(s.query(CrmFollowUp.followup_id).statement))
        leads = list(s.scalars(s.query(CrmLeadAssignment.lead_id).statement))
    # Open follow-ups stay whatever their age; a closed one stays until its time comes.
    assert kept == ["F-0", "F-1", "F-recent"]
    assert leads == ["LD-new"]

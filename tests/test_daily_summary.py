"""The personal daily summary, pure: when it goes (local hour, DST, one per local day), what
it covers, and how a person's facts are sorted into its four parts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from herald.contracts import CrmEventInput, CrmSubject, FollowUpState
from herald.crm import assignment_of
from herald.crm_facts import FollowUpFact, LeadAssignmentFact
from herald.daily_summary import (
    SummarySetting,
    SummaryWindow,
    assemble,
    next_summary_at,
    parse_summary_at,
    summary_window,
)

PARIS = "Europe/Paris"
EIGHT = time(8, 0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------ the hour


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00", time(8, 0)),
        ("8:05", time(8, 5)),
        (" 18:30 ", time(18, 30)),
        ("23:59", time(23, 59)),
        ("00:00", time(0, 0)),
        ("off", None),
        ("OFF", None),
        ("", None),
        (None, None),
    ],
)
def test_summary_hours_that_are_accepted(text: str | None, expected: time | None) -> None:
    assert parse_summary_at(text) == expected


@pytest.mark.parametrize(
    "text",
    ["24:00", "08:60", "8", "08h00", "08:00:00", "-1:00", "08:00\x00", "08:00\n09:00",
     "٠٨:٠٠", "08:00" * 100, "tomorrow"],
)  # fmt: skip
def test_summary_hours_that_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time of day like 08:00") as caught:
        parse_summary_at(text)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


def test_a_summary_hour_must_be_text() -> None:
    with pytest.raises(ValueError, match="must be text like 08:00, not int"):
        parse_summary_at(8)  # type: ignore[arg-type]


# ------------------------------------------------------------------ when it goes


def test_the_next_summary_is_today_if_the_hour_is_ahead_else_tomorrow() -> None:
    # 2026-11-24: Paris is UTC+1, so 08:00 there is 07:00 UTC.
    assert next_summary_at(utc(2026, 11, 24, 5, 0), EIGHT, PARIS, None) == utc(2026, 11, 24, 7)
    assert next_summary_at(utc(2026, 11, 24, 7, 0), EIGHT, PARIS, None) == utc(2026, 11, 24, 7)
    assert next_summary_at(utc(2026, 11, 24, 7, 1), EIGHT, PARIS, None) == utc(2026, 11, 25, 7)


def test_one_summary_per_local_day() -> None:
    """Sent today: the next is tomorrow, even if the hour moved later today."""
    today = date(2026, 11, 24)
    assert next_summary_at(utc(2026, 11, 24, 5), EIGHT, PARIS, today) == utc(2026, 11, 25, 7)
    assert next_summary_at(utc(2026, 11, 24, 9), time(18, 0), PARIS, today) == utc(2026, 11, 25, 17)
    assert next_summary_at(utc(2026, 11, 24, 5), EIGHT, PARIS, today - timedelta(days=1)) == utc(
        2026, 11, 24, 7
    )


def test_the_local_day_is_the_persons_own() -> None:
    """At 23:30 UTC it is already tomorrow in Paris, and the day after in Kiritimati."""
    now = utc(2026, 11, 24, 23, 30)
    assert next_summary_at(now, EIGHT, PARIS, date(2026, 11, 24)) == utc(2026, 11, 25, 7)
    assert next_summary_at(now, EIGHT, PARIS, date(2026, 11, 25)) == utc(2026, 11, 26, 7)
    # UTC+14: 08:00 on the 25th there is 18:00 UTC on the 24th, already past.
    assert next_summary_at(now, EIGHT, "Pacific/Kiritimati", None) == utc(2026, 11, 25, 18)


def _daily(start: datetime, at: time, timezone: str, days: int) -> list[datetime]:
    """``days`` summaries in a row, each after the last one's day."""
    fired: list[datetime] = []
    now, last = start, None
    for _ in range(days):
        fire = next_summary_at(now, at, timezone, last)
        fired.append(fire)
        last = fire.astimezone(ZoneInfo(timezone)).date()
        now = fire + timedelta(minutes=3)
    return fired


def test_eight_stays_eight_across_the_spring_change() -> None:
    # Paris moves to UTC+2 on Sunday 29 March 2026: 08:00 is 07:00 UTC, then 06:00 UTC.
    fired = _daily(utc(2026, 3, 27, 0), EIGHT, PARIS, 4)
    assert fired == [
        utc(2026, 3, 27, 7),
        utc(2026, 3, 28, 7),
        utc(2026, 3, 29, 6),
        utc(2026, 3, 30, 6),
    ]


def test_eight_stays_eight_across_the_autumn_change() -> None:
    # Back to UTC+1 on Sunday 25 October 2026; New York on Sunday 1 November.
    fired = _daily(utc(2026, 10, 24, 0), EIGHT, PARIS, 3)
    assert fired == [utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)]
    fired = _daily(utc(2026, 10, 31, 0), EIGHT, "America/New_York", 3)
    assert fired == [utc(2026, 10, 31, 12), utc(2026, 11, 1, 13), utc(2026, 11, 2, 13)]


def test_an_hour_inside_the_spring_gap_moves_forward_and_an_ambiguous_one_is_the_first() -> None:
    # 02:30 does not exist in Paris on 29 March 2026 (02:00 → 03:00): 03:30 CEST.
    assert next_summary_at(utc(2026, 3, 28, 12), time(2, 30), PARIS, date(2026, 3, 28)) == utc(
        2026, 3, 29, 1, 30
    )
    # 02:30 happens twice on 25 October 2026: the first, still in summer time.
    assert next_summary_at(utc(2026, 10, 24, 12), time(2, 30), PARIS, date(2026, 10, 24)) == utc(
        2026, 10, 25, 0, 30
    )


# ------------------------------------------------------------------ what it covers


def test_the_first_summary_covers_the_day_before_from_the_same_hour() -> None:
    window = summary_window(utc(2026, 11, 24, 7), EIGHT, PARIS, None)
    assert window.day == date(2026, 11, 24)
    assert window.since == utc(2026, 11, 23, 7)
    assert window.day_end == utc(2026, 11, 24, 23)  # local midnight


def test_a_summary_covers_what_came_since_the_last_one() -> None:
    # Moved from 08:00 to 18:00: the 18:00 summary starts where the 08:00 one ended.
    window = summary_window(utc(2026, 11, 25, 17), time(18, 0), PARIS, utc(2026, 11, 24, 7))
    assert window.since == utc(2026, 11, 24, 7)
    # A last one long ago (the summary was off for a while): one day back only.
    window = summary_window(utc(2026, 11, 25, 17), time(18, 0), PARIS, utc(2026, 11, 2, 7))
    assert window.since == utc(2026, 11, 24, 17)


def test_the_window_follows_dst() -> None:
    # The spring Sunday has 23 hours: the day before at 08:00 is 23 hours earlier.
    window = summary_window(utc(2026, 3, 29, 6), EIGHT, PARIS, None)
    assert window.since == utc(2026, 3, 28, 7)
    assert window.day_end == utc(2026, 3, 29, 22)


# ------------------------------------------------------------------ what it says

WINDOW = SummaryWindow(
    day=date(2026, 11, 24),
    at=utc(2026, 11, 24, 7),  # 08:00 in Paris
    since=utc(2026, 11, 23, 7),
    day_end=utc(2026, 11, 24, 23),
)


def followup(fid: str, due: datetime, state: FollowUpState = FollowUpState.OPEN, **kw: Any) -> Any:
    return FollowUpFact(
        followup_id=fid,
        assignee_id=kw.pop("who", "ana"),
        title=f"task {fid}",
        due_at=due,
        state=state,
        **kw,
    )


def lead(lid: str, at: datetime, who: str = "ana") -> LeadAssignmentFact:
    return LeadAssignmentFact(lead_id=lid, assignee_id=who, assigned_at=at, event_id=f"e-{lid}")


def test_facts_are_sorted_into_due_overdue_completed_and_leads() -> None:
    done = FollowUpState.COMPLETED
    facts = [
        followup("due-late", utc(2026, 11, 24, 16)),
        followup("due-soon", utc(2026, 11, 24, 9)),
        followup("due-now", WINDOW.at),  # due at the summary's instant: still due today
        followup("tomorrow", utc(2026, 11, 24, 23)),  # at local midnight: tomorrow's
        followup("late-old", utc(2026, 11, 20, 9), FollowUpState.OVERDUE),
        followup("late-new", utc(2026, 11, 24, 6)),  # before 08:00, not yet marked overdue
        followup("done", utc(2026, 11, 25, 9), done, completed_at=utc(2026, 11, 23, 15)),
        followup("done-early", utc(2026, 11, 25, 9), done, completed_at=utc(2026, 11, 23, 6)),
        followup("done-now", utc(2026, 11, 25, 9), done, completed_at=WINDOW.at),  # next time
        followup("cancelled", utc(2026, 11, 24, 10), FollowUpState.CANCELLED),
        followup("bens", utc(2026, 11, 24, 10), who="ben"),
    ]
    leads = [
        lead("LD-2", utc(2026, 11, 24, 6)),
        lead("LD-1", utc(2026, 11, 23, 12)),
        lead("LD-old", utc(2026, 11, 23, 6)),
        lead("LD-ben", utc(2026, 11, 23, 12), who="ben"),
    ]
    summary = assemble("ana", WINDOW, facts, leads)
    assert [f.followup_id for f in summary.due] == ["due-now", "due-soon", "due-late"]
    assert [f.followup_id for f in summary.overdue] == ["late-old", "late-new"]
    assert [f.followup_id for f in summary.completed] == ["done"]
    assert [lead.lead_id for lead in summary.leads] == ["LD-1", "LD-2"]
    assert (summary.due_count, summary.overdue_count) == (3, 2)
    assert (summary.completed_count, summary.leads_count) == (1, 2)
    assert not summary.empty
    assert summary.describe() == "3 due, 2 overdue, 1 completed, 2 leads assigned"


def test_long_lists_are_cut_and_counted() -> None:
    facts = [followup(f"F{i}", utc(2026, 11, 24, 10, i)) for i in range(5)]
    summary = assemble("ana", WINDOW, facts, [], limit=2)
    assert [f.followup_id for f in summary.due] == ["F0", "F1"]
    assert summary.due_count == 5


def test_a_day_with_nothing_of_ones_own_is_empty() -> None:
    facts = [
        followup("bens", utc(2026, 11, 24, 10), who="ben"),
        followup("later", utc(2026, 11, 26, 10)),
        followup("gone", utc(2026, 11, 24, 10), FollowUpState.CANCELLED),
    ]
    summary = assemble("ana", WINDOW, facts, [lead("LD-ben", utc(2026, 11, 24, 1), "ben")])
    assert summary.empty and summary.describe().startswith("0 due, 0 overdue")


def test_a_setting_reading_orders_by_version() -> None:
    old = SummarySetting(at=EIGHT, timezone=PARIS, version=utc(2026, 11, 24, 7))
    new = SummarySetting(at=time(18, 0), timezone=PARIS, version=utc(2026, 11, 24, 8))
    assert new.newer_than(old) and not old.newer_than(new)
    assert old.newer_than(None) and old.newer_than(old)
    assert new.describe() == "at 18:00 Europe/Paris"
    assert SummarySetting(at=None, timezone=PARIS).describe() == "off"


def test_lead_events_that_give_a_lead_to_someone_are_assignments() -> None:
    def event(type_: str, **data: Any) -> CrmEventInput:
        return CrmEventInput(
            event_id="e1",
            subject_type=CrmSubject.LEAD,
            subject_id="LD-7",
            type=type_,
            occurred_at=utc(2026, 11, 24, 9),
            data=data,
        )

    created = assignment_of(event("created", assignee_id="ana", name="40 laptops"))
    assert created is not None and (created.assignee_id, created.name) == ("ana", "40 laptops")
    moved = assignment_of(event("assigned", assignee_id="ben", previous_assignee_id="ana"))
    assert moved is not None and moved.assignee_id == "ben"
    assert moved.assigned_at == utc(2026, 11, 24, 9) and moved.event_id == "e1"
    assert assignment_of(event("created")) is None  # nobody's yet
    assert assignment_of(event("stage_changed", stage="won", assignee_id="ana")) is None
    user = event("welcome").model_copy(update={"subject_type": CrmSubject.USER})
    assert assignment_of(user) is None

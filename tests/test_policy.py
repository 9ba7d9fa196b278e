"""The reminder policy (herald/policy.py): pure planning, no server.

Instants are written in UTC with the local wall-clock time in a comment; every calendar
point of the default policy must fall at 08:00 in the borrower's own time zone.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from herald.kinds import KINDS
from herald.policy import (
    BUILTIN_POLICIES,
    LoanClass,
    LoanPolicy,
    OverduePolicy,
    PlannedPoint,
    PointSpec,
    load_policy,
    local_instant,
    overdue_instants,
    plan_loan,
)

DEFAULT = load_policy("default")
DEMO = load_policy("demo")
PARIS = "Europe/Paris"
EIGHT = time(8, 0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def plan(
    due: datetime,
    length: timedelta,
    tz: str = PARIS,
    *,
    now: datetime | None = None,
    policy: LoanPolicy = DEFAULT,
) -> list[PlannedPoint]:
    borrowed = due - length
    return plan_loan(
        policy, borrowed_at=borrowed, due_at=due, timezone=tz, now=borrowed if now is None else now
    )


def schedule(points: list[PlannedPoint]) -> list[tuple[str, datetime]]:
    return [(p.kind, p.at) for p in points]


def reminders(points: list[PlannedPoint]) -> list[PlannedPoint]:
    return [p for p in points if p.kind != "loan.overdue"]


def overdue(points: list[PlannedPoint]) -> list[PlannedPoint]:
    return [p for p in points if p.kind == "loan.overdue"]


# ------------------------------------------------------------------ loan classes

# Tuesday 24 November 2026, 10:00 in Paris (CET, UTC+1).
DUE = utc(2026, 11, 24, 9, 0)
OVERDUE_AFTER_DUE = [
    ("loan.overdue", utc(2026, 11, 24, 9, 15)),  # 10:15 Paris, 15 min after due
    ("loan.overdue", utc(2026, 11, 25, 7, 0)),  # Wed 08:00 Paris
    ("loan.overdue", utc(2026, 11, 26, 7, 0)),  # Thu 08:00 Paris
]


@pytest.mark.parametrize(
    ("length", "class_name", "expected"),
    [
        pytest.param(
            timedelta(hours=10),
            "court terme",
            [("loan.reminder_2h", utc(2026, 11, 24, 7, 0))],  # 08:00 Paris = due - 2 h
            id="10h-court",
        ),
        pytest.param(
            timedelta(hours=48),
            "moyen terme",
            [
                ("loan.reminder_j1", utc(2026, 11, 23, 7, 0)),  # Mon 08:00 Paris
                ("loan.reminder_2h", utc(2026, 11, 24, 7, 0)),  # due - 2 h
            ],
            id="48h-moyen",
        ),
        pytest.param(
            timedelta(days=5),
            "long terme",
            [
                ("loan.reminder_j2", utc(2026, 11, 22, 7, 0)),  # Sun 08:00 Paris
                ("loan.reminder_j1", utc(2026, 11, 23, 7, 0)),  # Mon 08:00 Paris
                ("loan.due_today", utc(2026, 11, 24, 7, 0)),  # Tue 08:00 Paris
            ],
            id="5d-long",
        ),
    ],
)
def test_each_loan_class_exact_instants(
    length: timedelta, class_name: str, expected: list[tuple[str, datetime]]
) -> None:
    assert DEFAULT.classify(length).name == class_name
    points = plan(DUE, length)
    assert schedule(points) == expected + OVERDUE_AFTER_DUE
    assert all(p.skipped_reason is None for p in points)
    assert all(p.at.tzinfo is not None and p.at.utcoffset() == timedelta(0) for p in points)
    assert [p.manager_copy for p in overdue(points)] == [False, True, True]
    assert [p.occurrence for p in overdue(points)] == [1, 2, 3]
    assert all(p.occurrence == 1 and not p.manager_copy for p in reminders(points))


@pytest.mark.parametrize(
    ("length", "class_name", "kinds"),
    [
        (timedelta(hours=23, minutes=59), "court terme", ["loan.reminder_2h"]),
        (timedelta(hours=24) - timedelta(seconds=1), "court terme", ["loan.reminder_2h"]),
        (timedelta(hours=24), "moyen terme", ["loan.reminder_j1", "loan.reminder_2h"]),
        (timedelta(hours=72), "moyen terme", ["loan.reminder_j1", "loan.reminder_2h"]),
        (
            timedelta(hours=72, seconds=1),
            "long terme",
            ["loan.reminder_j2", "loan.reminder_j1", "loan.due_today"],
        ),
    ],
    ids=["23h59", "24h-1s", "24h", "72h", "72h+1s"],
)
def test_class_boundaries(length: timedelta, class_name: str, kinds: list[str]) -> None:
    assert DEFAULT.classify(length).name == class_name
    due = utc(2026, 11, 24, 16, 0)  # 17:00 Paris: every 08:00 point falls before it
    points = plan(due, length, now=due - timedelta(days=10))
    assert [p.kind for p in reminders(points)] == kinds
    assert all(p.skipped_reason is None for p in points)


def test_plan_is_sorted_and_stable() -> None:
    first = plan(DUE, timedelta(days=5))
    again = plan(DUE, timedelta(days=5))
    assert [p.at for p in first] == sorted(p.at for p in first)
    assert [p.key(DUE) for p in first] == [p.key(DUE) for p in again]
    assert [p.key(DUE) for p in first] == [
        "loan.reminder_j2@20261124T090000Z",
        "loan.reminder_j1@20261124T090000Z",
        "loan.due_today@20261124T090000Z",
        "loan.overdue@20261124T090000Z",
        "loan.overdue#2@20261124T090000Z",
        "loan.overdue#3@20261124T090000Z",
    ]


def test_due_time_given_in_another_offset_is_normalised_to_utc() -> None:
    due_paris = DUE.astimezone(ZoneInfo(PARIS))
    assert schedule(plan(due_paris, timedelta(days=5))) == schedule(plan(DUE, timedelta(days=5)))
    point = PlannedPoint(kind="loan.due_today", at=DUE)
    assert point.key(due_paris) == point.key(DUE) == "loan.due_today@20261124T090000Z"


# ------------------------------------------------------------------ daylight saving time


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        pytest.param(
            # Monday 30 March 2026 10:00 CEST; DST began Sunday 29 March 02:00 -> 03:00.
            utc(2026, 3, 30, 8, 0),
            [
                ("loan.reminder_j2", utc(2026, 3, 28, 7, 0)),  # Sat 08:00 CET (+01:00)
                ("loan.reminder_j1", utc(2026, 3, 29, 6, 0)),  # Sun 08:00 CEST (+02:00)
                ("loan.due_today", utc(2026, 3, 30, 6, 0)),  # Mon 08:00 CEST
                ("loan.overdue", utc(2026, 3, 30, 8, 15)),
                ("loan.overdue", utc(2026, 3, 31, 6, 0)),
                ("loan.overdue", utc(2026, 4, 1, 6, 0)),
            ],
            id="spring-forward",
        ),
        pytest.param(
            # Monday 26 October 2026 10:00 CET; DST ended Sunday 25 October 03:00 -> 02:00.
            utc(2026, 10, 26, 9, 0),
            [
                ("loan.reminder_j2", utc(2026, 10, 24, 6, 0)),  # Sat 08:00 CEST (+02:00)
                ("loan.reminder_j1", utc(2026, 10, 25, 7, 0)),  # Sun 08:00 CET (+01:00)
                ("loan.due_today", utc(2026, 10, 26, 7, 0)),  # Mon 08:00 CET
                ("loan.overdue", utc(2026, 10, 26, 9, 15)),
                ("loan.overdue", utc(2026, 10, 27, 7, 0)),
                ("loan.overdue", utc(2026, 10, 28, 7, 0)),
            ],
            id="fall-back",
        ),
    ],
)
def test_long_loan_across_dst_change(due: datetime, expected: list[tuple[str, datetime]]) -> None:
    points = plan(due, timedelta(days=7))
    assert schedule(points) == expected
    tz = ZoneInfo(PARIS)
    for p in reminders(points):
        assert p.at.astimezone(tz).time() == EIGHT


@pytest.mark.parametrize(
    ("due", "second", "third"),
    [
        pytest.param(
            utc(2026, 3, 27, 17, 0),  # Friday 18:00 CET
            utc(2026, 3, 28, 7, 0),  # Sat 08:00 CET (+01:00)
            utc(2026, 3, 29, 6, 0),  # Sun 08:00 CEST (+02:00)
            id="spring-forward",
        ),
        pytest.param(
            utc(2026, 10, 23, 16, 0),  # Friday 18:00 CEST
            utc(2026, 10, 24, 6, 0),  # Sat 08:00 CEST (+02:00)
            utc(2026, 10, 25, 7, 0),  # Sun 08:00 CET (+01:00)
            id="fall-back",
        ),
    ],
)
def test_overdue_series_across_dst_change(due: datetime, second: datetime, third: datetime) -> None:
    tz = ZoneInfo(PARIS)
    instants = overdue_instants(DEFAULT.overdue, due, tz)
    assert instants == [due + timedelta(minutes=15), second, third]
    local_2, local_3 = (i.astimezone(tz) for i in instants[1:])
    assert local_2.time() == local_3.time() == EIGHT
    assert local_2.utcoffset() != local_3.utcoffset()
    assert third - second != timedelta(days=1)  # 23 h in spring, 25 h in autumn


def test_local_instant_in_spring_gap_moves_forward() -> None:
    tz = ZoneInfo(PARIS)
    # 02:30 does not exist on 29 March 2026 in Paris: read with the offset before the gap
    # (CET, +01:00), i.e. 01:30 UTC, which is 03:30 CEST on the wall clock.
    at = local_instant(date(2026, 3, 29), time(2, 30), tz)
    assert at == utc(2026, 3, 29, 1, 30)
    assert at.astimezone(tz).time() == time(3, 30)
    assert at.astimezone(tz).utcoffset() == timedelta(hours=2)


def test_local_instant_in_autumn_fold_takes_first_occurrence() -> None:
    tz = ZoneInfo(PARIS)
    # 02:30 happens twice on 25 October 2026 in Paris: fold=0, the first one (CEST, +02:00).
    at = local_instant(date(2026, 10, 25), time(2, 30), tz)
    assert at == utc(2026, 10, 25, 0, 30)
    assert at != datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=tz).astimezone(UTC)  # 01:30 UTC
    assert at.astimezone(tz).replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)


def test_local_instant_ordinary_days() -> None:
    tz = ZoneInfo(PARIS)
    assert local_instant(date(2026, 1, 15), EIGHT, tz) == utc(2026, 1, 15, 7, 0)
    assert local_instant(date(2026, 7, 15), EIGHT, tz) == utc(2026, 7, 15, 6, 0)
    assert local_instant(date(2026, 7, 15), EIGHT, tz).tzinfo is UTC


# ------------------------------------------------------------------ far-away time zones


@pytest.mark.parametrize(
    ("tz", "due", "j2", "j1", "due_today"),
    [
        pytest.param(
            "Pacific/Auckland",  # NZDT, UTC+13 in January
            utc(2026, 1, 13, 20, 0),  # Tuesday 20:00 UTC = Wednesday 14 Jan 09:00 NZDT
            utc(2026, 1, 11, 19, 0),  # Mon 12 Jan 08:00 NZDT
            utc(2026, 1, 12, 19, 0),  # Tue 13 Jan 08:00 NZDT
            utc(2026, 1, 13, 19, 0),  # Wed 14 Jan 08:00 NZDT
            id="auckland",
        ),
        pytest.param(
            "Pacific/Honolulu",  # HST, UTC-10
            utc(2026, 6, 10, 3, 0),  # Wednesday 03:00 UTC = Tuesday 9 June 17:00 HST
            utc(2026, 6, 7, 18, 0),  # Sun 7 June 08:00 HST
            utc(2026, 6, 8, 18, 0),  # Mon 8 June 08:00 HST
            utc(2026, 6, 9, 18, 0),  # Tue 9 June 08:00 HST
            id="honolulu",
        ),
        pytest.param(
            "Asia/Kolkata",  # IST, UTC+05:30
            utc(2026, 6, 10, 6, 0),  # 11:30 IST
            utc(2026, 6, 8, 2, 30),
            utc(2026, 6, 9, 2, 30),
            utc(2026, 6, 10, 2, 30),
            id="kolkata",
        ),
        pytest.param(
            "America/St_Johns",  # NST, UTC-03:30 in January
            utc(2026, 1, 15, 15, 0),  # 11:30 NST
            utc(2026, 1, 13, 11, 30),
            utc(2026, 1, 14, 11, 30),
            utc(2026, 1, 15, 11, 30),
            id="st-johns",
        ),
    ],
)
def test_long_loan_in_far_time_zones(
    tz: str, due: datetime, j2: datetime, j1: datetime, due_today: datetime
) -> None:
    points = plan(due, timedelta(days=6), tz)
    assert schedule(reminders(points)) == [
        ("loan.reminder_j2", j2),
        ("loan.reminder_j1", j1),
        ("loan.due_today", due_today),
    ]
    zone = ZoneInfo(tz)
    due_day = due.astimezone(zone).date()
    for p, days_before in zip(reminders(points), (2, 1, 0), strict=True):
        local = p.at.astimezone(zone)
        assert local.time() == EIGHT
        assert local.date() == due_day - timedelta(days=days_before)
    # Overdue: 15 min after due, then 08:00 local on the next two local calendar days.
    alerts = [p.at.astimezone(zone) for p in overdue(points)]
    assert alerts[0] == due + timedelta(minutes=15)
    assert [a.time() for a in alerts[1:]] == [EIGHT, EIGHT]
    assert [a.date() for a in alerts[1:]] == [
        alerts[0].date() + timedelta(days=1),
        alerts[0].date() + timedelta(days=2),
    ]


def test_j1_uses_the_borrowers_local_date_not_the_utc_date() -> None:
    # Due Tuesday 13 January 2026 20:00 UTC, which is already Wednesday 09:00 in Auckland:
    # J-1 is Tuesday 08:00 NZDT (Monday 19:00 UTC), not Monday 08:00 NZDT.
    due = utc(2026, 1, 13, 20, 0)
    assert due.weekday() == 1  # Tuesday in UTC
    assert due.astimezone(ZoneInfo("Pacific/Auckland")).weekday() == 2  # Wednesday there
    points = plan(due, timedelta(hours=48), "Pacific/Auckland")
    assert schedule(reminders(points)) == [
        ("loan.reminder_j1", utc(2026, 1, 12, 19, 0)),
        ("loan.reminder_2h", utc(2026, 1, 13, 18, 0)),
    ]
    # The same instant for a borrower in Honolulu (Tuesday 10:00 HST): J-1 is Monday 08:00 HST.
    points = plan(due, timedelta(hours=48), "Pacific/Honolulu")
    assert schedule(reminders(points))[0] == ("loan.reminder_j1", utc(2026, 1, 12, 18, 0))


# ------------------------------------------------------------------ past and dropped points


def test_points_already_past_are_kept_but_skipped() -> None:
    # A 5-day loan registered late: J-2 (Sun 22 Nov 08:00 Paris) is already past at noon.
    now = utc(2026, 11, 22, 12, 0)
    points = plan(DUE, timedelta(days=5), now=now)
    assert [(p.kind, p.skipped_reason is not None) for p in points] == [
        ("loan.reminder_j2", True),
        ("loan.reminder_j1", False),
        ("loan.due_today", False),
        ("loan.overdue", False),
        ("loan.overdue", False),
        ("loan.overdue", False),
    ]
    assert points[0].skipped_reason == "already past when planned"
    assert points[0].at == utc(2026, 11, 22, 7, 0)  # still planned at its instant


def test_reminder_before_the_loan_started_is_skipped() -> None:
    # A 1 h loan: "2 h before due" is before the loan was made.
    points = plan(DUE, timedelta(hours=1))
    assert schedule(reminders(points)) == [("loan.reminder_2h", utc(2026, 11, 24, 7, 0))]
    assert reminders(points)[0].skipped_reason is not None


def test_short_moyen_loan_j1_before_borrowing_is_skipped() -> None:
    # 24 h loan borrowed Monday 10:00 Paris: J-1 08:00 Monday is already past.
    points = plan(DUE, timedelta(hours=24))
    assert [(p.kind, p.skipped_reason is not None) for p in reminders(points)] == [
        ("loan.reminder_j1", True),
        ("loan.reminder_2h", False),
    ]


@pytest.mark.parametrize(
    "due",
    [
        pytest.param(utc(2026, 11, 24, 6, 0), id="due-07h00-local"),
        pytest.param(utc(2026, 11, 24, 7, 0), id="due-08h00-local"),
    ],
)
def test_due_today_at_or_after_due_time_is_dropped(due: datetime) -> None:
    points = plan(due, timedelta(days=5))
    assert [p.kind for p in reminders(points)] == ["loan.reminder_j2", "loan.reminder_j1"]
    assert all(p.at < due for p in reminders(points))


def test_all_remaining_points_are_after_now_or_skipped() -> None:
    for hours in range(0, 24 * 8, 5):
        now = utc(2026, 11, 19, 9, 0) + timedelta(hours=hours)
        for p in plan(DUE, timedelta(days=5), now=now):
            assert (p.skipped_reason is not None) == (p.at <= now)


# ------------------------------------------------------------------ extensions


def test_extension_replans_with_new_keys_and_skips_past_points() -> None:
    borrowed = utc(2026, 11, 19, 9, 0)
    old_due = DUE  # Tue 24 Nov 10:00 Paris
    old = plan_loan(DEFAULT, borrowed_at=borrowed, due_at=old_due, timezone=PARIS, now=borrowed)

    # Monday 23 Nov 11:00 Paris the loan is extended by one day.
    now = utc(2026, 11, 23, 10, 0)
    new_due = utc(2026, 11, 25, 9, 0)  # Wed 25 Nov 10:00 Paris
    new = plan_loan(DEFAULT, borrowed_at=borrowed, due_at=new_due, timezone=PARIS, now=now)

    assert schedule(new) == [
        ("loan.reminder_j2", utc(2026, 11, 23, 7, 0)),
        ("loan.reminder_j1", utc(2026, 11, 24, 7, 0)),
        ("loan.due_today", utc(2026, 11, 25, 7, 0)),
        ("loan.overdue", utc(2026, 11, 25, 9, 15)),
        ("loan.overdue", utc(2026, 11, 26, 7, 0)),
        ("loan.overdue", utc(2026, 11, 27, 7, 0)),
    ]
    assert [p.kind for p in new if p.skipped_reason] == ["loan.reminder_j2"]

    old_keys = {(p.kind, p.occurrence): p.key(old_due) for p in old}
    new_keys = {(p.kind, p.occurrence): p.key(new_due) for p in new}
    assert old_keys.keys() == new_keys.keys()
    for ident, key in new_keys.items():
        assert key != old_keys[ident], ident
    assert set(old_keys.values()).isdisjoint(new_keys.values())
    assert new_keys[("loan.overdue", 2)] == "loan.overdue#2@20261125T090000Z"


def test_extension_to_another_class_changes_the_kinds() -> None:
    borrowed = utc(2026, 11, 23, 9, 0)
    short = plan_loan(
        DEFAULT, borrowed_at=borrowed, due_at=utc(2026, 11, 23, 19, 0), timezone=PARIS, now=borrowed
    )
    now = utc(2026, 11, 23, 15, 0)
    longer = plan_loan(DEFAULT, borrowed_at=borrowed, due_at=DUE, timezone=PARIS, now=now)
    assert [p.kind for p in reminders(short)] == ["loan.reminder_2h"]
    assert [p.kind for p in reminders(longer)] == ["loan.reminder_j1", "loan.reminder_2h"]
    # J-1 was Monday 08:00, before the extension: kept but never sent.
    assert [p.skipped_reason is not None for p in reminders(longer)] == [True, False]


# ------------------------------------------------------------------ overdue


def test_overdue_three_alerts_on_following_calendar_days() -> None:
    tz = ZoneInfo(PARIS)
    points = overdue(plan(DUE, timedelta(days=5)))
    assert len(points) == 3
    first_local_day = points[0].at.astimezone(tz).date()
    assert points[0].at == DUE + timedelta(minutes=15)
    for n, p in enumerate(points[1:], start=1):
        local = p.at.astimezone(tz)
        assert local.date() == first_local_day + timedelta(days=n)
        assert local.time() == EIGHT
    assert [p.manager_copy for p in points] == [False, True, True]
    assert [p.occurrence for p in points] == [1, 2, 3]
    assert [p.key(DUE) for p in points] == [
        "loan.overdue@20261124T090000Z",
        "loan.overdue#2@20261124T090000Z",
        "loan.overdue#3@20261124T090000Z",
    ]


def test_overdue_late_in_the_evening_counts_days_from_the_first_alert() -> None:
    # Due 23:50 Paris: the first alert is 00:05 the next local day (Wednesday), so the
    # daily alerts fall on Thursday and Friday 08:00.
    due = utc(2026, 11, 24, 22, 50)
    instants = overdue_instants(DEFAULT.overdue, due, ZoneInfo(PARIS))
    assert instants == [
        utc(2026, 11, 24, 23, 5),  # Wed 25 Nov 00:05 Paris
        utc(2026, 11, 26, 7, 0),  # Thu 08:00 Paris
        utc(2026, 11, 27, 7, 0),  # Fri 08:00 Paris
    ]


def test_overdue_early_in_the_morning_does_not_repeat_the_same_day() -> None:
    # Due 06:00 Paris: first alert 06:15, next one the following day at 08:00, not 08:00 today.
    due = utc(2026, 11, 24, 5, 0)
    instants = overdue_instants(DEFAULT.overdue, due, ZoneInfo(PARIS))
    assert instants == [utc(2026, 11, 24, 5, 15), utc(2026, 11, 25, 7, 0), utc(2026, 11, 26, 7, 0)]


@pytest.mark.parametrize(("max_alerts", "count"), [(0, 0), (1, 1), (2, 2), (5, 5)])
def test_overdue_max_alerts(max_alerts: int, count: int) -> None:
    policy = DEFAULT.model_copy(
        update={"overdue": DEFAULT.overdue.model_copy(update={"max_alerts": max_alerts})}
    )
    assert len(overdue_instants(policy.overdue, DUE, ZoneInfo(PARIS))) == count
    points = overdue(plan(DUE, timedelta(days=5), policy=policy))
    assert len(points) == count
    assert [p.manager_copy for p in points] == [n >= 2 for n in range(1, count + 1)]


def test_overdue_max_alerts_zero_needs_no_repeat_rule() -> None:
    policy = OverduePolicy(max_alerts=0, repeat_at_local=None)
    assert overdue_instants(policy, DUE, ZoneInfo(PARIS)) == []


def test_demo_policy_repeats_every_fixed_interval() -> None:
    assert DEMO.overdue.repeat_every == timedelta(seconds=20)
    assert DEMO.overdue.repeat_at_local is None
    due = utc(2026, 11, 24, 9, 0)
    points = overdue(plan(due, timedelta(minutes=10), policy=DEMO))
    assert [p.at for p in points] == [
        due + timedelta(seconds=15),
        due + timedelta(seconds=35),
        due + timedelta(seconds=55),
    ]
    assert [p.manager_copy for p in points] == [False, True, True]


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (timedelta(seconds=90), [("loan.reminder_2h", timedelta(seconds=30))]),
        (
            timedelta(minutes=10),
            [
                ("loan.reminder_j2", timedelta(seconds=90)),
                ("loan.reminder_j1", timedelta(seconds=60)),
                ("loan.due_today", timedelta(seconds=30)),
            ],
        ),
    ],
    ids=["demo-court", "demo-long"],
)
def test_demo_policy_reminders(length: timedelta, expected: list[tuple[str, timedelta]]) -> None:
    due = utc(2026, 11, 24, 9, 0)
    points = reminders(plan(due, length, policy=DEMO))
    assert [(p.kind, due - p.at) for p in points] == expected


# ------------------------------------------------------------------ policy data


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"before": "PT2H", "days_before": 1, "at_local": "08:00"}, id="all-three"),
        pytest.param({"before": "PT2H", "days_before": 1}, id="before-and-days_before"),
        pytest.param({"before": "PT2H", "at_local": "08:00"}, id="before-and-at_local"),
        pytest.param({}, id="nothing"),
        pytest.param({"days_before": 1}, id="days_before-without-at_local"),
        pytest.param({"at_local": "08:00"}, id="at_local-without-days_before"),
        pytest.param({"days_before": -1, "at_local": "08:00"}, id="negative-days_before"),
    ],
)
def test_point_spec_refuses_ambiguous_or_incomplete_timing(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PointSpec.model_validate({"kind": "loan.reminder_j1", **fields})


def test_point_spec_accepts_each_way_of_timing() -> None:
    relative = PointSpec.model_validate({"kind": "loan.reminder_2h", "before": "PT2H"})
    assert relative.before == timedelta(hours=2)
    calendar = PointSpec.model_validate(
        {"kind": "loan.reminder_j1", "days_before": 1, "at_local": "08:00"}
    )
    assert (calendar.days_before, calendar.at_local) == (1, EIGHT)


def test_policy_last_class_must_be_open() -> None:
    with pytest.raises(ValidationError, match="last loan class"):
        LoanPolicy(
            name="closed",
            classes=[
                LoanClass(name="short", max_length=timedelta(hours=24)),
                LoanClass(name="bounded", max_length=timedelta(days=30)),
            ],
        )
    with pytest.raises(ValidationError, match="last loan class"):
        LoanPolicy(name="empty", classes=[])


@pytest.mark.parametrize(
    "fields",
    [
        {"repeat_at_local": "08:00", "repeat_every": "PT1H"},
        {"repeat_at_local": None, "repeat_every": None},
        {"max_alerts": -1},
        {"manager_copy_from": 0},
    ],
)
def test_overdue_policy_validation(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OverduePolicy.model_validate(fields)


def test_builtin_policies_load() -> None:
    assert set(BUILTIN_POLICIES) == {"default", "demo", "followup"}
    assert load_policy() == load_policy("default") == DEFAULT
    assert DEFAULT.name == "default"
    assert [c.name for c in DEFAULT.classes] == ["court terme", "moyen terme", "long terme"]
    assert DEFAULT.overdue.first_after == timedelta(minutes=15)
    assert DEFAULT.overdue.repeat_at_local == EIGHT
    assert DEFAULT.overdue.max_alerts == 3
    assert DEFAULT.overdue.manager_copy_from == 2
    assert DEMO.name == "demo"


def test_policy_from_a_json_file_changes_the_plan(tmp_path: Path) -> None:
    default_json = resources.files("herald.policies").joinpath("default.json")
    data = json.loads(default_json.read_text("utf-8"))
    data["name"] = "ops"
    data["classes"][0]["reminders"][0]["before"] = "PT3H"  # court terme: 3 h instead of 2 h
    data["classes"][2]["reminders"][1]["at_local"] = "18:00"  # long terme: J-1 in the evening
    data["overdue"]["first_after"] = "PT1H"
    data["overdue"]["repeat_at_local"] = "09:30"
    data["overdue"]["max_alerts"] = 2
    path = tmp_path / "ops.json"
    path.write_text(json.dumps(data), "utf-8")

    for source in (path, str(path)):
        policy = load_policy(source)
        assert policy.name == "ops"
        assert schedule(plan(DUE, timedelta(hours=10), policy=policy)) == [
            ("loan.reminder_2h", utc(2026, 11, 24, 6, 0)),  # due - 3 h
            ("loan.overdue", utc(2026, 11, 24, 10, 0)),  # due + 1 h
            ("loan.overdue", utc(2026, 11, 25, 8, 30)),  # Wed 09:30 Paris
        ]
        assert schedule(reminders(plan(DUE, timedelta(days=5), policy=policy))) == [
            ("loan.reminder_j2", utc(2026, 11, 22, 7, 0)),
            ("loan.reminder_j1", utc(2026, 11, 23, 17, 0)),  # Mon 18:00 Paris
            ("loan.due_today", utc(2026, 11, 24, 7, 0)),
        ]


def test_invalid_policy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"name": "bad", "classes": [{"name": "only", "max_length": "PT24H"}]}), "utf-8"
    )
    with pytest.raises(ValidationError):
        load_policy(path)
    with pytest.raises(FileNotFoundError):
        load_policy(tmp_path / "missing.json")


@pytest.mark.parametrize("policy", [DEFAULT, DEMO], ids=["default", "demo"])
def test_every_kind_in_the_policy_exists(policy: LoanPolicy) -> None:
    kinds = {spec.kind for c in policy.classes for spec in c.reminders} | {policy.overdue.kind}
    assert kinds <= KINDS.keys()
    assert policy.overdue.kind == "loan.overdue"
    # The reminders a subscriber may mute are the optional kinds; overdue is mandatory.
    assert all(not KINDS[k].mandatory for k in kinds - {policy.overdue.kind})
    assert KINDS[policy.overdue.kind].mandatory


def test_default_policy_uses_every_reminder_kind() -> None:
    kinds = {spec.kind for c in DEFAULT.classes for spec in c.reminders}
    assert kinds == {"loan.reminder_2h", "loan.reminder_j2", "loan.reminder_j1", "loan.due_today"}


def test_followup_policy_reminds_the_day_before_and_escalates_to_managers() -> None:
    policy = load_policy("followup")
    paris = ZoneInfo("Europe/Paris")
    due = datetime(2026, 11, 25, 10, 0, tzinfo=paris)  # a Wednesday
    points = plan_loan(
        policy,
        borrowed_at=datetime(2026, 11, 20, 9, 0, tzinfo=paris),
        due_at=due,
        timezone="Europe/Paris",
        now=datetime(2026, 11, 20, 9, 0, tzinfo=paris),
    )
    local = [(p.kind, p.at.astimezone(paris).strftime("%a %H:%M"), p.manager_copy) for p in points]
    assert local == [
        ("followup.due_tomorrow", "Tue 08:00", False),
        ("followup.overdue", "Wed 10:15", True),
        ("followup.overdue", "Thu 09:00", True),
        ("followup.overdue", "Fri 09:00", True),
    ]
    assert [p.occurrence for p in points[1:]] == [1, 2, 3]

"""Quiet hours and digest timing: pure functions, local wall-clock times, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from herald.holding import (
    DigestMode,
    HoldReason,
    HoldRules,
    parse_clock,
    parse_digest_mode,
    parse_quiet_hours,
    parse_weekday,
    too_late,
)
from herald.kinds import KINDS, STALE_WHEN_CLOSED, TooLate

PARIS = ZoneInfo("Europe/Paris")
NIGHT = HoldRules(timezone="Europe/Paris", quiet_start=time(21, 0), quiet_end=time(7, 30))


def paris(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (paris(2026, 11, 24, 20, 59), None),
        (paris(2026, 11, 24, 21, 0), paris(2026, 11, 25, 7, 30)),
        (paris(2026, 11, 24, 23, 0), paris(2026, 11, 25, 7, 30)),
        (paris(2026, 11, 25, 3, 0), paris(2026, 11, 25, 7, 30)),
        (paris(2026, 11, 25, 7, 30), None),
        (paris(2026, 11, 25, 12, 0), None),
    ],
)
def test_quiet_hours_across_midnight(now: datetime, until: datetime | None) -> None:
    assert NIGHT.quiet_until(now) == until


def test_quiet_hours_within_a_day_and_in_the_persons_zone() -> None:
    lunch = HoldRules(timezone="America/New_York", quiet_start=time(12, 0), quiet_end=time(14, 0))
    # 18:30 UTC is 13:30 in New York (EST): quiet until 14:00 there, 19:00 UTC.
    assert lunch.quiet_until(datetime(2026, 11, 24, 18, 30, tzinfo=UTC)) == datetime(
        2026, 11, 24, 19, 0, tzinfo=UTC
    )
    assert lunch.quiet_until(datetime(2026, 11, 24, 13, 30, tzinfo=UTC)) is None


def test_quiet_hours_end_on_the_night_clocks_change() -> None:
    # Europe/Paris goes back from 03:00 to 02:00 on 25 October 2026: 07:30 is 06:30 UTC.
    assert NIGHT.quiet_until(paris(2026, 10, 24, 23, 0)) == datetime(
        2026, 10, 25, 6, 30, tzinfo=UTC
    )
    # and forward on 29 March 2026: 07:30 is 05:30 UTC.
    assert NIGHT.quiet_until(paris(2026, 3, 28, 23, 0)) == datetime(2026, 3, 29, 5, 30, tzinfo=UTC)


def test_daily_digest_keeps_its_local_hour_across_dst() -> None:
    rules = HoldRules(timezone="Europe/Paris", digest=DigestMode.DAILY, digest_at=time(8, 0))
    first = rules.next_digest(paris(2026, 10, 24, 9, 0))
    assert first == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert rules.next_digest(first) == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)
    # Before the hour: today; exactly at the hour: the next day.
    assert rules.next_digest(paris(2026, 11, 24, 7, 59)) == paris(2026, 11, 24, 8, 0)
    assert rules.next_digest(paris(2026, 11, 24, 8, 0)) == paris(2026, 11, 25, 8, 0)


def test_weekly_digest_on_the_chosen_day() -> None:
    rules = HoldRules(
        timezone="Europe/Paris", digest=DigestMode.WEEKLY, digest_at=time(17, 0), digest_weekday=4
    )
    # Tuesday 24 November 2026 → Friday 27 at 17:00; Friday 18:00 → the next Friday.
    assert rules.next_digest(paris(2026, 11, 24, 10, 0)) == paris(2026, 11, 27, 17, 0)
    assert rules.next_digest(paris(2026, 11, 27, 18, 0)) == paris(2026, 12, 4, 17, 0)


def test_what_waits_depends_on_the_priority() -> None:
    both = NIGHT.model_copy(update={"digest": DigestMode.DAILY, "digest_at": time(18, 0)})
    night, day = paris(2026, 11, 24, 23, 0), paris(2026, 11, 24, 11, 0)
    assert both.hold("urgent", night) is None
    high = both.hold("high", night)
    assert high is not None and high.reason is HoldReason.QUIET
    assert high.until == paris(2026, 11, 25, 7, 30)
    assert both.hold("high", day) is None
    for priority in ("medium", "low"):
        held = both.hold(priority, day)
        assert held is not None and held.reason is HoldReason.DIGEST
        assert held.until == paris(2026, 11, 24, 18, 0)
    assert NIGHT.hold("low", day) is None
    assert HoldRules().hold("medium", night) is None


def test_rules_refuse_half_or_empty_quiet_hours() -> None:
    with pytest.raises(ValidationError, match="both a start and an end"):
        HoldRules(quiet_start=time(21, 0))
    with pytest.raises(ValidationError, match="same time"):
        HoldRules(quiet_start=time(21, 0), quiet_end=time(21, 0))
    with pytest.raises(ValidationError):
        HoldRules(digest_weekday=7)


def test_parsing_of_what_people_type() -> None:
    assert parse_quiet_hours("21:00-07:30") == (time(21, 0), time(7, 30))
    assert parse_quiet_hours(" off ") is None
    assert parse_clock("8:05") == time(8, 5)
    assert parse_weekday("Fri") == 4 and parse_weekday("sunday") == 6 and parse_weekday(0) == 0
    for bad, message in (
        ("21:00", "START-END"),
        ("25:00-07:00", "not a time of day"),
        ("07:00-07:00", "the same"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_quiet_hours(bad)
    with pytest.raises(ValueError, match="day of the week"):
        parse_weekday("fr")
    assert parse_digest_mode(" Weekly ") is DigestMode.WEEKLY
    with pytest.raises(ValueError, match="unknown digest mode 'hourly': choose off, daily"):
        parse_digest_mode("hourly")


def test_describe_names_the_rules() -> None:
    weekly = NIGHT.model_copy(
        update={"digest": DigestMode.WEEKLY, "digest_at": time(17, 0), "digest_weekday": 4}
    )
    assert weekly.describe() == "quiet 21:00-07:30, weekly digest on friday at 17:00 (Europe/Paris)"
    assert HoldRules(timezone="UTC").describe() == "no quiet hours, no digest (UTC)"


def test_confirmations_and_thank_yous_wait_out_quiet_hours_but_never_a_digest() -> None:
    both = NIGHT.model_copy(update={"digest": DigestMode.WEEKLY})
    night, day = paris(2026, 11, 24, 23, 0), paris(2026, 11, 24, 12, 0)
    for kind in ("loan.created", "loan.returned"):
        info = KINDS[kind]
        assert not info.digestible and info.too_late is TooLate.NEVER
        assert both.hold(info.priority, day, digestible=info.digestible) is None
        quiet = both.hold(info.priority, night, digestible=info.digestible)
        assert quiet is not None and quiet.reason is HoldReason.QUIET
        assert quiet.until == paris(2026, 11, 25, 7, 30)
    # Any other medium notice still waits for the digest.
    digest = both.hold("medium", day)
    assert digest is not None and digest.reason is HoldReason.DIGEST


@pytest.mark.parametrize(
    "kind",
    [
        "loan.reminder_2h",
        "loan.reminder_j2",
        "loan.reminder_j1",
        "loan.due_today",
        "followup.due_tomorrow",
    ],
)
def test_a_deadline_reminder_is_too_late_once_its_due_time_has_passed(kind: str) -> None:
    due = paris(2026, 11, 24, 23, 50)
    assert too_late(kind, paris(2026, 11, 24, 23, 49), deadline=due) is None
    reason = too_late(kind, paris(2026, 11, 25, 7, 30), deadline=due)
    assert reason is not None and reason.startswith(f"too late: {kind}")
    assert "2026-11-24 22:50 UTC" in reason
    assert too_late(kind, due, deadline=due) is not None  # at the due time: no use either
    # Without a known deadline nothing is dropped.
    assert too_late(kind, paris(2026, 11, 25, 7, 30)) is None


@pytest.mark.parametrize("kind", ["loan.overdue", "followup.overdue", "repair.unassigned"])
def test_an_alert_is_superseded_by_a_later_one_of_the_same_subject(kind: str) -> None:
    now = paris(2026, 11, 25, 7, 30)
    assert too_late(kind, now) is None
    assert too_late(kind, now, deadline=paris(2026, 11, 24, 12, 0)) is None  # no deadline rule
    reason = too_late(kind, now, superseded_at=paris(2026, 11, 25, 0, 5))
    assert reason is not None and reason.startswith(f"superseded: a later {kind}")


def test_confirmations_events_and_digests_are_never_too_late() -> None:
    late = paris(2030, 1, 1, 12, 0)
    for kind in ("loan.created", "loan.returned", "lead.assigned", "user.welcome", "digest.daily"):
        assert too_late(kind, late, deadline=paris(2026, 1, 1, 0, 0), superseded_at=late) is None
    assert too_late("no.such_kind", late, deadline=paris(2026, 1, 1, 0, 0)) is None


def test_every_reminder_dropped_when_its_subject_closes_has_a_lateness_rule() -> None:
    for kind in STALE_WHEN_CLOSED:
        assert KINDS[kind].too_late is not TooLate.NEVER, kind

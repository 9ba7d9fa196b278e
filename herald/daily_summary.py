"""The personal daily summary of the AAA CRM: at the hour a person chose, in their time
zone, their own follow-ups due later that day, those overdue, those completed and the leads
given to them since the last summary. Pure: the schedule and the content, no I/O.

One ``DailySummaryWorkflow`` per person (``daily-summary-<id>``) sleeps on a durable timer
until :func:`next_summary_at`, reads the facts (:mod:`herald.crm_facts`) for the
:func:`summary_window`, and sends what :func:`assemble` made of them, unless there is
nothing to say.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel

from herald.contracts import FollowUpState
from herald.crm_facts import FollowUpFact, LeadAssignmentFact
from herald.policy import local_instant
from herald.validation import show

DAILY_SUMMARY_WORKFLOW = "DailySummaryWorkflow"
SUMMARY_KIND = "crm.daily_summary"
SUMMARY_SUBJECT = "daily_summary"
# The signal that tells a running summary its hour or time zone changed (or that it stops).
SETTING_SIGNAL = "setting"
GATHER_DAILY_SUMMARY = "gather_daily_summary"

# Items listed one by one in each part of a summary; the rest are counted.
SUMMARY_LISTED = 20
# How far back "since the last summary" may reach (a summary moved from 08:00 to 18:00
# the next day still covers everything since the 08:00 one).
MAX_LOOKBACK = timedelta(days=2)
# Summaries (sent or empty) per workflow run before it continues as new: bounds history.
OCCASIONS_PER_RUN = 7

_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def daily_summary_workflow_id(subscriber_id: str) -> str:
    return f"daily-summary-{subscriber_id}"


def parse_summary_at(value: str | None) -> time | None:
    """``"08:00"`` → 08:00; ``"off"``, ``""`` or ``None`` → ``None`` (no summary); a clear
    one-line error for anything else."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"the summary time must be text like 08:00, not {type(value).__name__}")
    text = value.strip()
    if text.lower() in ("", "off", "none"):
        return None
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise ValueError(f"{show(value)} is not a time of day like 08:00 (or off)")
    return time(int(match[1]), int(match[2]))


def next_summary_at(now: datetime, at: time, timezone: str, last_day: date | None) -> datetime:
    """The first instant at or after ``now`` at wall-clock ``at`` in ``timezone``, on a local
    day after ``last_day`` (the day of the last summary): one summary per local day.

    DST: 08:00 stays 08:00 local; a time that does not exist that day (the spring-forward
    gap) moves forward by the gap, an ambiguous one (fall-back) is its first occurrence.
    """
    tz = ZoneInfo(timezone)
    day = now.astimezone(tz).date()
    if last_day is not None and day <= last_day:
        day = last_day + timedelta(days=1)
    while True:
        instant = local_instant(day, at, tz)
        if instant >= now:
            return instant
        day += timedelta(days=1)


class SummaryWindow(BaseModel):
    """What one summary covers: ``day`` is the person's local day of the summary, sent at
    ``at``; follow-ups due before ``day_end`` (local midnight) are listed, completions and
    assignments since ``since``."""

    day: date
    at: AwareDatetime
    since: AwareDatetime
    day_end: AwareDatetime


def summary_window(
    fire_at: datetime, at: time, timezone: str, last_fire_at: datetime | None
) -> SummaryWindow:
    """The window of the summary due at ``fire_at``: since the previous summary (sent or
    empty) if it was within :data:`MAX_LOOKBACK`, else since the same hour the day before."""
    tz = ZoneInfo(timezone)
    day = fire_at.astimezone(tz).date()
    if last_fire_at is not None and fire_at - MAX_LOOKBACK <= last_fire_at < fire_at:
        since = last_fire_at
    else:
        since = min(local_instant(day - timedelta(days=1), at, tz), fire_at)
    return SummaryWindow(
        day=day,
        at=fire_at.astimezone(UTC),
        since=since.astimezone(UTC),
        day_end=local_instant(day + timedelta(days=1), time(0, 0), tz),
    )


class DailySummaryFacts(BaseModel):
    """What one summary says. The lists hold at most :data:`SUMMARY_LISTED` items each, the
    counts every one."""

    subscriber_id: str
    window: SummaryWindow
    due: list[FollowUpFact] = []
    overdue: list[FollowUpFact] = []
    completed: list[FollowUpFact] = []
    leads: list[LeadAssignmentFact] = []
    due_count: int = 0
    overdue_count: int = 0
    completed_count: int = 0
    leads_count: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.due_count or self.overdue_count or self.completed_count or self.leads_count
        )

    def describe(self) -> str:
        return (
            f"{self.due_count} due, {self.overdue_count} overdue, "
            f"{self.completed_count} completed, {self.leads_count} leads assigned"
        )


def assemble(
    subscriber_id: str,
    window: SummaryWindow,
    followups: list[FollowUpFact],
    leads: list[LeadAssignmentFact],
    *,
    limit: int = SUMMARY_LISTED,
) -> DailySummaryFacts:
    """Sort the person's facts into the summary's four parts, as of ``window.at``:

    - due: still open, due from now to the end of the local day, soonest first;
    - overdue: still open and due before now, the longest overdue first;
    - completed: completed since ``window.since`` and before now, in order;
    - leads: given to the person since ``window.since`` and before now, in order.

    Facts about someone else, cancelled follow-ups and anything outside the window are
    left out.
    """
    now = window.at
    mine = [f for f in followups if f.assignee_id == subscriber_id]
    due = sorted(
        (f for f in mine if f.open and now <= f.due_at < window.day_end), key=lambda f: f.due_at
    )
    overdue = sorted((f for f in mine if f.open and f.due_at < now), key=lambda f: f.due_at)
    completed = sorted(
        (
            f
            for f in mine
            if f.state is FollowUpState.COMPLETED
            and f.completed_at is not None
            and window.since <= f.completed_at < now
        ),
        key=lambda f: f.completed_at or now,
    )
    given = sorted(
        (
            lead
            for lead in leads
            if lead.assignee_id == subscriber_id and window.since <= lead.assigned_at < now
        ),
        key=lambda lead: lead.assigned_at,
    )
    return DailySummaryFacts(
        subscriber_id=subscriber_id,
        window=window,
        due=due[:limit],
        overdue=overdue[:limit],
        completed=completed[:limit],
        leads=given[:limit],
        due_count=len(due),
        overdue_count=len(overdue),
        completed_count=len(completed),
        leads_count=len(given),
    )


class SummarySetting(BaseModel):
    """A person's choice: their summary's local hour (``None``: no summary) and their time
    zone. ``version`` orders two readings of it: the newer one wins."""

    at: time | None
    timezone: str
    version: AwareDatetime | None = None

    def newer_than(self, other: SummarySetting | None) -> bool:
        if other is None or self.version is None or other.version is None:
            return True
        return self.version >= other.version

    def describe(self) -> str:
        return f"at {self.at:%H:%M} {self.timezone}" if self.at else "off"


class GatherInput(BaseModel):
    subscriber_id: str
    window: SummaryWindow


class Gathered(BaseModel):
    """The person's setting as the database has it now, and the summary's facts."""

    setting: SummarySetting | None
    facts: DailySummaryFacts


class DailySummaryInput(BaseModel):
    subscriber_id: str
    setting: SummarySetting | None = None
    # Carried across continue-as-new.
    last_day: date | None = None
    last_fire_at: AwareDatetime | None = None
    sent: int = 0
    skipped: int = 0
    last_outcome: str | None = None


class DailySummaryStatus(BaseModel):
    """A person's daily summary: their choice, and what its workflow did and will do."""

    subscriber_id: str
    # "HH:MM" local, or None: no summary.
    at: str | None
    timezone: str
    # Whether the workflow that sends it runs (it should whenever ``at`` is set).
    running: bool = False
    next_at: AwareDatetime | None = None
    last_day: date | None = None
    last_fire_at: AwareDatetime | None = None
    # Summaries sent, and days with nothing to say (nothing sent).
    sent: int = 0
    skipped: int = 0
    last_outcome: str | None = None

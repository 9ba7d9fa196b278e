"""Reminder policy as data, and the pure functions that turn a loan into a plan.

No I/O here: the loan workflow calls :func:`plan_loan` at start and on every extension,
and the unit tests call it without any server. Instants are UTC-aware datetimes; "local"
times are resolved in the borrower's IANA time zone, DST included.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, model_validator

BUILTIN_POLICIES = ("default", "demo", "followup")


class PointSpec(BaseModel):
    """One reminder before the due time: either ``before`` the due instant, or at a local
    wall-clock time ``days_before`` calendar days before the due date."""

    kind: str
    before: timedelta | None = None
    days_before: int | None = Field(default=None, ge=0)
    at_local: time | None = None

    @model_validator(mode="after")
    def _one_way_of_timing(self) -> PointSpec:
        relative = self.before is not None
        calendar_parts = (self.days_before is not None) + (self.at_local is not None)
        if not ((relative and calendar_parts == 0) or (not relative and calendar_parts == 2)):
            raise ValueError(
                f"reminder {self.kind!r}: give either 'before' or both 'days_before' and 'at_local'"
            )
        return self


class LoanClass(BaseModel):
    """Loans whose length (borrowed → due) is up to ``max_length`` get these reminders."""

    name: str
    max_length: timedelta | None = None  # None: no upper bound
    include_max: bool = False
    reminders: list[PointSpec] = []

    def matches(self, length: timedelta) -> bool:
        if self.max_length is None:
            return True
        return length <= self.max_length if self.include_max else length < self.max_length


class OverduePolicy(BaseModel):
    kind: str = "loan.overdue"
    first_after: timedelta = timedelta(minutes=15)
    # Later alerts: at a local time on the following days, or every fixed interval.
    repeat_at_local: time | None = time(8, 0)
    repeat_every: timedelta | None = None
    max_alerts: int = Field(default=3, ge=0)
    # From this alert on, the loan's manager receives a copy.
    manager_copy_from: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _one_repeat(self) -> OverduePolicy:
        if self.max_alerts > 1 and (self.repeat_at_local is None) == (self.repeat_every is None):
            raise ValueError("overdue: give exactly one of 'repeat_at_local' or 'repeat_every'")
        return self


class LoanPolicy(BaseModel):
    name: str
    classes: list[LoanClass]
    overdue: OverduePolicy = OverduePolicy()

    @model_validator(mode="after")
    def _last_class_is_open(self) -> LoanPolicy:
        if not self.classes or self.classes[-1].max_length is not None:
            raise ValueError("the last loan class must have no max_length so every loan fits")
        return self

    def classify(self, length: timedelta) -> LoanClass:
        return next(c for c in self.classes if c.matches(length))


class PlannedPoint(BaseModel):
    """One notification the workflow will send at ``at`` unless the loan changes first."""

    kind: str
    at: AwareDatetime
    occurrence: int = 1
    manager_copy: bool = False
    # Set when the point was already past at planning time (it is then never sent).
    skipped_reason: str | None = None

    def key(self, due_at: datetime) -> str:
        """Stable identity of this point for one due date: the basis of idempotency keys."""
        suffix = f"#{self.occurrence}" if self.occurrence > 1 else ""
        return f"{self.kind}{suffix}@{due_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz``.

    Non-existent times (spring-forward gap) move forward by the gap; ambiguous ones
    (fall-back) take the first occurrence, as ``fold=0`` does.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _reminder_instant(spec: PointSpec, due_at: datetime, tz: ZoneInfo) -> datetime:
    if spec.before is not None:
        return due_at - spec.before
    assert spec.days_before is not None and spec.at_local is not None
    due_local_day = due_at.astimezone(tz).date()
    return local_instant(due_local_day - timedelta(days=spec.days_before), spec.at_local, tz)


def overdue_instants(policy: OverduePolicy, due_at: datetime, tz: ZoneInfo) -> list[datetime]:
    """When each overdue alert falls: the first ``first_after`` the due time, then daily at a
    local time on the following calendar days (or every ``repeat_every``)."""
    if policy.max_alerts == 0:
        return []
    first = due_at + policy.first_after
    instants = [first]
    first_local_day = first.astimezone(tz).date()
    for n in range(1, policy.max_alerts):
        if policy.repeat_every is not None:
            instants.append(first + n * policy.repeat_every)
        else:
            assert policy.repeat_at_local is not None
            day = first_local_day + timedelta(days=n)
            instants.append(local_instant(day, policy.repeat_at_local, tz))
    return instants


def plan_loan(
    policy: LoanPolicy,
    *,
    borrowed_at: datetime,
    due_at: datetime,
    timezone: str,
    now: datetime,
) -> list[PlannedPoint]:
    """Every reminder and overdue alert for one due date, sorted by instant.

    Points at or after the due time are dropped (a reminder after the deadline is no
    reminder). Points already past at ``now`` are kept but marked skipped, so the status
    shows them, and they are never sent late in a burst.
    """
    tz = ZoneInfo(timezone)
    due_at = due_at.astimezone(UTC)
    loan_class = policy.classify(due_at - borrowed_at)
    points: list[PlannedPoint] = []
    for spec in loan_class.reminders:
        at = _reminder_instant(spec, due_at, tz)
        if at >= due_at:
            continue
        points.append(PlannedPoint(kind=spec.kind, at=at))
    for n, at in enumerate(overdue_instants(policy.overdue, due_at, tz), start=1):
        points.append(
            PlannedPoint(
                kind=policy.overdue.kind,
                at=at,
                occurrence=n,
                manager_copy=n >= policy.overdue.manager_copy_from,
            )
        )
    for p in points:
        if p.at <= now:
            p.skipped_reason = "already past when planned"
    points.sort(key=lambda p: (p.at, p.kind))
    return points


def load_policy(source: str | Path | None = None) -> LoanPolicy:
    """A policy by built-in name (``default``, ``demo``) or from a JSON file path."""
    if source is None:
        source = "default"
    if isinstance(source, str) and source in BUILTIN_POLICIES:
        text = resources.files("herald.policies").joinpath(f"{source}.json").read_text("utf-8")
    else:
        text = Path(source).read_text("utf-8")
    return LoanPolicy.model_validate(json.loads(text))

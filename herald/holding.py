"""When a notice waits instead of going out: quiet hours and digests. Pure, no I/O.

A person's :class:`HoldRules` come from their preferences and time zone. The planning
activity asks :meth:`HoldRules.hold` whether a notice due now must wait; the person's
mailbox workflow asks :meth:`HoldRules.quiet_until` and :meth:`HoldRules.next_digest`
when to let it go. Local times are wall-clock times in the person's zone, DST included.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from herald.kinds import DIGESTIBLE_PRIORITIES, KINDS, TooLate
from herald.policy import local_instant

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class DigestMode(StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


class HoldReason(StrEnum):
    QUIET = "quiet"
    DIGEST = "digest"


class Hold(BaseModel):
    reason: HoldReason
    # Quiet hours: when they end. Digests: when the next digest is due.
    until: AwareDatetime


class HoldRules(BaseModel):
    """What makes a person's notices wait. ``version`` orders two readings of the rules:
    the newer one wins."""

    timezone: str = "Europe/Paris"
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest: DigestMode = DigestMode.OFF
    digest_at: time = time(18, 0)
    # 0 = Monday ... 6 = Sunday (weekly digests)
    digest_weekday: int = Field(default=0, ge=0, le=6)
    version: AwareDatetime | None = None

    @model_validator(mode="after")
    def _quiet_hours_complete(self) -> HoldRules:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both a start and an end")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self

    def quiet_until(self, now: datetime) -> datetime | None:
        """The instant the current quiet period ends, or ``None`` if ``now`` is not quiet."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        tz = ZoneInfo(self.timezone)
        local = now.astimezone(tz)
        t = local.time().replace(tzinfo=None)
        start, end = self.quiet_start, self.quiet_end
        if start < end:  # e.g. 12:00-14:00, within one day
            inside = start <= t < end
            end_day = local.date()
        else:  # e.g. 21:00-07:30, across midnight
            inside = t >= start or t < end
            end_day = local.date() + timedelta(days=1) if t >= start else local.date()
        if not inside:
            return None
        until = local_instant(end_day, end, tz)
        # A DST change inside the period can put the wall-clock end before now: not quiet.
        return until if until > now.astimezone(UTC) else None

    def next_digest(self, after: datetime) -> datetime:
        """The first digest instant strictly after ``after``: daily at ``digest_at``, or weekly
        on ``digest_weekday`` at ``digest_at``, local time."""
        tz = ZoneInfo(self.timezone)
        day = after.astimezone(tz).date()
        while True:
            if self.digest is not DigestMode.WEEKLY or day.weekday() == self.digest_weekday:
                at = local_instant(day, self.digest_at, tz)
                if at > after:
                    return at
            day += timedelta(days=1)

    def hold(self, priority: str, now: datetime, *, digestible: bool = True) -> Hold | None:
        """Whether a notice of ``priority`` due at ``now`` waits, and why.

        Urgent never waits. High waits only for quiet hours. Medium and low go to the digest
        of a person who chose one, else wait for quiet hours like high. A notice that is not
        ``digestible`` (a loan's confirmation) only ever waits for quiet hours.
        """
        if priority == "urgent":
            return None
        if digestible and self.digest is not DigestMode.OFF and priority in DIGESTIBLE_PRIORITIES:
            return Hold(reason=HoldReason.DIGEST, until=self.next_digest(now))
        until = self.quiet_until(now)
        return Hold(reason=HoldReason.QUIET, until=until) if until else None

    def describe(self) -> str:
        parts = []
        if self.quiet_start is not None and self.quiet_end is not None:
            parts.append(f"quiet {self.quiet_start:%H:%M}-{self.quiet_end:%H:%M}")
        if self.digest is DigestMode.DAILY:
            parts.append(f"daily digest at {self.digest_at:%H:%M}")
        elif self.digest is DigestMode.WEEKLY:
            parts.append(
                f"weekly digest on {WEEKDAYS[self.digest_weekday]} at {self.digest_at:%H:%M}"
            )
        return f"{', '.join(parts) or 'no quiet hours, no digest'} ({self.timezone})"


def too_late(
    kind: str,
    now: datetime,
    *,
    deadline: datetime | None = None,
    superseded_at: datetime | None = None,
) -> str | None:
    """Why a held notice of ``kind`` has lost its point by ``now``, if it has (the kind's
    :class:`~herald.kinds.TooLate` rule): a reminder whose ``deadline`` has passed, an alert
    for which a later one of the same subject (fired at ``superseded_at``) is at hand."""
    info = KINDS.get(kind)
    rule = info.too_late if info is not None else TooLate.NEVER
    if rule is TooLate.AFTER_DEADLINE and deadline is not None and now >= deadline:
        return (
            f"too late: {kind} announces a due time, "
            f"{deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC, that passed while it waited"
        )
    if rule is TooLate.SUPERSEDED and superseded_at is not None:
        return (
            f"superseded: a later {kind} of the same subject "
            f"({superseded_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC) is at hand"
        )
    return None


def parse_clock(value: str) -> time:
    """``"21:00"`` → 21:00; a clear error for anything else."""
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day like 21:00") from None


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """``"21:00-07:30"`` → (21:00, 07:30); ``"off"`` or ``""`` → None."""
    text = value.strip().lower()
    if text in ("", "off", "none"):
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours {value!r}: give them as START-END, like 21:00-07:30")
    first, last = parse_clock(start), parse_clock(end)
    if first == last:
        raise ValueError(f"quiet hours {value!r}: the start and the end are the same")
    return first, last


def parse_digest_mode(value: str) -> DigestMode:
    try:
        return DigestMode(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown digest mode {value!r}: choose off, daily or weekly") from None


def parse_weekday(value: str | int) -> int:
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
    else:
        text = value.strip().lower()
        for i, name in enumerate(WEEKDAYS):
            if len(text) >= 3 and name.startswith(text):
                return i
    raise ValueError(f"{value!r} is not a day of the week: use monday ... sunday")

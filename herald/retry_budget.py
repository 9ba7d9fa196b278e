"""How long the deliver activity keeps retrying a transient failure, per channel.

``HERALD_RETRY_EMAIL=attempts:3`` (or ``within:2h``, or both: ``attempts:5,within:30m``),
one variable per channel, or all at once in ``HERALD_RETRY_BUDGETS`` (JSON:
``{"sms": "attempts:3"}``; a per-channel variable wins). A channel with no budget keeps the
default policy: backoff from 5 s to 10 min, for up to six hours.

The planning activity reads these settings and returns each channel's budget with the plan,
so the workflow schedules ``deliver`` with it and replays as it ran.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, Field

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_ATTEMPTS = 100
MAX_WITHIN = timedelta(days=7)
_DURATION = re.compile(r"^(\d{1,7})([smhd]?)$")


class RetryBudget(BaseModel):
    """At most ``attempts`` tries (the first included), within ``within_seconds`` in all."""

    attempts: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS)
    within_seconds: int | None = Field(default=None, ge=1)

    @property
    def within(self) -> timedelta | None:
        return timedelta(seconds=self.within_seconds) if self.within_seconds else None

    def describe(self) -> str:
        parts = []
        if self.attempts is not None:
            parts.append(f"attempts:{self.attempts}")
        if self.within_seconds is not None:
            parts.append(f"within:{self.within_seconds}s")
        return ",".join(parts)


def parse_duration(text: str) -> timedelta:
    """``90`` or ``90s``, ``30m``, ``6h``, ``2d``."""
    found = _DURATION.match(text.strip().lower())
    if not found:
        raise ValueError(f"a duration like 90s, 30m, 6h or 2d, got {text[:40]!r}")
    value = timedelta(seconds=int(found.group(1)) * UNITS[found.group(2) or "s"])
    if not timedelta(seconds=1) <= value <= MAX_WITHIN:
        raise ValueError(f"a duration from 1s to 7d, got {text[:40]!r}")
    return value


def parse_budget(text: str) -> RetryBudget:
    """``attempts:3``, ``within:2h`` or ``attempts:3,within:2h``."""
    attempts: int | None = None
    within: timedelta | None = None
    for part in (p.strip() for p in text.split(",")):
        name, sep, value = part.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not value:
            raise ValueError(f"attempts:N and/or within:DURATION, got {part[:40]!r}")
        if name == "attempts" and attempts is None:
            if not value.isdigit() or not 1 <= int(value) <= MAX_ATTEMPTS:
                raise ValueError(f"attempts from 1 to {MAX_ATTEMPTS}, got {value[:40]!r}")
            attempts = int(value)
        elif name == "within" and within is None:
            within = parse_duration(value)
        else:
            raise ValueError(f"attempts:N and/or within:DURATION (once each), got {part[:40]!r}")
    return RetryBudget(
        attempts=attempts, within_seconds=int(within.total_seconds()) if within else None
    )

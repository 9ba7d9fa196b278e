"""The ops dashboard's figures and the deliveries that need a look (failed for good, stuck):
the same document for the console, ``GET /v1/stats/dashboard`` and ``herald stats
dashboard`` (definitions in :mod:`herald.dashboard`)."""

from __future__ import annotations

import asyncio
from typing import Any

from herald.dashboard import (
    STUCK_AFTER,
    WINDOWS,
    count_stuck,
    problem_rows,
    recent_rows,
    tally,
)
from herald.db import utcnow
from herald.service.base import ServiceBase
from herald.store import delivery_as_dict
from herald.validation import check_int

MAX_PROBLEMS = 500


class StatsService(ServiceBase):
    async def dashboard(self) -> dict[str, Any]:
        """The delivery log's last 24 hours and 7 days: per channel and status, the failure
        rate, SMS segments and estimated cost, lateness (median, p99), the busiest kinds,
        a count per day and channel (days in HERALD_DEFAULT_TIMEZONE), and how many rows
        are stuck."""

        def compute() -> dict[str, Any]:
            now = utcnow()
            rows = recent_rows(self.store, now - max(WINDOWS.values()))
            stuck = count_stuck(self.store, now)
            return tally(rows, now=now, timezone=self.settings.default_timezone, stuck=stuck)

        return await asyncio.to_thread(compute)

    async def delivery_problems(self, *, limit: int = 50) -> dict[str, Any]:
        """The deliveries that need a look, newest first, at most ``limit`` of each:
        ``permanently_failed`` (each with ``resent_as``, its latest resend's id and status,
        or None) and ``stuck`` (pending or failing for over an hour since planned)."""
        check_int(limit, "the limit", low=1, high=MAX_PROBLEMS)

        def read() -> dict[str, Any]:
            failed, stuck, resends = problem_rows(self.store, utcnow(), limit)
            return {
                "permanently_failed": [
                    {
                        **delivery_as_dict(row),
                        "resent_as": (
                            {"id": resends[row.id].id, "status": resends[row.id].status}
                            if row.id in resends
                            else None
                        ),
                    }
                    for row in failed
                ],
                "stuck": [delivery_as_dict(row) for row in stuck],
                "stuck_after_seconds": int(STUCK_AFTER.total_seconds()),
            }

        return await asyncio.to_thread(read)

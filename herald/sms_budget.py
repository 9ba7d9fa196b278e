"""The monthly SMS budget (``HERALD_SMS_MONTHLY_BUDGET``, in ``HERALD_SMS_COST_CURRENCY``).

Spending is what the delivery log says SMS cost this calendar month, in the organisation's
zone (``HERALD_DEFAULT_TIMEZONE``): each sent SMS's estimate (segments × the provider's
price per segment). Past the budget, planning skips SMS for every notice that is not
urgent, saying why; urgent ones still go, and count. Near it (``HERALD_SMS_BUDGET_WARN_AT``
of it) and past it, the technical admins are told, once a month each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from herald.db import Delivery
from herald.receipts import ACCEPTED
from herald.settings import Settings
from herald.store import Store

SMS_BUDGET_KIND = "system.sms_budget"
# The longest a notice waits between planning and sending (a weekly digest's hold).
HELD_AT_MOST = timedelta(days=8)


@dataclass(frozen=True)
class Spending:
    month: str  # "2026-12"
    spent: float
    limit: float | None
    currency: str
    warn_at: float

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.spent >= self.limit

    @property
    def near(self) -> bool:
        return self.limit is not None and self.spent >= self.limit * self.warn_at

    def as_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "spent": round(self.spent, 4),
            "limit": self.limit,
            "currency": self.currency,
            "reached": self.reached,
            "near": self.near,
        }


def month_start(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _previous_month(start: datetime) -> datetime:
    return (start - timedelta(days=1)).replace(day=1)


def _spent(store: Store, start: datetime, end: datetime | None) -> tuple[float, int, int]:
    """Estimated cost, messages and segments of the SMS sent in [start, end)."""
    q = select(
        func.coalesce(func.sum(Delivery.cost_estimate), 0.0),
        func.count(),
        func.coalesce(func.sum(Delivery.segments), 0),
    ).where(
        # Rows are created when their notice is planned, at most a held week before they
        # go: this bound lets the created_at index narrow the scan to about a month.
        Delivery.created_at >= start - HELD_AT_MOST,
        Delivery.channel == "sms",
        Delivery.status.in_(ACCEPTED),
        Delivery.sent_at >= start,
    )
    if end is not None:
        q = q.where(Delivery.sent_at < end)
    with store.session() as s:
        cost, count, segments = s.execute(q).one()
    return float(cost or 0.0), int(count or 0), int(segments or 0)


def spending(store: Store, settings: Settings, now: datetime) -> Spending:
    """This month's SMS spending so far, against the budget."""
    start = month_start(now, settings.default_timezone)
    spent, _, _ = _spent(store, start, None)
    return Spending(
        month=f"{start:%Y-%m}",
        spent=spent,
        limit=settings.sms_monthly_budget,
        currency=settings.sms_cost_currency,
        warn_at=settings.sms_budget_warn_at,
    )


def monthly_totals(
    store: Store, settings: Settings, now: datetime, months: int
) -> list[dict[str, object]]:
    """The last ``months`` calendar months, newest first: SMS sent, segments, estimated
    cost, and the budget (this month's share of it used)."""
    start = month_start(now, settings.default_timezone)
    end: datetime | None = None
    totals: list[dict[str, object]] = []
    for _ in range(months):
        cost, count, segments = _spent(store, start, end)
        totals.append(
            {
                "month": f"{start:%Y-%m}",
                "messages": count,
                "segments": segments,
                "cost": round(cost, 4),
                "currency": settings.sms_cost_currency,
                "budget": settings.sms_monthly_budget,
            }
        )
        end, start = start, _previous_month(start)
    return totals


def over_budget(store: Store, settings: Settings, now: datetime, priority: str) -> str | None:
    """Why a notice of ``priority`` may not use SMS now, or None (no budget, under it, or
    urgent)."""
    if settings.sms_monthly_budget is None or priority == "urgent":
        return None
    month = spending(store, settings, now)
    if not month.reached:
        return None
    return (
        f"monthly SMS budget of {month.limit:.2f} {month.currency} reached "
        f"({month.spent:.2f} spent in {month.month}): only urgent notices go by SMS"
    )

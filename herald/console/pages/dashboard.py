"""The dashboard: the delivery log's last 24 hours or 7 days (``Herald.dashboard``), with
the deliveries per day drawn as stacked bars beside the same numbers in a table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from herald.console.chart import ORDER, stacked_bars
from herald.console.pages import ConsolePage
from herald.dashboard import WINDOWS

if TYPE_CHECKING:
    from herald.console.app import Console


def build_router(console: Console) -> APIRouter:
    r = APIRouter()

    @r.get("/")
    async def dashboard(request: Request, window: str = "24h") -> Response:
        console.signed_in(request)
        if window not in WINDOWS:
            window = "24h"
        doc = await console.herald.dashboard()
        figures = doc["windows"][window]
        other = doc["windows"]["7d" if window == "24h" else "24h"]
        status_totals: dict[str, int] = {}
        for counts in figures["by_channel"].values():
            for status, n in counts["by_status"].items():
                status_totals[status] = status_totals.get(status, 0) + n
        statuses = sorted(status_totals, key=lambda s: (-status_totals[s], s))
        present = set(figures["by_channel"])
        channels = [c for c in ORDER if c in present] + sorted(present - set(ORDER))
        return console.render(
            request,
            "console/dashboard.html",
            doc=doc,
            window=window,
            windows=list(WINDOWS),
            figures=figures,
            other=other,
            statuses=statuses,
            status_totals=status_totals,
            channels=channels,
            chart=stacked_bars(doc["days"]),
            currency=console.settings.sms_cost_currency,
        )

    return r


PAGE = ConsolePage(slug="dashboard", path="/", order=10, build=build_router)

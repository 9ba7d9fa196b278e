"""The CRM's personal daily summary over HTTP: part of :class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from herald.daily_summary import DailySummaryStatus
from herald.http_base import OverHttp
from herald.http_base import path_segment as _q


class DailySummaryOverHttp(OverHttp):
    async def set_daily_summary(self, subscriber_id: str, *, at: str | None) -> DailySummaryStatus:
        response = await self._call(
            "PUT", f"/v1/subscribers/{_q(subscriber_id)}/daily-summary", json={"at": at}
        )
        return DailySummaryStatus.model_validate(response.json())

    async def daily_summary(self, subscriber_id: str) -> DailySummaryStatus:
        response = await self._call("GET", f"/v1/subscribers/{_q(subscriber_id)}/daily-summary")
        return DailySummaryStatus.model_validate(response.json())

"""The delivery log over HTTP (filtered pages, the summary) and the ops tools beside it
(built-in kind previews, test sends): part of :class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herald.http_base import OverHttp
from herald.http_base import path_segment as _q


def _filters(**values: Any) -> dict[str, Any]:
    """The query parameters that are set, instants in ISO 8601."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
        if value is not None
    }


class DeliveryLogOverHttp(OverHttp):
    async def deliveries(
        self,
        loan_id: str | None = None,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        subscriber_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The delivery log (of one loan or subject, filtered), every page of it after
        ``after``, at most ``limit`` rows; all subjects need an ops key."""
        if loan_id is not None:
            subject_type, subject_id = "loan", loan_id
        rows: list[dict[str, Any]] = []
        cursor = str(after) if after is not None else None
        while True:
            want = 500 if limit is None else min(500, limit - len(rows))
            page, cursor = await self.delivery_page(
                subject_type=subject_type,
                subject_id=subject_id,
                status=status,
                channel=channel,
                kind=kind,
                subscriber_id=subscriber_id,
                since=since,
                until=until,
                cursor=cursor,
                limit=want,
            )
            rows.extend(page)
            if cursor is None or (limit is not None and len(rows) >= limit):
                return rows

    async def delivery_page(
        self,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        subscriber_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the log and the cursor of the next (None: the end)."""
        params = _filters(
            limit=limit,
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
            cursor=cursor,
        )
        page = (await self._call("GET", "/v1/deliveries", params=params)).json()
        return list(page["items"]), page.get("next_cursor")

    async def delivery_summary(
        self,
        loan_id: str | None = None,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        subscriber_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        if loan_id is not None:
            subject_type, subject_id = "loan", loan_id
        params = _filters(
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
        )
        response = await self._call("GET", "/v1/deliveries/summary", params=params)
        return dict(response.json())

    async def preview_kind(
        self, kind: str, *, locale: str = "fr", format: str = "text"
    ) -> dict[str, Any]:
        response = await self._call(
            "GET", f"/v1/kinds/{_q(kind)}/preview", params={"locale": locale, "format": format}
        )
        return dict(response.json())

    async def test_send(
        self, channel: str, address: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        response = await self._call(
            "POST",
            "/v1/test-sends",
            json={"channel": channel, "address": address},
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

    async def dashboard(self) -> dict[str, Any]:
        """The ops dashboard's figures (ops key)."""
        return dict((await self._call("GET", "/v1/stats/dashboard")).json())

    async def delivery_problems(self, *, limit: int = 50) -> dict[str, Any]:
        """The deliveries failed for good and the stuck ones (ops key)."""
        response = await self._call("GET", "/v1/deliveries/problems", params={"limit": limit})
        return dict(response.json())

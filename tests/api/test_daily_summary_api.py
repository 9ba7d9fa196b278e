"""The daily summary over HTTP (``PUT``/``GET /v1/subscribers/{id}/daily-summary``), through
the over-HTTP client and raw requests, on the CRM desk; and with Temporal unreachable: the
choice is kept, the answer says it was not handed over, and "off" needs no Temporal."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from herald import crm_store
from herald.api.app import create_app
from herald.daily_summary import DailySummaryStatus
from herald.errors import InvalidInput, NotFound
from herald.http_client import HttpHerald
from tests.api.conftest import Api, bare_herald, serving, until


async def test_the_daily_summary_over_http_agrees_with_the_service(crm_api: Api) -> None:
    async with HttpHerald(crm_api.url) as remote:
        status = await remote.set_daily_summary("ana", at="08:00")
        assert isinstance(status, DailySummaryStatus)
        assert (status.at, status.timezone, status.running) == ("08:00", "Europe/Paris", True)

        async def planned() -> DailySummaryStatus | None:
            shown = await remote.daily_summary("ana")
            return shown if shown.next_at is not None else None

        shown = await until(planned)
        assert shown == await crm_api.herald.daily_summary("ana")
        assert shown.next_at is not None and shown.sent == 0

        with pytest.raises(InvalidInput, match="'8h' is not a time of day like 08:00"):
            await remote.set_daily_summary("ana", at="8h")
        with pytest.raises(NotFound, match="unknown subscriber 'zed'"):
            await remote.set_daily_summary("zed", at="08:00")
        with pytest.raises(NotFound, match="unknown subscriber 'zed'"):
            await remote.daily_summary("zed")

        off = await remote.set_daily_summary("ana", at=None)
        assert (off.at, off.running) == (None, False)
        assert (await remote.daily_summary("ana")).at is None

    async with crm_api.http() as http:
        for body in ({"at": "08:00", "hour": 8}, {}, {"at": 8}):
            r = await http.put("/v1/subscribers/ana/daily-summary", json=body)
            assert r.status_code == 422, body
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await http.get("/v1/subscribers/ana%0A/daily-summary")
        assert r.status_code == 422 and "invalid subscriber id" in r.json()["detail"]
        r = await http.put("/v1/subscribers/ana/daily-summary", json={"at": "off"})
        assert r.status_code == 200 and r.json()["at"] is None


async def test_without_temporal_the_choice_is_kept_and_the_answer_says_so(tmp_path: Path) -> None:
    herald = bare_herald(tmp_path)
    try:
        # No summary: changing the person's zone needs no Temporal.
        await herald.upsert_subscriber("ana", email="ana@example.org", timezone="Europe/Paris")
        await herald.upsert_subscriber("ana", timezone="America/New_York")
        async with serving(create_app(herald, ready_timeout=60)) as url, HttpHerald(url) as remote:
            shown = await remote.daily_summary("ana")
            assert (shown.at, shown.timezone, shown.running) == (None, "America/New_York", False)
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                r = await http.put("/v1/subscribers/ana/daily-summary", json={"at": "07:30"})
            assert r.status_code == 503
            assert r.json()["detail"].startswith(
                "daily summary of ana saved (at 07:30 America/New_York) but not handed to "
                "Temporal: "
            )
            assert "run the command again once Temporal answers" in r.json()["detail"]
            setting = crm_store.summary_setting(herald.store, "ana")
            assert setting is not None and f"{setting.at:%H:%M}" == "07:30"
    finally:
        herald.close()

"""The delivery log's filters and summary, built-in kind previews and test sends over HTTP:
the same answers and errors as the service layer, ops scope where the log spans subjects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.errors import InvalidInput, ProviderFailed
from herald.http_client import HttpHerald
from tests.api.conftest import Api, bare_herald, serving
from tests.test_delivery_log import T0, seed


@pytest.fixture
async def log_api(tmp_path: Path) -> AsyncIterator[Api]:
    herald = bare_herald(tmp_path, outbox_dir=tmp_path / "outbox")
    seed(herald.store)
    async with serving(create_app(herald, ready_timeout=60)) as url:
        yield Api(url, herald, ApiKeys(herald.store))
    herald.close()


async def test_filters_and_summary_answer_as_the_service_layer(log_api: Api) -> None:
    ops = log_api.keys.create("ops-team", "ops").key
    direct = log_api.herald
    async with HttpHerald(log_api.url, ops) as remote:
        for filters in (
            {"status": "permanently_failed", "channel": "sms"},
            {"kind": "loan.overdue", "subscriber_id": "bob"},
            {"since": T0 + timedelta(hours=5), "until": T0 + timedelta(hours=30)},
            {"subject_id": "L3", "subject_type": "loan", "channel": "whatsapp"},
        ):
            assert await remote.deliveries(**filters) == await direct.deliveries(**filters)
            assert await remote.delivery_summary(**filters) == await direct.delivery_summary(
                **filters
            )
        first = await remote.deliveries(channel="sms", limit=1)
        rest = await remote.deliveries(channel="sms", after=first[0]["id"])
        assert [r["id"] for r in first + rest] == [
            r["id"] for r in await direct.deliveries(channel="sms")
        ]
        assert (await remote.delivery_summary("L1"))["by_channel"] == {"email": 1, "sms": 1}
        with pytest.raises(InvalidInput, match="unknown status 'lost': use one of pending"):
            await remote.deliveries(status="lost")
        with pytest.raises(InvalidInput, match="must be before until"):
            await remote.delivery_summary(since=T0, until=T0)


async def test_the_summary_spans_subjects_for_ops_keys_only(log_api: Api) -> None:
    app = log_api.keys.create("shop").key
    async with log_api.http(app) as http:
        assert (await http.get("/v1/deliveries/summary")).status_code == 403
        assert (await http.get("/v1/deliveries", params={"status": "sent"})).status_code == 403
        one = await http.get("/v1/deliveries/summary", params={"subject_id": "L2"})
        assert one.status_code == 200
        assert one.json() == {
            "total": 2,
            "by_status": {"permanently_failed": 1, "sent": 1},
            "by_channel": {"sms": 2},
        }
        naive = await http.get(
            "/v1/deliveries", params={"subject_id": "L2", "since": "2026-12-01T08:00:00"}
        )
        assert naive.status_code == 422 and "no time zone offset" in naive.json()["detail"]


async def test_a_built_in_kind_previews_over_http(log_api: Api) -> None:
    async with HttpHerald(log_api.url) as remote:
        doc = await remote.preview_kind("loan.overdue", locale="en", format="short")
        assert doc == await log_api.herald.preview_kind("loan.overdue", locale="en", format="short")
        assert "Trépied Manfrotto 055" in doc["body"] and doc["overridden"] is False
        with pytest.raises(InvalidInput, match="unknown format 'pdf'"):
            await remote.preview_kind("loan.overdue", format="pdf")


async def test_test_sends_need_ops_and_name_the_provider(log_api: Api, tmp_path: Path) -> None:
    app = log_api.keys.create("shop").key
    ops = log_api.keys.create("ops-team", "ops").key
    async with log_api.http(app) as http:
        body = {"channel": "email", "address": "ops@example.org"}
        assert (await http.post("/v1/test-sends", json=body)).status_code == 403
    async with HttpHerald(log_api.url, ops) as remote:
        doc = await remote.test_send("email", "ops@example.org")
        assert doc["channel"] == "email" and doc["provider"] == "outbox"
        assert doc["address"] == "ops@example.org" and doc["message_id"]
        assert any((tmp_path / "outbox").rglob("*"))
        with pytest.raises(InvalidInput, match="invalid phone number"):
            await remote.test_send("sms", "12")
        # No WhatsApp provider is configured: a failure of the channel, 502.
        with pytest.raises(ProviderFailed, match="no whatsapp provider configured"):
            await remote.test_send("whatsapp", "+33612345678")
    async with log_api.http(ops) as http:
        failed = await http.post(
            "/v1/test-sends", json={"channel": "whatsapp", "address": "+33612345678"}
        )
        assert failed.status_code == 502
        assert failed.headers["content-type"].startswith("application/problem+json")

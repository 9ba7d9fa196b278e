"""Staff alerts' channels, Meta templates and numbers over HTTP: the same answers as the
service layer, the same refusals, and reading Meta's review with an ops key only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.errors import InvalidInput, NotFound
from herald.http_client import HttpHerald
from tests.api.conftest import Api, bare_herald, serving
from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    TOKEN,
    WABA_ID,
    FakeGraph,
    meta_graph_fixture,
)


@pytest.fixture
async def meta_api(tmp_path: Path, meta_graph: FakeGraph) -> AsyncIterator[Api]:
    herald = bare_herald(
        tmp_path,
        meta_access_token=SecretStr(TOKEN),
        meta_waba_id=WABA_ID,
        meta_graph_url=meta_graph.url,
    )
    await herald.set_template("invoice", locale="fr", subject="F {{ n }}", body="F {{ n }}")
    await herald.create_group("accounting")
    async with serving(create_app(herald, ready_timeout=60)) as url:
        yield Api(url, herald, ApiKeys(herald.store))
    herald.close()


async def test_channels_and_meta_templates_over_http(meta_api: Api, meta_graph: FakeGraph) -> None:
    direct = meta_api.herald
    async with HttpHerald(meta_api.url, timeout=60) as herald:
        assert await herald.set_group_channels("accounting", ["whatsapp", "in_app"]) == [
            "whatsapp",
            "in_app",
        ]
        [group] = await herald.groups()
        assert group.channels == ["whatsapp", "in_app"] and group == (await direct.groups())[0]
        assert await herald.set_group_channels("accounting", None) is None
        with pytest.raises(NotFound):
            await herald.set_group_channels("nobody", ["sms"])
        with pytest.raises(InvalidInput, match="unknown channel"):
            await herald.set_group_channels("accounting", ["pigeon"])
        meta = await herald.set_template_options(
            "invoice",
            channels=["whatsapp"],
            meta_template="invoice_done",
            meta_languages={"fr": "fr"},
            meta_params=["{{ recipient.name }}"],
            meta_buttons=[{"type": "quick_reply", "text": "ok-{{ n }}"}],
        )
        assert meta.meta_template == "invoice_done" and meta.channels == ["whatsapp"]
        with pytest.raises(InvalidInput, match="lowercase"):
            await herald.set_template_options("invoice", meta_template="Bad Name")
        assert await herald.template_meta() == await direct.template_meta()

        meta_graph.add_template("invoice_done", "fr", "REJECTED", "INVALID_FORMAT")
        [synced] = await herald.sync_meta_templates()
        assert (synced.meta_status, synced.meta_rejected_reason) == ("REJECTED", "INVALID_FORMAT")
        assert (await herald.template_meta())[0].meta_status == "REJECTED"
        assert await herald.staff_stats(24) == {"templates": {}, "groups": {}}
        with pytest.raises(InvalidInput):
            await herald.staff_stats(24 * 365)


async def test_reading_metas_review_needs_an_ops_key(meta_api: Api) -> None:
    app_key = meta_api.keys.create("crm", "app")
    ops_key = meta_api.keys.create("ops-team", "ops")
    async with meta_api.http(app_key.key) as app, meta_api.http(ops_key.key) as ops:
        assert (await app.post("/v1/templates/sync-meta")).status_code == 403
        assert (await ops.post("/v1/templates/sync-meta")).status_code == 200
        assert (await app.get("/v1/stats/staff", params={"hours": 24})).status_code == 200
        body = (await app.get("/v1/templates/meta")).json()
        assert body[0]["name"] == "invoice" and body[0]["meta_status"] is None

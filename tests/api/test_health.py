"""Liveness and readiness, without any key."""

from __future__ import annotations

from herald.api.app import create_app
from herald.settings import Settings
from herald.store import Store
from starter.client import Herald
from tests.api.conftest import Api, refused_port, serving


async def test_ready_when_temporal_and_the_database_answer(api: Api) -> None:
    api.keys.create("shop")  # the probes stay public once keys exist
    async with api.http() as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"temporal": "ok", "database": "ok"}}


async def test_not_ready_says_which_part_failed_and_requests_get_503() -> None:
    url = f"postgresql://herald@127.0.0.1:{refused_port()}/herald"
    settings = Settings(database_url=url, temporal_address=f"127.0.0.1:{refused_port()}")
    herald = Herald(None, Store.from_url(url), settings)
    try:
        async with serving(create_app(herald, ready_timeout=60)) as base:
            api = Api(base, herald, None)  # type: ignore[arg-type]
            async with api.http() as http:
                health = await http.get("/healthz")
                ready = await http.get("/readyz")
                business = await http.get("/v1/groups")
    finally:
        herald.close()
    assert health.status_code == 200
    assert ready.status_code == 503
    doc = ready.json()
    assert doc["status"] == "unavailable"
    assert doc["checks"]["database"] == "the database cannot be reached; retry later"
    assert "cannot reach Temporal" in doc["checks"]["temporal"]
    assert business.status_code == 503
    assert business.headers["content-type"] == "application/problem+json"
    assert business.headers["retry-after"]
    assert "Traceback" not in business.text

"""Keys: none, wrong or revoked is 401 with a Bearer challenge; app keys stay off ops
routes; without any key the API serves only on the loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from herald.api.app import ApiRefused, create_app
from herald.api.keys import ApiKeys
from tests.api.conftest import Api, bare_herald

PROBLEM = "application/problem+json"


async def test_on_the_loopback_without_any_key_no_key_is_needed(bare_api: Api) -> None:
    async with bare_api.http() as http:
        response = await http.get("/v1/groups")
    assert response.status_code == 200
    assert response.json() == []


async def test_once_a_key_exists_none_wrong_or_revoked_is_refused(bare_api: Api) -> None:
    new = bare_api.keys.create("shop")
    async with bare_api.http() as anonymous, bare_api.http("hrld_wrong") as wrong:
        for response in (await anonymous.get("/v1/groups"), await wrong.get("/v1/groups")):
            assert response.status_code == 401
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"].startswith("Bearer")
            doc = response.json()
            assert doc["type"] == "https://herald.dev/problems/unauthorized"
            assert doc["status"] == 401
    async with bare_api.http(new.key) as http:
        assert (await http.get("/v1/groups")).status_code == 200
        bare_api.keys.revoke("shop")
        refused = await http.get("/v1/groups")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown or revoked API key"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    # The probes stay public.
    async with bare_api.http() as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_an_app_key_is_refused_on_ops_routes(bare_api: Api) -> None:
    app_key = bare_api.keys.create("shop", "app")
    ops_key = bare_api.keys.create("ops-team", "ops")
    async with bare_api.http(app_key.key) as app, bare_api.http(ops_key.key) as ops:
        for path in ("/v1/api-keys", "/v1/deliveries"):
            response = await app.get(path)
            assert response.status_code == 403, path
            assert response.headers["content-type"] == PROBLEM
            assert response.json()["type"] == "https://herald.dev/problems/forbidden"
        # One subject's log is an app's business.
        mine = await app.get("/v1/deliveries", params={"subject_type": "loan", "subject_id": "L1"})
        assert mine.status_code == 200
        assert mine.json() == {"items": [], "next_cursor": None}
        # Ops keys may do everything.
        assert (await ops.get("/v1/deliveries")).status_code == 200
        assert (await ops.get("/v1/groups")).status_code == 200
        listing = await ops.get("/v1/api-keys")
    assert listing.status_code == 200
    rows = {row["name"]: row for row in listing.json()}
    assert rows["shop"]["scope"] == "app"
    assert rows["ops-team"]["prefix"] == ops_key.info.prefix
    assert app_key.key.startswith(rows["shop"]["prefix"] + "_")
    assert app_key.key not in listing.text and ops_key.key not in listing.text


async def test_beyond_the_loopback_the_api_refuses_to_start_without_a_key(
    tmp_path: Path,
) -> None:
    herald = bare_herald(tmp_path)
    try:
        with pytest.raises(ApiRefused, match="herald api-key create"):
            create_app(herald, host="0.0.0.0")
        ApiKeys(herald.store).create("shop")
        create_app(herald, host="0.0.0.0")  # with a key it may
    finally:
        herald.close()


async def test_beyond_the_loopback_revoking_every_key_refuses_everyone(tmp_path: Path) -> None:
    from tests.api.conftest import serving

    herald = bare_herald(tmp_path)
    keys = ApiKeys(herald.store)
    new = keys.create("shop")
    # Served on 127.0.0.1 for the test, but configured as if public.
    app = create_app(herald, host="0.0.0.0")
    try:
        async with serving(app) as url:
            keys.revoke("shop")
            api = Api(url, herald, keys)
            async with api.http() as anonymous, api.http(new.key) as revoked:
                assert (await anonymous.get("/v1/groups")).status_code == 401
                assert (await revoked.get("/v1/groups")).status_code == 401
    finally:
        herald.close()

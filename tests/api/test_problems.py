"""Hostile input, unknown routes and outages: always an RFC 9457 problem, never a
traceback, and Herald's own one-line reason."""

from __future__ import annotations

import json

import httpx

from herald.errors import HeraldError, InvalidInput
from herald.http_client import HttpHerald
from tests.api.conftest import Api

PROBLEM = "application/problem+json"
LOAN = {
    "loan_id": "L-1",
    "borrower_id": "camille",
    "item": "Perceuse",
    "due_at": "2030-01-04T18:00:00+01:00",
}


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc = response.json()
    assert doc["type"] == f"https://herald.dev/problems/{slug}"
    assert doc["status"] == status
    assert doc["title"]
    assert "Traceback" not in response.text
    return doc


async def test_ids_with_a_trailing_newline_or_a_nul_are_refused_by_herald(bare_api: Api) -> None:
    async with bare_api.http() as http:
        newline = await http.get("/v1/subscribers/u1%0A")
        nul = await http.get("/v1/loans/L1%00")
        text = await http.put("/v1/subscribers/u1", json={"name": "Ca\u0000mille"})
    assert "invalid subscriber id 'u1\\n'" in str(problem(newline, 422, "invalid-input")["detail"])
    assert "invalid loan id" in str(problem(nul, 422, "invalid-input")["detail"])
    assert "control character" in str(problem(text, 422, "invalid-input")["detail"])


async def test_a_date_without_an_offset_is_refused_with_the_field(bare_api: Api) -> None:
    async with bare_api.http() as http:
        response = await http.post("/v1/loans", json={**LOAN, "due_at": "2030-01-04T18:00:00"})
    doc = problem(response, 422, "invalid-body")
    assert doc["field"] == "due_at"
    assert "timezone" in str(doc["detail"])


async def test_bodies_of_the_wrong_shape_name_the_field(bare_api: Api) -> None:
    async with bare_api.http() as http:
        missing = await http.post("/v1/loans", json={"loan_id": "L-1"})
        unknown = await http.post("/v1/loans", json={**LOAN, "due": "tomorrow"})
        wrong_type = await http.put("/v1/subscribers/u1/preferences", json={"sms": [1]})
    assert problem(missing, 422, "invalid-body")["field"] == "borrower_id"
    assert problem(unknown, 422, "invalid-body")["field"] == "due"
    assert problem(wrong_type, 422, "invalid-body")["field"] == "sms"


async def test_malformed_json_is_a_400(bare_api: Api) -> None:
    async with bare_api.http() as http:
        broken = await http.post(
            "/v1/loans", content=b'{"loan_id": ', headers={"content-type": "application/json"}
        )
        undecodable = await http.post(
            "/v1/loans",
            content=b'{"loan_id": "\xff"}',
            headers={"content-type": "application/json"},
        )
    problem(broken, 400, "malformed-body")
    problem(undecodable, 400, "malformed-body")


async def test_a_body_over_the_limit_is_a_413_whatever_the_headers_say(bare_api: Api) -> None:
    big = json.dumps({**LOAN, "item": "x" * (1024 * 1024)}).encode()

    async def chunks():  # no Content-Length: counted as it streams in
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    async with bare_api.http() as http:
        declared = await http.post(
            "/v1/loans", content=big, headers={"content-type": "application/json"}
        )
        streamed = await http.post(
            "/v1/loans", content=chunks(), headers={"content-type": "application/json"}
        )
    problem(declared, 413, "body-too-large")
    problem(streamed, 413, "body-too-large")


async def test_unknown_routes_and_methods_are_problems_too(bare_api: Api) -> None:
    async with bare_api.http() as http:
        unknown = await http.get("/v1/nothing-here")
        method = await http.delete("/v1/loans/L1")
        missing = await http.get("/v1/subscribers/nobody")
    problem(unknown, 404, "not-found")
    problem(method, 405, "method-not-allowed")
    assert problem(missing, 404, "not-found")["detail"] == "unknown subscriber 'nobody'"


async def test_herald_refusals_reach_the_http_client_as_the_same_errors(bare_api: Api) -> None:
    async with HttpHerald(bare_api.url, timeout=60) as herald:
        await herald.upsert_subscriber("camille", name="Camille", email="camille@example.org")
        try:
            await herald.upsert_subscriber("camille", email="not an address")
        except InvalidInput as err:
            assert "e-mail" in str(err) or "email" in str(err)
        else:
            raise AssertionError("an invalid e-mail was accepted")
        contact = await herald.get_subscriber("camille")
    assert contact.email == "camille@example.org"
    assert isinstance(InvalidInput("x"), HeraldError)


async def test_temporal_unreachable_is_a_503_with_retry_after(bare_api: Api) -> None:
    async with bare_api.http() as http:
        await http.put("/v1/subscribers/camille", json={"email": "camille@example.org"})
        start = await http.post("/v1/loans", json=LOAN)
        status = await http.get("/v1/loans/L-1")
        ready = await http.get("/readyz")
        health = await http.get("/healthz")
    for response in (start, status):
        doc = problem(response, 503, "unavailable")
        assert "cannot reach Temporal" in str(doc["detail"])
        assert int(response.headers["retry-after"]) > 0
    assert ready.status_code == 503
    assert ready.headers["retry-after"]
    checks = ready.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["temporal"] != "ok"
    assert health.status_code == 200 and health.json() == {"status": "ok"}


async def test_the_http_client_reports_an_outage_as_a_herald_error(bare_api: Api) -> None:
    from herald.errors import Unavailable

    async with HttpHerald(bare_api.url, timeout=60) as herald:
        try:
            await herald.loan_status("L-1")
        except Unavailable as err:
            assert "cannot reach Temporal" in str(err)
        else:
            raise AssertionError("no error")


async def test_other_shapes_of_bad_requests(bare_api: Api) -> None:
    deep = b'{"locale": "en", "context": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
    nested = b"[" * 200_000 + b"]" * 200_000
    async with bare_api.http() as http:
        number = await http.post("/v1/loans", json={**LOAN, "due_at": 1_900_000_000})
        form = await http.post("/v1/loans", data={"loan_id": "L-1"})
        bare = await http.post("/v1/loans", content=json.dumps(LOAN).encode())
        page = await http.get("/v1/subscribers/u1/inbox", params={"page": "two"})
        cursor = await http.get("/v1/deliveries", params={"cursor": "zz"})
        responses = [
            await http.post(
                "/v1/templates/t/preview",
                content=body,
                headers={"content-type": "application/json"},
            )
            for body in (deep, nested)
        ]
    assert problem(number, 422, "invalid-body")["field"] == "due_at"
    problem(form, 415, "unsupported-media-type")
    problem(bare, 415, "unsupported-media-type")
    assert problem(page, 422, "invalid-parameter")["field"] == "page"
    assert "invalid cursor" in str(problem(cursor, 422, "invalid-input")["detail"])
    for response in responses:
        assert response.status_code in (400, 422)
        assert response.headers["content-type"] == PROBLEM


async def test_the_http_client_retries_a_refused_connection_then_gives_up() -> None:
    from herald.errors import Unavailable
    from tests.api.conftest import refused_port

    async with HttpHerald(f"http://127.0.0.1:{refused_port()}", timeout=60) as herald:
        try:
            await herald.start_loan("L-1", borrower_id="camille", item="x", due_at=None)  # type: ignore[arg-type]
        except Unavailable as err:
            assert "cannot reach the Herald API" in str(err)
        else:
            raise AssertionError("no error")

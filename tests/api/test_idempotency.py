"""Idempotency-Key: a retried POST is answered the first answer and does nothing again."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest

from herald.api.idempotency import Claimed, IdempotencyStore, fingerprint
from tests.api.conftest import Api
from tests.workflows.test_loan_workflow import local_afternoon


async def test_a_replayed_post_answers_the_first_response_and_does_nothing(api: Api) -> None:
    body = {
        "loan_id": "L-idem",
        "borrower_id": "camille",
        "item": "Scie",
        "due_at": local_afternoon(datetime.now(UTC), 4).isoformat(),
    }
    async with api.http() as http:
        first = await http.post("/v1/loans", json=body, headers={"Idempotency-Key": "start-1"})
        replay = await http.post("/v1/loans", json=body, headers={"Idempotency-Key": "start-1"})
        assert first.status_code == replay.status_code == 201
        assert replay.json() == first.json()
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.headers["location"] == first.headers["location"] == "/v1/loans/L-idem"
        assert "idempotent-replayed" not in first.headers

        other = await http.post(
            "/v1/loans", json={**body, "item": "Marteau"}, headers={"Idempotency-Key": "start-1"}
        )
        assert other.status_code == 422
        assert other.json()["type"] == "https://herald.dev/problems/idempotency-key-reused"

        # A return, replayed, is not a second return (which would be refused: 409).
        returned = await http.post(
            "/v1/loans/L-idem/return", json={}, headers={"Idempotency-Key": "return-1"}
        )
        assert returned.status_code == 200 and returned.json()["state"] == "RETURNED"
        again = await http.post(
            "/v1/loans/L-idem/return", json={}, headers={"Idempotency-Key": "return-1"}
        )
        assert again.status_code == 200 and again.json() == returned.json()
        assert again.headers["idempotent-replayed"] == "true"
        fresh = await http.post(
            "/v1/loans/L-idem/return", json={}, headers={"Idempotency-Key": "return-2"}
        )
        assert fresh.status_code == 409

        bad = await http.post("/v1/loans", json=body, headers={"Idempotency-Key": "a b"})
        assert bad.status_code == 400


async def test_the_same_key_while_the_first_request_runs_is_a_409(api: Api) -> None:
    # The first request has claimed the key and not answered yet.
    store = IdempotencyStore(api.herald.store)
    claimed = await asyncio.to_thread(
        store.claim, 0, "busy-1", fingerprint("POST", "/v1/groups", b'{"name":"g"}')
    )
    assert isinstance(claimed, Claimed)
    async with api.http() as http:
        response = await http.post(
            "/v1/groups",
            content=b'{"name":"g"}',
            headers={"Idempotency-Key": "busy-1", "content-type": "application/json"},
        )
        assert response.status_code == 409
        assert response.json()["type"] == "https://herald.dev/problems/idempotency-in-progress"
        store.record(claimed, 201, b'{"name":"g","created":true}', "application/json")
        done = await http.post(
            "/v1/groups",
            content=b'{"name":"g"}',
            headers={"Idempotency-Key": "busy-1", "content-type": "application/json"},
        )
    assert done.status_code == 201
    assert done.headers["idempotent-replayed"] == "true"


async def test_keys_are_per_api_key(api: Api) -> None:
    one = api.keys.create("one")
    two = api.keys.create("two")
    async with api.http(one.key) as a, api.http(two.key) as b:
        first = await a.post("/v1/groups", json={"name": "g1"}, headers={"Idempotency-Key": "k"})
        second = await b.post("/v1/groups", json={"name": "g2"}, headers={"Idempotency-Key": "k"})
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers


async def test_the_answer_is_kept_before_the_client_has_it(
    bare_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client retrying the moment it has its answer must get the replay, never "still in
    progress": the gate keeps the answer before it sends the last of it. The keeping is
    slowed down here, so an answer sent first would arrive before it is kept."""
    kept = threading.Event()
    record = IdempotencyStore.record

    def slow_record(self: IdempotencyStore, *args: object, **kwargs: object) -> None:
        time.sleep(0.5)
        record(self, *args, **kwargs)  # type: ignore[arg-type]
        kept.set()

    monkeypatch.setattr(IdempotencyStore, "record", slow_record)
    async with bare_api.http() as http:
        headers = {"Idempotency-Key": "group-1"}
        first = await http.post("/v1/groups", json={"name": "crew"}, headers=headers)
        assert first.status_code == 201 and kept.is_set()
        again = await http.post("/v1/groups", json={"name": "crew"}, headers=headers)
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"

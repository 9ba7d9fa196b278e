"""The pieces of herald.outbound that need no Temporal: ids, secrets, the body, and the
cached check that keeps deliveries free of webhook queries while nobody listens."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from standardwebhooks import Webhook

from herald import outbound
from herald.db import utcnow
from herald.store import Store, migrate


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'out.db'}")
    migrate(s.engine)
    outbound.subscriptions_changed()
    yield s
    s.close()


def count_queries(store: Store) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", before)
    return seen


def test_ids_and_secrets_have_their_formats() -> None:
    secret = outbound.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    assert Webhook(secret).sign("msg_x", utcnow(), b"{}").startswith("v1,")
    endpoint_id = outbound.new_endpoint_id()
    assert endpoint_id.startswith("ep_") and len(endpoint_id) == 27
    first = outbound.event_id("delivery.sent", "key")
    assert first == outbound.event_id("delivery.sent", "key")
    assert first != outbound.event_id("delivery.failed", "key")
    assert first.startswith("msg_") and len(first) == 30


def test_the_body_is_json_with_instants_in_utc() -> None:
    at = utcnow()
    doc = outbound.payload("loan.overdue", {"due_at": at, "level": 1}, at)
    assert set(doc) == {"type", "timestamp", "data"}
    assert doc["timestamp"].endswith("Z") and doc["data"]["due_at"].endswith("Z")
    assert outbound.body_bytes(doc).startswith(b'{"type":"loan.overdue"')


def test_without_endpoints_an_event_costs_one_cached_query(store: Store) -> None:
    queries = count_queries(store)
    for i in range(50):
        assert outbound.record_event(store, "delivery.sent", {"i": i}, key=str(i)) is None
    assert len(queries) == 1  # the subscribed types, read once and kept

    outbound.create_endpoint(store, "https://app.example.org/h", ["loan.overdue"], None)
    queries.clear()
    assert outbound.record_event(store, "delivery.sent", {}, key="a") is None
    assert outbound.record_event(store, "loan.overdue", {}, key="b") is not None
    # Read again once after the change, then the insert: still nothing per event type.
    assert sum("webhook_endpoints" in q for q in queries) == 1


def test_an_unknown_type_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown webhook event type"):
        outbound.insert_event(store, "delivery.nope", {}, key="k")

"""The key and idempotency tables on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from herald.api.idempotency import (
    Claimed,
    IdempotencyStore,
    InProgress,
    KeyReused,
    Replay,
    fingerprint,
)
from herald.api.keys import ApiKeys
from herald.db import IdempotencyKey, utcnow
from herald.errors import InvalidInput, NotFound
from herald.store import Store
from tests.conftest import BACKENDS, migrated_store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with migrated_store(request, tmp_path) as s:
        yield s


def test_keys_are_created_found_by_their_secret_and_revoked(store: Store) -> None:
    keys = ApiKeys(store)
    assert not keys.any_active()
    new = keys.create(f"shop-{id(store)}", "ops")
    assert keys.any_active()
    found = keys.authenticate(new.key)
    assert found is not None and found.scope == "ops" and found.last_used_at is not None
    assert keys.authenticate(new.key + "x") is None
    with pytest.raises(InvalidInput, match="already exists"):
        keys.create(new.info.name)
    with pytest.raises(InvalidInput, match="scope"):
        keys.create("other", "root")
    with pytest.raises(InvalidInput, match="key name"):
        keys.create("bad\n")
    assert keys.revoke(new.info.name).revoked_at is not None
    assert keys.authenticate(new.key) is None
    assert not keys.any_active()
    with pytest.raises(NotFound):
        keys.revoke("nobody")


def test_a_key_is_claimed_once_answered_replayed_and_forgotten_after_a_day(store: Store) -> None:
    idem = IdempotencyStore(store)
    first = fingerprint("POST", "/v1/loans", b"{}")
    claimed = idem.claim(7, "k", first)
    assert isinstance(claimed, Claimed)
    with pytest.raises(InProgress):
        idem.claim(7, "k", first)
    with pytest.raises(KeyReused):
        idem.claim(7, "k", fingerprint("POST", "/v1/loans", b"{ }"))
    assert isinstance(idem.claim(8, "k", first), Claimed)  # another API key's own
    idem.record(claimed, 201, b'{"created":true}', "application/json", "/v1/loans/L1")
    assert idem.claim(7, "k", first) == Replay(
        201, b'{"created":true}', "application/json", "/v1/loans/L1"
    )
    # A day later the key is free again.
    with store.session() as s, s.begin():
        s.execute(
            update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, seconds=1))
        )
    assert isinstance(idem.claim(7, "k", fingerprint("POST", "/v1/other", b"")), Claimed)
    # A failed request frees its key for a retry.
    failed = idem.claim(7, "k2", first)
    assert isinstance(failed, Claimed)
    idem.release(failed)
    assert isinstance(idem.claim(7, "k2", first), Claimed)

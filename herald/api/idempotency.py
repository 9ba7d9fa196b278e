"""``Idempotency-Key`` on POST: the first answer is kept 24 hours and replayed.

One row per (API key, idempotency key). It is claimed before the request runs, with no
status yet, so a second request with the same key while the first runs is told so (409);
once answered, the same key and the same request get the first answer again, and the same
key with another request is refused (422). Answers of 500 and above are not kept: the
request may be retried with the same key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from herald.db import IdempotencyKey, utcnow
from herald.store import Store

TTL = timedelta(hours=24)
# Rows past their TTL are deleted at most this often (and ignored meanwhile).
PURGE_EVERY = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
# A claim still unanswered after this long belongs to a process that died mid-request.
ABANDONED_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Claimed:
    """This request runs; record its answer under ``row_id``."""

    row_id: int


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: bytes
    content_type: str | None
    location: str | None = None


class InProgress(Exception):
    pass


class KeyReused(Exception):
    pass


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8", "surrogateescape")):
        digest.update(part)
        digest.update(b"\0")
    digest.update(hashlib.sha256(body).digest())
    return digest.hexdigest()


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(0x21 <= ord(c) <= 0x7E for c in key)


class IdempotencyStore:
    def __init__(self, store: Store, ttl: timedelta = TTL) -> None:
        self.store = store
        self.ttl = ttl
        self._purged_at = utcnow() - PURGE_EVERY

    def claim(self, api_key_id: int, key: str, print_: str) -> Claimed | Replay:
        """Claim the key for this request, or the kept answer; raises :class:`InProgress`
        or :class:`KeyReused`."""
        self._purge()
        for _ in range(3):
            now = utcnow()
            with self.store.session() as s:
                row = s.scalar(
                    select(IdempotencyKey).where(
                        IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
                    )
                )
            if row is not None and (
                row.created_at <= now - self.ttl
                or (row.status_code is None and row.created_at <= now - ABANDONED_AFTER)
            ):
                with self.store.session() as s, s.begin():
                    s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
                row = None
            if row is not None:
                if row.fingerprint != print_:
                    raise KeyReused
                if row.status_code is None:
                    raise InProgress
                return Replay(
                    row.status_code, row.response_body or b"", row.content_type, row.location
                )
            fresh = IdempotencyKey(api_key_id=api_key_id, key=key, fingerprint=print_)
            try:
                with self.store.session() as s, s.begin():
                    s.add(fresh)
            except IntegrityError:
                continue  # claimed by a concurrent request a moment ago: look again
            return Claimed(fresh.id)
        raise InProgress

    def record(
        self,
        claimed: Claimed,
        status_code: int,
        body: bytes,
        content_type: str | None,
        location: str | None = None,
    ) -> None:
        with self.store.session() as s, s.begin():
            s.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.id == claimed.row_id)
                .values(
                    status_code=status_code,
                    response_body=body,
                    content_type=content_type,
                    location=location,
                )
            )

    def release(self, claimed: Claimed) -> None:
        """Forget the claim: the request failed and may be retried with the same key."""
        with self.store.session() as s, s.begin():
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claimed.row_id))

    def _purge(self) -> None:
        now = utcnow()
        if now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        with self.store.session() as s, s.begin():
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - self.ttl))

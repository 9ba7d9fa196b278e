"""API keys: ``hrld_<prefix>_<secret>``, of which only the SHA-256 is stored.

A key's scope is ``app`` (the business routes) or ``ops`` (those, plus the delivery log
across all subjects and the key listing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from herald.db import ApiKey, utcnow
from herald.errors import InvalidInput, NotFound
from herald.store import Store
from herald.validation import check_id

SCOPES = ("app", "ops")
KEY_PREFIX = "hrld"
# How often a key's last use is written (every request would write for every read).
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as listings show it: never its secret nor its hash."""

    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class NewApiKey:
    info: ApiKeyInfo
    # The whole key, shown once: only its hash is kept.
    key: str


def hash_secret(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        scope=row.scope,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class ApiKeys:
    """The ``api_keys`` table, through Herald's store (synchronous, like the store)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, scope: str = "app") -> NewApiKey:
        check_id(name, "key name")
        if scope not in SCOPES:
            raise InvalidInput(f"unknown scope {scope!r}: use app or ops")
        prefix = secrets.token_hex(4)
        key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKey(
            name=name, scope=scope, prefix=f"{KEY_PREFIX}_{prefix}", secret_hash=hash_secret(key)
        )
        try:
            with self.store.session() as s, s.begin():
                s.add(row)
        except IntegrityError:
            raise InvalidInput(
                f"an API key named {name!r} already exists (revoked keys keep their name)"
            ) from None
        return NewApiKey(_info(row), key)

    def list(self) -> list[ApiKeyInfo]:
        with self.store.session() as s:
            return [_info(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.id))]

    def revoke(self, name: str) -> ApiKeyInfo:
        check_id(name, "key name")
        with self.store.session() as s, s.begin():
            row = s.scalar(select(ApiKey).where(ApiKey.name == name))
            if row is None:
                raise NotFound(f"no API key named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def any_active(self) -> bool:
        with self.store.session() as s:
            count = s.scalar(
                select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
            )
            return bool(count)

    def authenticate(self, key: str) -> ApiKeyInfo | None:
        """The active key whose secret this is, or None."""
        digest = hash_secret(key)
        with self.store.session() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.secret_hash == digest))
            if row is None or row.revoked_at is not None:
                return None
            # The lookup is by hash; compare again in constant time all the same.
            if not hmac.compare_digest(row.secret_hash, digest):
                return None
            info = _info(row)
        now = utcnow()
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_EVERY:
            with self.store.session() as s, s.begin():
                s.execute(update(ApiKey).where(ApiKey.id == info.id).values(last_used_at=now))
            info = replace(info, last_used_at=now)
        return info

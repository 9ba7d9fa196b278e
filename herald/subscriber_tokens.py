"""Subscriber tokens: what a person's browser shows Herald instead of an API key.

A token is a JSON Web Token (RFC 7519) signed with HMAC-SHA256 under
``HERALD_SUBSCRIBER_TOKEN_SECRET``. It names one person (``sub``), is meant for Herald's
browser routes only (``aud`` ``herald:subscriber``), and expires (``exp``, at most
:data:`MAX_TTL` after it is checked). The application mints one server-side, either through
``POST /v1/subscribers/{id}/token`` with its API key or itself, with any JWT library and the
shared secret, and hands it to the person's page. Herald then answers the ``/v1/me/...``
routes for that person only, until the token expires.

Without the variable, an embedded stack (the SQLite database in the data folder, ``herald
dev``) keeps a random secret of its own in ``<data dir>/subscriber-token.key``; a deployment
with ``HERALD_DATABASE_URL`` must set the variable, or tokens are refused as not set up.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt

from herald.errors import HeraldError, InvalidInput, TokenRefused
from herald.validation import check_id

if TYPE_CHECKING:
    from herald.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "herald:subscriber"
DEFAULT_TTL = timedelta(hours=1)
DEFAULT_TTL_SECONDS = 3600
MIN_TTL = timedelta(minutes=1)
MAX_TTL = timedelta(hours=24)
# Clocks of the application and Herald may differ by this much.
LEEWAY = timedelta(seconds=30)
MIN_SECRET_LENGTH = 32
# A token is a few hundred bytes; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 2048
KEY_FILE = "subscriber-token.key"
NOT_SET_UP = (
    "subscriber tokens are not set up: set HERALD_SUBSCRIBER_TOKEN_SECRET "
    f"({MIN_SECRET_LENGTH} characters or more) on the API and on whatever mints tokens"
)


@dataclass(frozen=True)
class SubscriberToken:
    token: str
    subscriber_id: str
    expires_at: datetime


def check_secret(value: str) -> str:
    """A secret long enough for HMAC-SHA256 (settings validation)."""
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"HERALD_SUBSCRIBER_TOKEN_SECRET must be at least {MIN_SECRET_LENGTH} characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return value


_embedded: dict[Path, bytes] = {}


def _embedded_secret(data_dir: Path) -> bytes:
    """The embedded stack's own secret, made once (readable by its owner only)."""
    path = (data_dir / KEY_FILE).resolve()
    if path in _embedded:
        return _embedded[path]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text(encoding="ascii").strip()
    else:
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(value + "\n")
    if len(value) < MIN_SECRET_LENGTH:
        raise HeraldError(f"{path} holds no usable secret: delete it and restart")
    _embedded[path] = value.encode()
    return _embedded[path]


def token_secret(settings: Settings) -> bytes | None:
    """The signing secret: the setting, else the embedded stack's own, else None (off)."""
    if settings.subscriber_token_secret is not None:
        return settings.subscriber_token_secret.get_secret_value().encode()
    if settings.database_url or not settings.data_dir.is_dir():
        return None
    return _embedded_secret(settings.data_dir)


def check_ttl(ttl: object) -> timedelta:
    """Seconds (an int) or a timedelta, from one minute to a day."""
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, int) and not isinstance(ttl, bool):
        seconds = float(ttl)
    else:
        raise InvalidInput(f"the token's lifetime is a number of seconds, got {str(ttl)[:40]!r}")
    low, high = int(MIN_TTL.total_seconds()), int(MAX_TTL.total_seconds())
    if not low <= seconds <= high:
        raise InvalidInput(f"the token's lifetime must be {low} to {high} seconds, got {seconds:g}")
    return timedelta(seconds=seconds)


def mint(
    secret: bytes, subscriber_id: str, ttl: timedelta, *, now: float | None = None
) -> SubscriberToken:
    """A token for ``subscriber_id`` (already validated) living ``ttl``."""
    issued = int(time.time() if now is None else now)
    expires = issued + int(ttl.total_seconds())
    claims = {"sub": subscriber_id, "aud": AUDIENCE, "iat": issued, "exp": expires}
    token = jwt.encode(claims, secret, algorithm=ALGORITHM)
    return SubscriberToken(token, subscriber_id, datetime.fromtimestamp(expires, UTC))


@dataclass(frozen=True)
class Verified:
    subscriber_id: str
    expires_at: datetime


def verify(secret: bytes, token: str, *, now: float | None = None) -> Verified:
    """The person a token names, or :class:`TokenRefused` with a one-line reason."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TokenRefused("not a subscriber token")
    at = time.time() if now is None else now
    leeway = LEEWAY.total_seconds()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            leeway=leeway,
            options={"require": ["sub", "aud", "iat", "exp"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused("the subscriber token has expired: get a new one") from None
    except jwt.InvalidTokenError:
        raise TokenRefused("invalid subscriber token") from None
    # PyJWT checks the expiry against its own clock; a caller's clock (tests) wins here.
    expires, issued = claims["exp"], claims["iat"]
    if not isinstance(expires, int | float) or not isinstance(issued, int | float):
        raise TokenRefused("invalid subscriber token")
    if expires <= at - leeway:
        raise TokenRefused("the subscriber token has expired: get a new one")
    if issued > at + leeway:
        raise TokenRefused("the subscriber token is issued in the future: check the clocks")
    if expires - at > MAX_TTL.total_seconds() + leeway:
        raise TokenRefused(
            f"the subscriber token lives longer than {MAX_TTL.total_seconds() / 3600:g} hours"
        )
    subject = claims["sub"]
    try:
        check_id(subject, "subscriber id")
    except InvalidInput:
        raise TokenRefused("invalid subscriber in the token") from None
    return Verified(subject, datetime.fromtimestamp(expires, UTC))

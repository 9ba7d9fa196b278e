"""What every request goes through before a route: the body, counted as it streams in;
the API key; and, on POST, the ``Idempotency-Key``. Unexpected exceptions end here too,
as a 500 problem without internals (logged with their traceback)."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from herald.api.idempotency import (
    Claimed,
    IdempotencyStore,
    InProgress,
    KeyReused,
    Replay,
    fingerprint,
    valid_key,
)
from herald.api.keys import ApiKeys
from herald.api.problems import MEDIA_TYPE, ProblemError, from_exception, problem_body

log = logging.getLogger("herald.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1024 * 1024
BODY_TIMEOUT = 10.0
# Served to anyone: liveness, readiness and the API's own description.
SIGNED_PREFIX = "/v1/hooks/"
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/v1/brand/logo",
        "/v1/verifications/confirm",
    }
)
# Prometheus' door: an ops API key, or the HERALD_METRICS_TOKEN bearer, which opens it alone.
METRICS_PATH = "/metrics"
# The browser's doors take no API key (none may reach a browser): each route under them
# authenticates itself, the inbox and preferences by a subscriber token, the ops console
# by its session cookie, the static assets not at all.
BROWSER_PREFIXES = ("/ui/", "/v1/me/", "/console")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, or anyone on the loopback while no key exists (id 0)."""

    key_id: int
    name: str
    scope: str


LOOPBACK_PRINCIPAL = Principal(0, "loopback (no API key configured)", "ops")
METRICS_PRINCIPAL = Principal(0, "HERALD_METRICS_TOKEN", "metrics")


async def send_problem(send: Send, err: ProblemError) -> None:
    body = problem_body(err.status, err.slug, err.detail, err.field)
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class Gate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: ApiKeys,
        idempotency: IdempotencyStore,
        loopback_only: bool,
        max_body: int = MAX_BODY,
        body_timeout: float = BODY_TIMEOUT,
        metrics_token: str | None = None,
    ) -> None:
        self.app = app
        self.metrics_token = metrics_token
        self.keys = keys
        self.idempotency = idempotency
        self.loopback_only = loopback_only
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._handle(scope, receive, tracking_send)
        except Exception as err:  # noqa: BLE001 - the API's last line of defence
            problem = from_exception(err)
            if problem is None:
                log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
                problem = ProblemError(500, "server-error", "internal error; it has been logged")
            if not started:
                await send_problem(send, problem)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Providers' webhooks carry no API key: each is verified by its own signature.
        path = scope["path"]
        public = (
            path in PUBLIC_PATHS
            or path.startswith(SIGNED_PREFIX)
            or path.startswith(BROWSER_PREFIXES)
        )
        if not public:  # before reading a byte of the body
            principal = await self._authenticate(scope)
            scope.setdefault("state", {})["principal"] = principal
        body = await self._read_body(receive)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if public:
            await self.app(scope, replay, send)
            return
        key = _header(scope, b"idempotency-key")
        if scope["method"] != "POST" or key is None:
            await self.app(scope, replay, send)
            return
        if not valid_key(key):
            raise ProblemError(
                400,
                "invalid-header",
                "Idempotency-Key must be 1-255 printable ASCII characters without spaces",
                field="Idempotency-Key",
            )
        target = scope["path"] + (
            "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
        )
        print_ = fingerprint(scope["method"], target, body)
        try:
            outcome = await asyncio.to_thread(self.idempotency.claim, principal.key_id, key, print_)
        except InProgress:
            raise ProblemError(
                409,
                "idempotency-in-progress",
                "a request with this Idempotency-Key is still being answered; retry later",
                field="Idempotency-Key",
            ) from None
        except KeyReused:
            raise ProblemError(
                422,
                "idempotency-key-reused",
                "this Idempotency-Key was used for another request in the last 24 hours; "
                "use a new key for a new request",
                field="Idempotency-Key",
            ) from None
        if isinstance(outcome, Replay):
            await self._replay(send, outcome)
            return
        await self._run_and_keep(scope, replay, send, outcome)

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, claimed: Claimed
    ) -> None:
        status = 500
        content_type: str | None = None
        location: str | None = None
        no_store = False
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type, location, no_store
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        content_type = bytes(v).decode("latin-1")
                    elif k.lower() == b"location":
                        location = bytes(v).decode("latin-1")
                    elif k.lower() == b"cache-control" and b"no-store" in bytes(v).lower():
                        no_store = True
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self.idempotency.release, claimed))
            raise
        if status >= 500 or no_store:
            # A secret shown once (no-store) is kept nowhere, not even for a replay.
            await asyncio.to_thread(self.idempotency.release, claimed)
        else:
            await asyncio.to_thread(
                self.idempotency.record,
                claimed,
                status,
                b"".join(chunks),
                content_type,
                location,
            )

    async def _replay(self, send: Send, replay: Replay) -> None:
        headers = [
            (b"content-length", str(len(replay.body)).encode()),
            (b"idempotent-replayed", b"true"),
        ]
        if replay.content_type:
            headers.append((b"content-type", replay.content_type.encode("latin-1")))
        if replay.location:
            headers.append((b"location", replay.location.encode("latin-1")))
        await send(
            {"type": "http.response.start", "status": replay.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": replay.body})

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ProblemError(400, "malformed-body", "the client went away")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        raise ProblemError(
                            413,
                            "body-too-large",
                            f"request body over {self.max_body} bytes",
                            headers={"Connection": "close"},
                        )
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise ProblemError(
                408, "body-timeout", f"request body not received within {self.body_timeout:g} s"
            ) from None
        return b"".join(chunks)

    async def _authenticate(self, scope: Scope) -> Principal:
        header = _header(scope, b"authorization")
        challenge = {"WWW-Authenticate": 'Bearer realm="herald"'}
        if header is None:
            if self.loopback_only and not await asyncio.to_thread(self.keys.any_active):
                return LOOPBACK_PRINCIPAL
            raise ProblemError(
                401,
                "unauthorized",
                "an API key is required: Authorization: Bearer <key>",
                headers=challenge,
            )
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise ProblemError(
                401,
                "unauthorized",
                "use Authorization: Bearer <key>",
                headers={"WWW-Authenticate": 'Bearer realm="herald", error="invalid_request"'},
            )
        if (
            self.metrics_token
            and scope["path"] == METRICS_PATH
            and hmac.compare_digest(secret.encode(), self.metrics_token.encode())
        ):
            return METRICS_PRINCIPAL
        info = await asyncio.to_thread(self.keys.authenticate, secret)
        if info is None:
            raise ProblemError(
                401,
                "unauthorized",
                "unknown or revoked API key",
                headers={"WWW-Authenticate": 'Bearer realm="herald", error="invalid_token"'},
            )
        return Principal(info.id, info.name, info.scope)

"""``herald codec-server``: lets authorised ops read encrypted payloads in the Temporal UI.

The UI calls it from the browser: ``POST /decode?preserveStorageRefs=true`` (and
``/encode``) with ``{"payloads": [...]}`` in protobuf JSON, an ``X-Namespace`` header, and
a CORS preflight first. Every request must carry ``Authorization: Bearer
<HERALD_CODEC_TOKEN>``; without a token configured the server only listens on the loopback
interface (``herald dev``).

A Starlette app served by uvicorn. Bodies are counted as they stream in (a lying or missing
``Content-Length`` changes nothing), a body that stops arriving is answered 408, and every
malformed request gets a 400 with a JSON ``{"error": ...}`` saying what is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads
from uvicorn.protocols.http.h11_impl import H11Protocol

from herald.codec import EncryptionCodec, parse_keys
from herald.settings import Settings

log = logging.getLogger("herald.codec")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 4 * 1024 * 1024
# Seconds a client may take to send its whole body once the headers are in.
BODY_TIMEOUT = 10.0
# Seconds a client may take to send a request's headers (on a new or a kept-alive connection).
HEADER_TIMEOUT = 10.0
# Open connections and requests in flight; beyond it uvicorn answers 503.
LIMIT_CONCURRENCY = 64
# Seconds an idle keep-alive connection stays open.
KEEP_ALIVE = 5
# The headers the Temporal UI sends (its access token only when configured to pass it).
UI_HEADERS = ("content-type", "x-namespace", "authorization")


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _H11WithHeaderTimeout(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers never complete
    (uvicorn only times out idle keep-alive connections, not slowly sent headers)."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        waiting_after = self.cycle
        self.loop.call_later(self.header_timeout, self._headers_too_slow, waiting_after)

    def _headers_too_slow(self, waiting_after: object) -> None:
        # No new request has started since the timer was armed: the headers are late.
        if self.cycle is waiting_after and not self.transport.is_closing():
            self.transport.close()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request, limit: int, within: float) -> bytes:
    """The body, counted as it arrives: more than ``limit`` bytes is refused whatever the
    headers claim, and a body that has not fully arrived ``within`` seconds is given up."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BadRequest(413, f"request body over {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise BadRequest(408, f"request body not received within {within:g} s") from None
    return b"".join(chunks)


def _payloads(raw: bytes) -> Payloads:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(400, f"body is not JSON: {err}") from None
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise BadRequest(400, 'body must be a JSON object {"payloads": [...]}')
    payloads = Payloads()
    try:
        json_format.ParseDict(body, payloads, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as err:
        raise BadRequest(400, f"payloads are not Temporal payloads: {err}") from None
    return payloads


def build_app(
    settings: Settings, *, max_body: int = MAX_BODY, body_timeout: float = BODY_TIMEOUT
) -> Starlette:
    """The ASGI app: ``POST /encode`` and ``POST /decode``, with CORS for the UI origins."""
    if settings.encryption_keys is None:
        raise ValueError("HERALD_ENCRYPTION_KEYS is not set: there is nothing to decode")
    codec = EncryptionCodec(parse_keys(settings.encryption_keys.get_secret_value()))
    token = settings.codec_token.get_secret_value() if settings.codec_token else None
    expected = f"Bearer {token}".encode() if token is not None else None

    def handler(encode: bool) -> Any:
        convert = codec.encrypt if encode else codec.decrypt

        async def endpoint(request: Request) -> JSONResponse:
            if expected is not None:
                sent = request.headers.get("authorization", "").encode()
                if not hmac.compare_digest(sent, expected):
                    return _error(401, "missing or wrong access token")
            try:
                payloads = _payloads(await _read_body(request, max_body, body_timeout))
                try:
                    out = Payloads(payloads=[convert(p) for p in payloads.payloads])
                except ValueError as err:  # unknown key id, failed authentication
                    raise BadRequest(400, str(err)) from None
            except BadRequest as err:
                return _error(err.status, str(err))
            return JSONResponse(json_format.MessageToDict(out))

        return endpoint

    origins = [o.strip() for o in settings.codec_cors_origins.split(",") if o.strip()]
    return Starlette(
        routes=[
            Route("/encode", handler(True), methods=["POST"]),
            Route("/decode", handler(False), methods=["POST"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["POST"],
                allow_headers=list(UI_HEADERS),
                allow_credentials=True,
                # A UI on a public address calling a codec server on a private one.
                allow_private_network=True,
            )
        ],
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM stop serving gracefully, and ``herald codec-server`` then exits 0
        (uvicorn would raise the signal again once stopped)."""
        with super().capture_signals():
            yield
            self._captured_signals.clear()


class CodecServer:
    """The app on its own listening socket: bound on construction (``port=0`` picks a free
    one), served by :meth:`serve` in the caller's loop or by :meth:`start` in a thread."""

    def __init__(
        self,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int = 8888,
        *,
        max_body: int = MAX_BODY,
        body_timeout: float = BODY_TIMEOUT,
        limit_concurrency: int = LIMIT_CONCURRENCY,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        token = settings.codec_token.get_secret_value() if settings.codec_token else None
        if token is None and host not in LOOPBACK:
            raise ValueError("set HERALD_CODEC_TOKEN to serve beyond the loopback interface")
        app = build_app(settings, max_body=max_body, body_timeout=body_timeout)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        self.server = _Server(
            uvicorn.Config(
                app,
                http=type(
                    "CodecH11Protocol", (_H11WithHeaderTimeout,), {"header_timeout": header_timeout}
                ),
                lifespan="off",
                access_log=False,  # no request lines: nothing about payloads in logs
                log_level="warning",
                server_header=False,
                timeout_keep_alive=KEEP_ALIVE,
                limit_concurrency=limit_concurrency,
                timeout_graceful_shutdown=5,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def serve(self) -> None:
        """Serve until cancelled (or SIGINT/SIGTERM when run in the main thread)."""
        try:
            await self.server.serve(sockets=[self.socket])
        finally:
            self.socket.close()

    def start(self) -> CodecServer:
        """Serve from a background thread; the socket already listens, so callers can
        connect at once (connections wait in the backlog until uvicorn takes them)."""
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        with contextlib.suppress(OSError):
            self.socket.close()

"""``herald api``: the HTTP API on uvicorn, on its own listening socket."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from herald.api.app import create_app
from herald.codec_server import KEEP_ALIVE, _H11WithHeaderTimeout, _Server

if TYPE_CHECKING:
    from starter.client import Herald


class _EmbeddedServer(_Server):
    """For a process whose own code handles SIGINT/SIGTERM (``herald dev``): it stops the
    server with :meth:`ApiServer.stop`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """Bound on construction (``port=0`` picks a free port); :meth:`serve` runs it in the
    caller's loop until cancelled or SIGINT/SIGTERM. It holds at most ``limit_concurrency``
    connections (``HERALD_API_MAX_CONNECTIONS`` by default), open bells' streams included;
    beyond that, a request is answered 503."""

    def __init__(
        self,
        herald: Herald,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        limit_concurrency: int | None = None,
        handle_signals: bool = True,
    ) -> None:
        app = create_app(herald, host=host)  # refuses a public host without any key
        if limit_concurrency is None:  # HERALD_API_MAX_CONNECTIONS
            limit_concurrency = herald.settings.api_max_connections
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        server = _Server if handle_signals else _EmbeddedServer
        self.server = server(
            uvicorn.Config(
                app,
                http=_H11WithHeaderTimeout,
                lifespan="off",
                log_level="warning",
                server_header=False,
                timeout_keep_alive=KEEP_ALIVE,
                limit_concurrency=limit_concurrency,
                timeout_graceful_shutdown=10,
            )
        )

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True

    async def serve(self) -> None:
        try:
            await self.server.serve(sockets=[self.socket])
        finally:
            self.socket.close()

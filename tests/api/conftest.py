"""The HTTP API on a real uvicorn server (127.0.0.1, a port the OS picks), in the test's
own event loop, over a real Herald: the desk's (time-skipping Temporal, SQLite, SMTP and
workers) or one with no Temporal at all."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.settings import Settings
from herald.store import Store, migrate
from starter.client import Herald
from tests.workflows.conftest import crm, desk  # noqa: F401 - the fixtures, for these tests
from tests.workflows.test_loan_workflow import Desk

T = TypeVar("T")


@dataclass
class Api:
    url: str
    herald: Herald
    keys: ApiKeys

    def http(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
                raise AssertionError("the server stopped before starting")
            await asyncio.sleep(0.01)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


def refused_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def bare_herald(tmp_path: Path, **overrides: Any) -> Herald:
    """A Herald on a migrated SQLite database; Temporal at a port that refuses."""
    settings = Settings(
        **{
            "database_url": f"sqlite:///{tmp_path / 'api.db'}",
            "temporal_address": f"127.0.0.1:{refused_port()}",
            **overrides,
        }
    )
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    return Herald(None, store, settings)


@pytest.fixture
async def api(desk: Desk) -> AsyncIterator[Api]:  # noqa: F811 - the imported fixture
    async with serving(create_app(desk.herald, ready_timeout=60)) as url:
        yield Api(url, desk.herald, ApiKeys(desk.herald.store))


@pytest.fixture
async def bare_api(tmp_path: Path) -> AsyncIterator[Api]:
    """The API over a Herald whose Temporal cannot be reached."""
    herald = bare_herald(tmp_path)
    async with serving(create_app(herald, ready_timeout=60)) as url:
        yield Api(url, herald, ApiKeys(herald.store))
    herald.close()


async def until(check: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """Poll the async ``check`` until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(0.1)


@pytest.fixture
async def crm_api(crm: Desk) -> AsyncIterator[Api]:  # noqa: F811 - the imported fixture
    async with serving(create_app(crm.herald, ready_timeout=60)) as url:
        yield Api(url, crm.herald, ApiKeys(crm.herald.store))

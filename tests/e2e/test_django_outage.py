"""The Django outbox across outages, on the real dev server with a ``herald worker``
process: loans created, extended, returned and deleted through the ORM while Temporal is
stopped reach Herald once it is back, each exactly once.

The relay runs as it does in a web process (``Relay.run`` on a thread, short backoff);
every wait ends on a condition (an empty outbox, a delivery row), under the hang guard.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

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
            Herald(client, store, settings), store, smtp, start_temporal, stop_temporal, setting
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


def outbox_states() -> dict[str, int]:
    from django.db.models import Count

    from herald.contrib.django.models import OutboxItem

    rows = OutboxItem.objects.values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def outbox_errors() -> list[tuple[str, str, str, str]]:
    from herald.contrib.django.models import OutboxItem

    return list(OutboxItem.objects.values_list("method", "object_key", "status", "last_error"))


def waiting_on_herald() -> bool:
    """The relay has met the outage: an item still pending, tried, with the reason."""
    from herald.contrib.django.models import OutboxItem

    return (
        OutboxItem.objects.filter(status="pending", attempts__gte=1).exclude(last_error="").exists()
    )


async def test_loans_handed_off_while_temporal_is_down_reach_herald_once(stack: Stack) -> None:
    await orm(django_project)
    from django.test import override_settings

    from herald.contrib.django.relay import Relay

    with override_settings(HERALD=stack.herald_setting):
        await orm(reset_outbox)
        relay = Relay()
        thread = threading.Thread(target=relay.run, name="test-relay", daemon=True)
        thread.start()
        try:
            await run_the_outage(stack)
        finally:
            relay.stop()
            await asyncio.to_thread(thread.join, GUARD)
            relay.close()
            await orm(reset_outbox)


async def run_the_outage(stack: Stack) -> None:
    today = datetime.now(PARIS).date()
    due = datetime.combine(today + timedelta(days=5), time(14, 0))  # naive, as Django keeps it

    def create(loan_id: str, member_id: str) -> None:
        from django.db import transaction
        from lending.models import Loan, Material, Member  # type: ignore[import-not-found]

        with transaction.atomic():
            member, _ = Member.objects.get_or_create(
                id=member_id,
                defaults={"name": member_id.title(), "email": f"{member_id}@example.org"},
            )
            Loan.objects.create(
                id=loan_id,
                user=member,
                material=Material.objects.create(name="Perceuse"),
                due_at=due,
            )

    def update(loan_id: str, **changes: Any) -> None:
        from lending.models import Loan

        loan = Loan.objects.get(pk=loan_id)
        for name, value in changes.items():
            setattr(loan, name, value)
        loan.save()

    def delete(loan_id: str) -> None:
        from lending.models import Loan

        Loan.objects.get(pk=loan_id).delete()

    def now_local() -> datetime:
        return datetime.now(PARIS).replace(tzinfo=None, microsecond=0)

    # Temporal up: two loans go through at once.
    await orm(create, "out-a", "alba")
    await orm(create, "out-b", "bruno")
    await until(lambda: orm(lambda: outbox_states() == {"sent": 4}))
    # ...and the worker sends their confirmations.
    await until(
        lambda: stack.sent("out-a", "loan.created") == stack.sent("out-b", "loan.created") == 1
    )

    # Temporal down: the requests still only write rows.
    stack.stop_temporal()
    await orm(lambda: update("out-a", returned_at=now_local()))
    await orm(lambda: update("out-b", due_at=due + timedelta(days=7)))
    await orm(create, "out-c", "carla")
    await orm(create, "out-d", "dario")
    await orm(lambda: update("out-d", returned_at=now_local()))
    await orm(create, "out-e", "elsa")
    await orm(delete, "out-e")
    await until(lambda: orm(waiting_on_herald))
    states = await orm(outbox_states)
    assert "failed" not in states and states["pending"] >= 6, states

    # Temporal back: everything drains, in order, once.
    stack.start_temporal()
    await until(lambda: orm(lambda: "pending" not in outbox_states()), interval=0.5)
    assert await orm(outbox_states) == {"sent": 14}, await orm(outbox_errors)

    def final(loan_id: str) -> Any:
        handle = stack.herald.client.get_workflow_handle(
            loan_workflow_id(loan_id), result_type=LoanStatus
        )
        return asyncio.wait_for(handle.result(), GUARD)

    for loan_id in ("out-a", "out-d"):
        assert (await final(loan_id)).state is LoanState.RETURNED
    assert (await final("out-e")).state is LoanState.CANCELLED
    b = await stack.herald.loan_status("out-b")
    assert b.state is LoanState.ACTIVE and b.extensions == 1
    assert b.due_at == (due + timedelta(days=7)).replace(tzinfo=PARIS)
    assert (await stack.herald.loan_status("out-c")).state is LoanState.ACTIVE

    # One confirmation each, one thank-you for each return: in the log and in the mailbox.
    for loan_id in ("out-a", "out-b", "out-c", "out-d"):
        await until(lambda lid=loan_id: stack.sent(lid, "loan.created") == 1)
    for loan_id in ("out-a", "out-d"):
        await until(lambda lid=loan_id: stack.sent(lid, "loan.returned") == 1)
    mails = {
        a: len(stack.smtp.handler.to(f"{a}@example.org"))
        for a in ("alba", "bruno", "carla", "dario")
    }
    assert mails == {"alba": 2, "bruno": 1, "carla": 1, "dario": 2}
    assert stack.sent("out-e", "loan.created") <= 1  # the cancel may come before it is sent
    for loan_id in ("out-b", "out-c"):
        await stack.herald.cancel_loan(loan_id)

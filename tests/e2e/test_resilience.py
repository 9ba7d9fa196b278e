"""Faults in the middle of real work, on the real dev server with `herald worker` processes.

Each test asserts, with the delivery log and the receiving SMTP server: no notification
lost, and duplicates bounded and counted (printed, for the record).

None depends on how fast the machine is: every wait polls a condition under a hang guard
of minutes, each loan is due a fixed time after its own start (so a slow start never
plans its reminder in the past), and what must not happen during a fault is what the
fault makes impossible (nothing is logged while the database is cut), not what the clock
has not reached yet.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from herald.contracts import LoanStatus
from herald.settings import Settings
from herald.store import Store, migrate
from starter.client import Herald, loan_workflow_id
from tests.e2e.test_loan_e2e import dev_server  # noqa: F401  (fixture)
from tests.e2e.waiting import GUARD, until
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

HERALD = str(Path(sys.executable).parent / "herald")
BURST_POLICY = {
    "name": "burst",
    "classes": [{"name": "burst", "reminders": [{"kind": "loan.reminder_2h", "before": "PT3S"}]}],
    "overdue": {"kind": "loan.overdue", "max_alerts": 0, "repeat_at_local": None},
}


@dataclass
class Bench:
    env: dict[str, str]
    herald: Herald
    store: Store
    smtp: SmtpServer
    log: Path
    worker: subprocess.Popen[bytes] | None = None

    def start_worker(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the process
        self.worker = subprocess.Popen([HERALD, "worker"], env=self.env, stdout=out, stderr=out)

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        assert self.worker is not None
        self.worker.send_signal(sig)
        self.worker.wait(timeout=GUARD)

    def reminders_sent(self) -> list[Any]:
        return self.sent("loan.reminder_2h")

    def sent(self, kind: str) -> list[Any]:
        return [
            r
            for r in self.store.list_deliveries()
            if r.kind == kind and r.channel == "email" and r.status == "sent"
        ]

    async def statuses(self, loan_ids: list[str]) -> list[LoanStatus]:
        client = self.herald.client
        return [
            await client.get_workflow_handle(loan_workflow_id(i)).query(
                "status", result_type=LoanStatus
            )
            for i in loan_ids
        ]


@pytest.fixture
async def bench(
    dev_server: WorkflowEnvironment,  # noqa: F811
    smtp: SmtpServer,
    tmp_path: Path,
) -> AsyncIterator[Bench]:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(BURST_POLICY))
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "HERALD_TASK_QUEUE": f"res-{uuid.uuid4().hex[:8]}",
        "HERALD_DATABASE_URL": f"sqlite:///{tmp_path / 'herald.db'}",
        "HERALD_EMAIL_PROVIDER": "smtp",
        "HERALD_SMTP_HOST": "127.0.0.1",
        "HERALD_SMTP_PORT": str(smtp.port),
        "HERALD_SMTP_STARTTLS": "false",
        "HERALD_POLICY": str(policy),
    }
    settings = Settings(
        task_queue=env["HERALD_TASK_QUEUE"],
        database_url=env["HERALD_DATABASE_URL"],
        policy=str(policy),
    )
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    herald = Herald(dev_server.client, store, settings)
    bench = Bench(env, herald, store, smtp, tmp_path / "worker.log")
    try:
        yield bench
    finally:
        if bench.worker is not None and bench.worker.poll() is None:
            bench.kill_worker(signal.SIGTERM)
        store.close()


async def start_burst(bench: Bench, count: int, due_in: timedelta) -> list[str]:
    """``count`` loans, each due ``due_in`` after its own start: the reminder (3 s before)
    is never past when planned, however long the whole burst takes to start."""
    loan_ids = []
    for i in range(count):
        person = f"p{i:03d}"
        await bench.herald.upsert_subscriber(person, email=f"{person}@example.org")
        # Loan ids unique per test: earlier tests' loans still run on the shared server.
        loan_id = f"{bench.env['HERALD_TASK_QUEUE']}-{i:03d}"
        due = datetime.now(UTC) + due_in
        await bench.herald.start_loan(loan_id, borrower_id=person, item="Badge", due_at=due)
        loan_ids.append(loan_id)
    return loan_ids


def reminder_mails(bench: Bench) -> list[str]:
    """Recipients of the reminder e-mails (each person also had one confirmation)."""
    confirmations = [
        r.recipient
        for r in bench.store.list_deliveries()
        if r.kind == "loan.created" and r.channel == "email" and r.status == "sent"
    ]
    mails = [m.to for m in bench.smtp.handler.messages]
    for address in confirmations:
        mails.remove(address)  # one confirmation each; what remains are reminders (and dups)
    return mails


async def test_worker_killed_mid_burst_loses_nothing(bench: Bench) -> None:
    bench.start_worker()
    await start_burst(bench, 40, timedelta(seconds=20))
    # Kill it while the burst of 40 reminders is being sent (as soon as a few are out).
    await until(lambda: len(bench.reminders_sent()) >= 3, interval=0.02)
    bench.kill_worker(signal.SIGKILL)
    sent_before_kill = len(bench.reminders_sent())
    bench.start_worker()
    await until(lambda: len(bench.reminders_sent()) == 40)
    mails = reminder_mails(bench)
    duplicates = len(mails) - len(set(mails))
    print(
        f"\nSIGKILL mid-burst: {sent_before_kill}/40 sent before the kill, 40/40 after; "
        f"{duplicates} duplicate e-mail(s)"
    )
    assert set(mails) == {f"p{i:03d}@example.org" for i in range(40)}  # nobody lost
    # A duplicate needs the kill to land between the provider's acceptance and the log write.
    assert duplicates <= 20  # bounded by the activity slots busy at the kill


async def test_smtp_refusing_for_a_while_then_accepting_delivers_everything(bench: Bench) -> None:
    bench.start_worker()
    people = [f"p{i:03d}@example.org" for i in range(10)]
    for address in people:
        bench.smtp.handler.refuse(address, "421 4.3.2 Service shutting down, try later", times=2)
    await start_burst(bench, 10, timedelta(seconds=30))
    # Each address refuses its first two RCPTs, then accepts: the confirmation is refused
    # and retried with backoff; if the retries are slow, the reminder may take one of the
    # refusals instead. Either way both are delivered, each once.
    await until(lambda: len(bench.sent("loan.created")) == 10)
    await until(lambda: len(bench.reminders_sent()) == 10)
    rows = [
        r
        for r in bench.store.list_deliveries()
        if r.kind in ("loan.created", "loan.reminder_2h") and r.channel == "email"
    ]
    assert len(rows) == 20 and {r.status for r in rows} == {"sent"}
    for address in people:
        attempts = [r.attempts for r in rows if r.recipient == address]
        assert len(attempts) == 2 and sum(attempts) == 4, (address, attempts)  # 2 retried
        assert bench.smtp.handler.rcpt_attempts[address] == 4  # 2 refused + 2 accepted
    assert sorted(m.to for m in bench.smtp.handler.messages) == sorted(people * 2)  # no duplicates


@pytest.fixture
def pg_proxy(postgres_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", 5432).start()
    yield proxy
    proxy.stop()


class TcpProxy:
    """A TCP relay in front of PostgreSQL that can be cut to make the database unreachable."""

    def __init__(self, host: str, port: int) -> None:
        import socket
        import threading

        self.target = (host, port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.conns: list[Any] = []
        self.lock = threading.Lock()
        self._threading = threading
        self._socket = socket

    def start(self) -> TcpProxy:
        self._threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = self._socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            return
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.close()

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        self.up.clear()
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(self._socket.SHUT_RDWR)
            self.conns.clear()

    def restore(self) -> None:
        self.up.set()

    def stop(self) -> None:
        self.cut()
        self.listener.close()


async def test_postgresql_unreachable_for_thirty_seconds_loses_nothing(
    bench: Bench, pg_proxy: TcpProxy, postgres_url: str
) -> None:
    """The worker reaches PostgreSQL through a relay that is cut for at least 30 s, while a
    burst of loans starts: every confirmation is due during the cut, every reminder falls
    due behind it."""
    import asyncio

    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{pg_proxy.port}")
    bench.env["HERALD_DATABASE_URL"] = url
    bench.store = Store.from_url(postgres_url)  # the test reads the database directly
    migrate(bench.store.engine)
    tables = ("deliveries", "inbox", "group_members", "groups", "preferences", "subscribers")
    with bench.store.engine.begin() as conn:  # the session's database: start from empty
        for table in tables:
            conn.exec_driver_sql(f"DELETE FROM {table}")
    bench.herald = Herald(bench.herald.client, bench.store, bench.herald.settings)
    bench.start_worker()
    # One loan due in an hour: its confirmation shows the worker is up on the database.
    await bench.herald.upsert_subscriber("warm", email="warm@example.org")
    due = datetime.now(UTC) + timedelta(hours=1)
    await bench.herald.start_loan("pg-warm", borrower_id="warm", item="Badge", due_at=due)
    await until(lambda: bench.sent("loan.created"))

    pg_proxy.cut()
    cut_at = asyncio.get_running_loop().time()
    # The application still reaches the database (directly); only the worker is cut off.
    loan_ids = await start_burst(bench, 20, timedelta(seconds=10))

    # Every workflow runs and fires its confirmation meanwhile (workflows need no database),
    # so each send fails and is retried: wait on their state, then keep the cut 30 s in all.
    def all_fired(statuses: list[LoanStatus]) -> bool:
        return all(any(n.kind == "loan.created" for n in s.notifications) for s in statuses)

    async def fired() -> bool:
        return all_fired(await bench.statuses(loan_ids))

    await until(fired, interval=1.0)
    await asyncio.sleep(max(0.0, 30 - (asyncio.get_running_loop().time() - cut_at)))
    # Nothing of the burst could be planned, logged or sent while the worker had no database.
    assert not [r for r in bench.store.list_deliveries() if r.subject_id in loan_ids]
    assert not [m for m in bench.smtp.handler.messages if m.to.startswith("p0")]
    pg_proxy.restore()

    await until(lambda: len(bench.reminders_sent()) == 20 and len(bench.sent("loan.created")) == 21)
    rows = [
        r
        for r in bench.store.list_deliveries()
        if r.kind == "loan.reminder_2h" and r.channel == "email"
    ]
    assert len(rows) == 20  # one row each: nothing logged twice
    mails = reminder_mails(bench)
    assert sorted(set(mails)) == sorted(f"p{i:03d}@example.org" for i in range(20))
    print(
        f"\nPostgreSQL cut 30 s: 20/20 reminders, {len(mails) - len(set(mails))} duplicate e-mail(s)"
    )


async def test_temporal_dev_server_restarted_mid_run_loses_nothing(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """The file-persisted dev server (as `herald dev` runs it) stops and starts again while
    loans wait for their reminders: the worker and client reconnect, nothing is lost."""
    import asyncio

    from herald.devstack import _stop_process, dev_server_command
    from herald.temporal import connect
    from tests.smtp_server import free_port

    port = free_port()
    command = dev_server_command(tmp_path, port=port, ui_port=free_port(), namespace="default")

    def start_server() -> subprocess.Popen[bytes]:
        log = open(tmp_path / "temporal.log", "ab")  # noqa: SIM115 - owned by the process
        return subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)

    server = start_server()
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(BURST_POLICY))
    settings = Settings(
        temporal_address=f"127.0.0.1:{port}",
        task_queue="restart",
        database_url=f"sqlite:///{tmp_path / 'herald.db'}",
        policy=str(policy),
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
        "HERALD_POLICY": str(policy),
    }
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    bench: Bench | None = None
    try:

        async def connected() -> Any:
            try:
                return await connect(settings)
            except RuntimeError:
                return None

        client = await until(connected, interval=0.5)
        assert isinstance(client, Client)
        bench = Bench(env, Herald(client, store, settings), store, smtp, tmp_path / "worker.log")
        bench.start_worker()
        loan_ids = await start_burst(bench, 10, timedelta(seconds=45))
        await until(lambda: len(bench.sent("loan.created")) == 10)
        # Which reminders are still waiting on their durable timers (for the record: a very
        # slow machine may have sent some already; none may be lost either way).
        waiting = [
            s.loan_id
            for s in await bench.statuses(loan_ids)
            if s.next_reminder is not None and s.next_reminder.kind == "loan.reminder_2h"
        ]
        _stop_process(server)  # the whole server goes away...
        await asyncio.sleep(3)
        server = start_server()  # ...and comes back from its file
        await until(lambda: len(bench.reminders_sent()) == 10)
        mails = reminder_mails(bench)
        assert sorted(set(mails)) == sorted(f"p{i:03d}@example.org" for i in range(10))
        rows = [r for r in store.list_deliveries() if r.kind == "loan.reminder_2h"]
        assert len([r for r in rows if r.channel == "email"]) == 10  # one row each
        print(
            f"\nTemporal restarted mid-run: {len(waiting)}/10 reminders waiting across the "
            f"restart, 10/10 sent, {len(mails) - len(set(mails))} duplicate(s)"
        )
    finally:
        if bench is not None and bench.worker is not None and bench.worker.poll() is None:
            bench.kill_worker(signal.SIGTERM)
        _stop_process(server)
        store.close()

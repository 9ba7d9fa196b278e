"""Open bells and their live unread count: ``python -m bench.inbox_stream_bench``.

Starts a ``herald api`` process (``bench.counted_api``: the ``herald`` command with a count
of the SQL statements it runs) on a fresh database, SQLite in a temporary directory or a
fresh PostgreSQL database with ``--postgres``; no Temporal is needed, the browser's routes
do not touch it. N people (``--people``, several sizes in one invocation) each have
``--existing`` notifications, half of them read, and a subscriber token. Each run has two
sides, in alternating order:

- **streams**: N ``GET /v1/me/inbox/stream``, one per person on a connection of its own, as
  N browsers would hold them. Once each has its first count and the API has settled, an
  idle window of ``--idle`` seconds measures (b) the SQL statements the API runs and (c)
  its CPU time. Then (a), ``--rounds`` times, at a random moment of the watcher's tick:
  one notification for each of ``--affected`` people written in one transaction, as the
  worker's in-app sends would, and for each affected stream the time from the commit to
  the moment it receives its new count;
- **baseline**: no stream open, the same idle window.

Medians of the runs, each run's figures, and the load average of the machine beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench.benchmark import cpu_seconds, environment, free_port, log, percentile
from bench.callbacks_bench import drop_postgres, fresh_postgres

SECRET = "bench-subscriber-token-secret-" + "x" * 16
TICK = 2.0  # HERALD_INBOX_STREAM_TICK: the default
UNREAD = re.compile(rb'data: \{"unread": (\d+)\}')
GUARD = 300.0  # a hang guard: a figure that takes this long is a failure, not a figure


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def load_average() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# ---------------------------------------------------------------------- the database


def people_ids(n: int) -> list[str]:
    return [f"bench-{i:05d}" for i in range(n)]


def fill(database_url: str, people: list[str], existing: int) -> None:
    """The people, and ``existing`` notifications each, the older half read."""
    from herald.db import InboxNotification, Subscriber, utcnow
    from herald.store import Store

    store = Store.from_url(database_url)
    now = utcnow()
    with store.session() as s, s.begin():
        s.add_all(Subscriber(id=p, name=p, locale="en", timezone="Europe/Paris") for p in people)
    with store.session() as s, s.begin():
        s.add_all(
            InboxNotification(
                delivery_key=f"seed|{p}|{i}",
                subscriber_id=p,
                kind="loan.reminder_j1",
                title=f"Reminder {i}",
                body="“Drill” is due back tomorrow at 18:00.",
                priority="high",
                category="loans",
                created_at=now - timedelta(hours=existing - i),
                read_at=now if i < existing // 2 else None,
            )
            for p in people
            for i in range(existing)
        )
    store.close()


class Writer:
    """Writes one notification for each of a set of people in one transaction, from the
    benchmark's process, as the worker's in-app sends write them to the same table."""

    def __init__(self, database_url: str) -> None:
        from herald.store import Store

        self.store = Store.from_url(database_url)
        self.serial = 0

    def write(self, people: list[str]) -> float:
        """The monotonic time right after the commit."""
        from herald.db import InboxNotification

        self.serial += 1
        with self.store.session() as s, s.begin():
            s.add_all(
                InboxNotification(
                    delivery_key=f"bench|{self.serial}|{p}",
                    subscriber_id=p,
                    kind="loan.overdue",
                    title="Overdue: “Drill”",
                    body="“Drill” was due back yesterday. Please bring it back.",
                    priority="urgent",
                    category="loans",
                )
                for p in people
            )
        return time.monotonic()

    def close(self) -> None:
        self.store.close()


# ---------------------------------------------------------------------- the bells


@dataclass(eq=False)
class Bell:
    """One browser's ``EventSource``: a connection of its own, reading ``unread`` events."""

    person: str
    token: str
    count: int = -1
    expected: int | None = None
    received_at: float | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    first: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None

    async def open(self, host: str, port: int) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(
            f"GET /v1/me/inbox/stream?token={self.token} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{self.person}: {head.splitlines()[0].decode()}")
        self.task = asyncio.create_task(self._read(reader))
        await asyncio.wait_for(self.first.wait(), GUARD)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        pending = b""
        while data := await reader.read(65536):
            now = time.monotonic()
            pending += data
            end = 0
            for match in UNREAD.finditer(pending):
                self._counted(int(match.group(1)), now)
                end = match.end()
            # Keep what may be the start of an event cut across two reads.
            pending = pending[end:][-512:]

    def _counted(self, count: int, now: float) -> None:
        self.count = count
        self.first.set()
        if self.expected is not None and count >= self.expected and self.received_at is None:
            self.received_at = now
            self.arrived.set()

    def expect_one_more(self) -> None:
        self.expected = self.count + 1
        self.received_at = None
        self.arrived.clear()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()
        if self.task is not None:
            with contextlib.suppress(ConnectionError):
                await self.task


async def open_bells(bells: list[Bell], host: str, port: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(bell: Bell) -> None:
        async with gate:
            await bell.open(host, port)

    await asyncio.gather(*(one(b) for b in bells))


# ---------------------------------------------------------------------- the API process


class Api:
    def __init__(self, proc: subprocess.Popen[bytes], counts_file: Path) -> None:
        self.proc = proc
        self.counts_file = counts_file

    async def statements(self) -> dict[str, int]:
        """The API's SQL statements so far (it writes them on SIGUSR1)."""
        self.counts_file.unlink(missing_ok=True)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not self.counts_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not write its statement counts")
            await asyncio.sleep(0.01)
        return dict(json.loads(self.counts_file.read_text()))

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)


@dataclass
class Idle:
    statements_per_tick: float
    grouped_counts_per_tick: float
    cpu_ms_per_s: float


async def idle_window(api: Api, seconds: float) -> Idle:
    before, cpu0, t0 = await api.statements(), api.cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    after, cpu1, t1 = await api.statements(), api.cpu(), time.monotonic()
    ticks = (t1 - t0) / TICK
    return Idle(
        statements_per_tick=(after["statements"] - before["statements"]) / ticks,
        grouped_counts_per_tick=(after["grouped_unread_counts"] - before["grouped_unread_counts"])
        / ticks,
        cpu_ms_per_s=(cpu1 - cpu0) * 1000 / (t1 - t0),
    )


# ---------------------------------------------------------------------- one size


@dataclass
class Run:
    streams: Idle
    baseline: Idle
    latencies: list[float]  # every affected stream of every round, seconds
    round_max: list[float]  # per round: until the last affected stream had its count
    round_spread: list[float]  # per round: from the first affected stream to the last
    load: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


async def rounds(
    bells: list[Bell], writer: Writer, args: argparse.Namespace, rng: random.Random, n: int
) -> tuple[list[float], list[float], list[float]]:
    affected_n = max(1, min(n, round(n * args.affected / 100)))
    latencies: list[float] = []
    maxima: list[float] = []
    spreads: list[float] = []
    for _ in range(args.rounds):
        # The last round ended just after a watcher's look: a random pause puts this write
        # anywhere in the watcher's cycle.
        await asyncio.sleep(rng.uniform(0, TICK))
        affected = rng.sample(bells, affected_n)
        for bell in affected:
            bell.expect_one_more()
        written = await asyncio.to_thread(writer.write, [b.person for b in affected])
        await asyncio.wait_for(asyncio.gather(*(b.arrived.wait() for b in affected)), GUARD)
        got = [b.received_at - written for b in affected if b.received_at is not None]
        latencies += got
        maxima.append(max(got))
        spreads.append(max(got) - min(got))
        for bell in affected:
            bell.expected = None
    return latencies, maxima, spreads


async def measure_size(
    n: int, database_url: str, work: Path, args: argparse.Namespace
) -> list[Run]:
    from herald.subscriber_tokens import mint

    people = people_ids(n)
    tokens = {p: mint(SECRET.encode(), p, timedelta(hours=6)).token for p in people}
    writer = Writer(database_url)
    port = args.port or free_port()
    counts_file = work / f"counts-{n}.json"
    env = {
        **os.environ,
        "HERALD_DATABASE_URL": database_url,
        "HERALD_SUBSCRIBER_TOKEN_SECRET": SECRET,
        "HERALD_INBOX_STREAM_TICK": str(TICK),
        "HERALD_API_MAX_CONNECTIONS": str(n + 50),
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_BENCH_COUNTS": str(counts_file),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # unused by these routes
    }
    if args.keepalive is not None:
        env["HERALD_BENCH_KEEPALIVE"] = str(args.keepalive)
    cmd = [sys.executable, "-m", "bench.counted_api", "api", "--port", str(port)]
    with open(work / f"api-{n}.log", "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
    api = Api(proc, counts_file)
    rng = random.Random(args.seed + n)
    found: list[Run] = []
    try:
        await wait_for_health(port, work / f"api-{n}.log")

        async def streams_side(run: int) -> tuple[Idle, list[float], list[float], list[float]]:
            bells = [Bell(p, tokens[p]) for p in people]
            started = time.monotonic()
            await open_bells(bells, "127.0.0.1", port, args.open_concurrency)
            log(f"{n} people, run {run}: {n} streams open in {time.monotonic() - started:.1f} s")
            await asyncio.sleep(2 * TICK + 1)  # the opening's own queries are over
            idle = await idle_window(api, args.idle)
            latencies, maxima, spreads = await rounds(bells, writer, args, rng, n)
            await asyncio.gather(*(b.close() for b in bells))
            return idle, latencies, maxima, spreads

        async def baseline_side(run: int) -> Idle:
            await asyncio.sleep(2 * TICK + 1)  # the last streams gone, the watcher stopped
            return await idle_window(api, args.idle)

        for run in range(1, args.runs + 1):
            load = [load_average()]
            if run % 2:
                streams = await streams_side(run)
                base = await baseline_side(run)
            else:
                base = await baseline_side(run)
                streams = await streams_side(run)
            load.append(load_average())
            idle, latencies, maxima, spreads = streams
            found.append(Run(idle, base, latencies, maxima, spreads, load))
            r = found[-1]
            log(
                f"{n} people, run {run}: new count p50 {r.p50:.2f} s, p99 {r.p99:.2f} s; "
                f"statements/tick {idle.statements_per_tick:.2f} vs {base.statements_per_tick:.2f};"
                f" CPU {idle.cpu_ms_per_s:.1f} vs {base.cpu_ms_per_s:.1f} ms/s; load {load}"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        writer.close()
    return found


async def wait_for_health(port: int, log_path: Path) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(600):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"herald api did not start: see {log_path}")


async def main_async(args: argparse.Namespace) -> tuple[dict[int, list[Run]], str]:
    from herald.store import Store, migrate

    results: dict[int, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="herald-stream-bench-") as tmp:
        work = Path(tmp)
        for n in args.people:
            pg_name = None
            if args.postgres:
                pg_name, database_url = fresh_postgres()
            else:
                database_url = f"sqlite:///{work / f'herald-{n}.db'}"
            try:
                store = Store.from_url(database_url)
                migrate(store.engine)
                store.close()
                fill(database_url, people_ids(n), args.existing)
                results[n] = await measure_size(n, database_url, work, args)
            finally:
                if pg_name is not None:
                    drop_postgres(pg_name)
    return results, "PostgreSQL" if args.postgres else "SQLite"


# ---------------------------------------------------------------------- the report


def report(results: dict[int, list[Run]], backend: str, args: argparse.Namespace) -> str:
    def each(runs: list[Run], figure: Callable[[Run], float], digits: int = 2) -> str:
        return ", ".join(f"{figure(r):.{digits}f}" for r in runs)

    def both(runs: list[Run], figure: Callable[[Run], float], scale: float = 1) -> str:
        return f"{med([figure(r) * scale for r in runs]):.2f}"

    def loads(runs: list[Run]) -> str:
        values = [x for r in runs for x in r.load]
        return f"{med(values):.1f} ({min(values):.1f} to {max(values):.1f})"

    flag = " --postgres" if args.postgres else ""
    if args.keepalive is not None:
        flag += f" --keepalive {args.keepalive}"
    people = " ".join(str(n) for n in args.people)
    lines = [
        f"## Open bells: the live unread count ({backend})",
        "",
        f"`python -m bench.inbox_stream_bench --runs {args.runs} --people {people} "
        f"--affected {args.affected:g} --rounds {args.rounds} --idle {args.idle:g}{flag}`",
        "",
        f"Tick {TICK:g} s (`HERALD_INBOX_STREAM_TICK`), {args.existing} notifications per "
        f"person, {args.affected:g}% of the people written to per round, {args.rounds} rounds "
        "per run; medians of the runs, each run in brackets."
        + (
            f" Keep-alive comments every {args.keepalive} s instead of 15 (a diagnostic)."
            if args.keepalive is not None
            else ""
        ),
        "",
        "| open streams | write → new count, p50 (s) | p99 (s) | worst round, last stream (s) "
        "| first → last stream of a round (ms) | load average |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, runs in results.items():
        lines.append(
            f"| {n:,} | {both(runs, lambda r: r.p50)} ({each(runs, lambda r: r.p50)}) "
            f"| {both(runs, lambda r: r.p99)} ({each(runs, lambda r: r.p99)}) "
            f"| {both(runs, lambda r: max(r.round_max))} "
            f"| {med([med(r.round_spread) * 1000 for r in runs]):.0f} "
            f"({each(runs, lambda r: med(r.round_spread) * 1000, 0)}) | {loads(runs)} |"
        )
    lines += [
        "",
        f"| open streams | SQL statements per {TICK:g} s, streams / none "
        "| API CPU while idle, ms per s, streams / none | load average |",
        "|---:|---:|---:|---:|",
    ]
    for n, runs in results.items():
        lines.append(
            f"| {n:,} | {both(runs, lambda r: r.streams.statements_per_tick)} / "
            f"{both(runs, lambda r: r.baseline.statements_per_tick)} "
            f"({each(runs, lambda r: r.streams.statements_per_tick)} / "
            f"{each(runs, lambda r: r.baseline.statements_per_tick)}) "
            f"| {med([r.streams.cpu_ms_per_s for r in runs]):.1f} / "
            f"{med([r.baseline.cpu_ms_per_s for r in runs]):.1f} "
            f"({each(runs, lambda r: r.streams.cpu_ms_per_s, 1)} / "
            f"{each(runs, lambda r: r.baseline.cpu_ms_per_s, 1)}) | {loads(runs)} |"
        )
    grouped = {
        n: med([r.streams.grouped_counts_per_tick for r in runs]) for n, runs in results.items()
    }
    lines += [
        "",
        "Of those statements, the watcher's grouped unread counts: "
        + ", ".join(f"{g:.2f} for {n:,} streams" for n, g in grouped.items())
        + ".",
        "",
        "Environment: " + ", ".join(f"{k} {v}" for k, v in environment().items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--people", type=int, nargs="+", default=[200, 1000], help="open streams, one each"
    )
    parser.add_argument("--existing", type=int, default=20, help="notifications per person")
    parser.add_argument(
        "--affected", type=float, default=10, help="percent of the people written to per round"
    )
    parser.add_argument("--rounds", type=int, default=30, help="writes per run")
    parser.add_argument("--idle", type=float, default=30, help="seconds of each idle window")
    parser.add_argument("--open-concurrency", type=int, default=50, help="streams opening at once")
    parser.add_argument("--port", type=int, help="the API's port (a free one by default)")
    parser.add_argument(
        "--keepalive",
        type=int,
        help="a diagnostic: the streams' keep-alive comment every SECONDS instead of 15",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    results, backend = asyncio.run(main_async(args))
    print(report(results, backend, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

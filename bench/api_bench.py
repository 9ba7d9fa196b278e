"""The HTTP API against the direct client, and the Django relay's drain rate:
``python -m bench.api_bench``.

Starts its own Temporal dev server (in memory, free ports, headless), an SQLite database in
a temporary directory and a ``herald api`` process with an API key. No worker polls the
task queues, so only the front door, the service layer and the server work.

1. start rate: ``POST /v1/loans`` (bearer key, ``Idempotency-Key``, JSON) against
   ``Herald.start_loan`` in this process, the same loans, the same concurrency; the two
   alternate, each run on fresh loan ids. Medians, the ratio API/direct, and every run.
2. relay drain: N hand-offs (``start_loan``) written to the Django outbox (SQLite), each in
   its own transaction, while the relay is stopped, as during an outage; then one
   ``Relay.drain()``: hand-offs per second, over the HTTP API and direct, and what writing
   one hand-off costs the web request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.benchmark import DevServer, environment, free_port, log, run_concurrently

HERALD_BIN = str(Path(sys.executable).parent / "herald")


@dataclass
class Figures:
    api: list[float] = field(default_factory=list)
    direct: list[float] = field(default_factory=list)
    relay_http: list[float] = field(default_factory=list)
    relay_direct: list[float] = field(default_factory=list)
    enqueue_ms: list[float] = field(default_factory=list)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def start_rates(
    figures: Figures, url: str, key: str, database_url: str, address: str, args: Any
) -> None:
    from herald.settings import Settings
    from herald.store import Store
    from starter.client import Herald

    settings = Settings(temporal_address=address, task_queue="bench-api", database_url=database_url)
    herald = Herald(None, Store.from_url(database_url), settings)
    await herald.upsert_subscriber("bench", email="bench@example.org")
    due = datetime.now(UTC) + timedelta(days=10)
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as http:

        async def api(prefix: str) -> float:
            async def one(i: int) -> None:
                response = await http.post(
                    "/v1/loans",
                    json={
                        "loan_id": f"{prefix}-{i}",
                        "borrower_id": "bench",
                        "item": "Perceuse Bosch",
                        "due_at": due.isoformat(),
                    },
                    headers={"Idempotency-Key": f"{prefix}-{i}"},
                )
                assert response.status_code == 201, response.text

            return args.loans / await run_concurrently(args.loans, args.concurrency, one)

        async def direct(prefix: str) -> float:
            async def one(i: int) -> None:
                started = await herald.start_loan(
                    f"{prefix}-{i}", borrower_id="bench", item="Perceuse Bosch", due_at=due
                )
                assert started.created

            return args.loans / await run_concurrently(args.loans, args.concurrency, one)

        await api("warm-api")  # connections, caches, JIT-less but imports and pools
        await direct("warm-direct")
        for run in range(args.runs):
            sides = [("api", api), ("direct", direct)]
            if run % 2:
                sides.reverse()
            for name, fn in sides:
                rate = await fn(f"r{run}-{name}-{uuid.uuid4().hex[:6]}")
                getattr(figures, name).append(rate)
                log(f"run {run + 1}: {name} {rate:.1f} loans/s")
    herald.close()


def relay_rates(
    figures: Figures, url: str, key: str, database_url: str, address: str, args: Any
) -> None:
    """Django is configured once per process, so both modes share one project."""
    from tests.django_project import django_project

    django_project()
    from django.db import transaction
    from django.test import override_settings

    from herald.contrib.django import enqueue
    from herald.contrib.django.models import OutboxItem
    from herald.contrib.django.relay import Relay

    modes = {
        "relay_http": {"MODE": "http", "API_URL": url, "API_KEY": key},
        "relay_direct": {
            "MODE": "direct",
            "SETTINGS": {
                "temporal_address": address,
                "task_queue": "bench-relay",
                "database_url": database_url,
            },
        },
    }
    due = datetime.now(UTC) + timedelta(days=10)
    for run in range(args.relay_runs):
        for name, setting in modes.items():
            with override_settings(HERALD=setting):
                OutboxItem.objects.all().delete()
                prefix = f"q{run}-{name}-{uuid.uuid4().hex[:6]}"
                started = time.perf_counter()
                for i in range(args.handoffs):  # queued while the relay is away
                    with transaction.atomic():  # what a web request's transaction adds
                        enqueue.start_loan(
                            f"{prefix}-{i}", borrower_id="bench", item="Perceuse Bosch", due_at=due
                        )
                figures.enqueue_ms.append((time.perf_counter() - started) * 1000 / args.handoffs)
                relay = Relay()
                try:
                    started = time.perf_counter()
                    report = relay.drain()
                    elapsed = time.perf_counter() - started
                finally:
                    relay.close()
                assert report.sent == args.handoffs and report.failed == 0, str(report)
                rate = args.handoffs / elapsed
                getattr(figures, name).append(rate)
                log(
                    f"relay run {run + 1}: {name} {args.handoffs} hand-offs in {elapsed:.1f}s, {rate:.1f}/s"
                )


def report(figures: Figures, args: Any) -> str:
    api, direct = med(figures.api), med(figures.direct)
    lines = [
        "## Herald's HTTP API and Django relay",
        "",
        f"`python -m bench.api_bench --runs {args.runs} --loans {args.loans} "
        f"--concurrency {args.concurrency} --handoffs {args.handoffs} --relay-runs {args.relay_runs}`",
        "",
        "| figure | median | runs |",
        "|---|---:|---|",
        f"| `POST /v1/loans`, loans/s | {api:,.1f} | {', '.join(f'{v:.1f}' for v in figures.api)} |",
        f"| `Herald.start_loan`, loans/s | {direct:,.1f} | {', '.join(f'{v:.1f}' for v in figures.direct)} |",
        f"| ratio API / direct | {api / direct:.2f} | |",
        f"| relay drain over HTTP, hand-offs/s | {med(figures.relay_http):,.1f} | "
        f"{', '.join(f'{v:.1f}' for v in figures.relay_http)} |",
        f"| relay drain direct, hand-offs/s | {med(figures.relay_direct):,.1f} | "
        f"{', '.join(f'{v:.1f}' for v in figures.relay_direct)} |",
        f"| one hand-off written in its own transaction (Herald away), ms | "
        f"{med(figures.enqueue_ms):.2f} | {', '.join(f'{v:.2f}' for v in figures.enqueue_ms)} |",
        "",
        "Environment: " + ", ".join(f"{k} {v}" for k, v in environment().items()),
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> Figures:
    from herald.store import Store, migrate

    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="herald-api-bench-") as tmp:
        work = Path(tmp)
        server = DevServer(work)
        api_proc: subprocess.Popen[bytes] | None = None
        try:
            await server.wait_ready()
            database_url = f"sqlite:///{work / 'herald.db'}"
            store = Store.from_url(database_url)
            migrate(store.engine)
            store.close()
            env = {
                **os.environ,
                "TEMPORAL_ADDRESS": server.address,
                "HERALD_DATABASE_URL": database_url,
                "HERALD_TASK_QUEUE": "bench-api",
                "HERALD_LOG_LEVEL": "WARNING",
            }
            created = subprocess.run(
                [HERALD_BIN, "api-key", "create", "bench"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            key = created.stdout.splitlines()[0]
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with open(work / "api.log", "ab") as out:
                api_proc = subprocess.Popen(
                    [HERALD_BIN, "api", "--port", str(port)], env=env, stdout=out, stderr=out
                )
            async with httpx.AsyncClient(timeout=5) as http:
                for _ in range(600):
                    try:
                        if (await http.get(f"{url}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"herald api did not get ready: see {work / 'api.log'}")
            await start_rates(figures, url, key, database_url, server.address, args)
            if args.handoffs:
                await asyncio.to_thread(
                    relay_rates, figures, url, key, database_url, server.address, args
                )
        finally:
            if api_proc is not None:
                api_proc.terminate()
                api_proc.wait(timeout=30)
            server.stop()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="start-rate runs per side")
    parser.add_argument("--loans", type=int, default=200, help="loans per start-rate run")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--handoffs", type=int, default=1000, help="queued hand-offs per drain")
    parser.add_argument("--relay-runs", type=int, default=1)
    args = parser.parse_args(argv)
    figures = asyncio.run(main_async(args))
    print(report(figures, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

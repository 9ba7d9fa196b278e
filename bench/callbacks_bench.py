"""The provider webhook endpoint under a burst of signed Twilio status callbacks:
``python -m bench.callbacks_bench``.

Starts a ``herald api`` process on a fresh database (SQLite in a temporary directory, or a
fresh PostgreSQL database with ``--postgres``) with a Twilio auth token; no Temporal is
needed, the endpoint does not touch it. Each run inserts N delivery rows already sent
through Twilio (one message SID each), then posts N ``delivered`` status callbacks at once
(``--concurrency`` in flight), each signed with the twilio library's own
``RequestValidator.compute_signature``, as Twilio signs them. Every answer must be 200 and
every row must end ``delivered``. The baseline, run alternately on the same server with the
same client and concurrency, is N ``GET /healthz``: what the server, the client and the
loopback cost with no work at all. Medians, the ratio, and every run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.benchmark import environment, free_port, log, run_concurrently

HERALD_BIN = str(Path(sys.executable).parent / "herald")
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token-" + "x" * 15
PHONE = "+33612345678"
POSTGRES_ADMIN_URL = os.environ.get(
    "HERALD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def insert_sent_rows(database_url: str, sids: list[str]) -> None:
    from herald.db import Delivery, utcnow
    from herald.store import Store

    store = Store.from_url(database_url)
    now = utcnow()
    with store.session() as s, s.begin():
        s.add_all(
            Delivery(
                idempotency_key=f"bench|{sid}",
                workflow_id="notify-bench",
                notification_id=f"{sid}@bench",
                subject_type="staff",
                subject_id="bench",
                kind="staff.notice",
                role="staff",
                channel="sms",
                subscriber_id="bench",
                provider="twilio",
                recipient=PHONE,
                status="sent",
                attempts=1,
                provider_message_id=sid,
                sent_at=now,
            )
            for sid in sids
        )
    store.close()


def delivered_count(database_url: str, sids: list[str]) -> int:
    from sqlalchemy import func, select

    from herald.db import Delivery
    from herald.store import Store

    store = Store.from_url(database_url)
    with store.session() as s:
        count = s.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.provider_message_id.in_(sids), Delivery.status == "delivered")
        )
    store.close()
    return int(count or 0)


def signed_callbacks(url: str, sids: list[str]) -> list[tuple[dict[str, str], str]]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    forms = []
    for sid in sids:
        params = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "From": "+33756781234",
            "MessageSid": sid,
            "MessageStatus": "delivered",
            "SmsSid": sid,
            "SmsStatus": "delivered",
            "To": PHONE,
        }
        forms.append((params, str(validator.compute_signature(url, params))))
    return forms


async def runs(url: str, database_url: str, args: Any) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"callbacks": [], "healthz": []}
    hook = f"{url}/v1/hooks/twilio/status"
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )

    def client() -> httpx.AsyncClient:
        # A fresh pool per burst: the server closes connections left idle between bursts.
        return httpx.AsyncClient(base_url=url, timeout=60, limits=limits)

    async def callbacks(tag: str) -> float:
        sids = [f"SM{uuid.uuid4().hex}" for _ in range(args.callbacks)]
        await asyncio.to_thread(insert_sent_rows, database_url, sids)
        forms = signed_callbacks(hook, sids)  # signing is Twilio's work, not timed
        async with client() as http:

            async def one(i: int) -> None:
                params, signature = forms[i]
                answer = await http.post(
                    "/v1/hooks/twilio/status",
                    data=params,
                    headers={"X-Twilio-Signature": signature},
                )
                assert answer.status_code == 200, answer.text

            elapsed = await run_concurrently(args.callbacks, args.concurrency, one)
        done = await asyncio.to_thread(delivered_count, database_url, sids)
        assert done == args.callbacks, f"{tag}: {done} of {args.callbacks} rows delivered"
        return args.callbacks / elapsed

    async def healthz(tag: str) -> float:
        async with client() as http:

            async def one(i: int) -> None:
                assert (await http.get("/healthz")).status_code == 200

            elapsed = await run_concurrently(args.callbacks, args.concurrency, one)
        return args.callbacks / elapsed

    await callbacks("warm-up")
    await healthz("warm-up")
    for run in range(args.runs):
        sides = [("callbacks", callbacks), ("healthz", healthz)]
        if run % 2:
            sides.reverse()
        for name, fn in sides:
            rate = await fn(f"run {run + 1}")
            figures[name].append(rate)
            log(f"run {run + 1}: {name} {rate:,.0f}/s")
    return figures


def fresh_postgres() -> tuple[str, str]:
    import psycopg

    name = f"herald_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main_async(args: argparse.Namespace) -> tuple[dict[str, list[float]], str]:
    from herald.store import Store, migrate

    with tempfile.TemporaryDirectory(prefix="herald-callbacks-bench-") as tmp:
        work = Path(tmp)
        pg_name = None
        if args.postgres:
            pg_name, database_url = fresh_postgres()
        else:
            database_url = f"sqlite:///{work / 'herald.db'}"
        store = Store.from_url(database_url)
        migrate(store.engine)
        store.close()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "HERALD_DATABASE_URL": database_url,
            "HERALD_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "HERALD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "HERALD_LOG_LEVEL": "WARNING",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # unused by this endpoint
        }
        proc: subprocess.Popen[bytes] | None = None
        try:
            with open(work / "api.log", "ab") as out:
                proc = subprocess.Popen(
                    [HERALD_BIN, "api", "--port", str(port)], env=env, stdout=out, stderr=out
                )
            async with httpx.AsyncClient(timeout=5) as http:
                for _ in range(600):
                    try:
                        if (await http.get(f"{url}/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"herald api did not start: see {work / 'api.log'}")
            figures = await runs(url, database_url, args)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
            if pg_name is not None:
                drop_postgres(pg_name)
    return figures, "PostgreSQL" if args.postgres else "SQLite"


def report(figures: dict[str, list[float]], backend: str, args: argparse.Namespace) -> str:
    cb, hz = med(figures["callbacks"]), med(figures["healthz"])
    flag = " --postgres" if args.postgres else ""
    lines = [
        f"## Signed Twilio status callbacks ({backend})",
        "",
        f"`python -m bench.callbacks_bench --runs {args.runs} --callbacks {args.callbacks} "
        f"--concurrency {args.concurrency}{flag}`",
        "",
        "| figure | median | runs |",
        "|---|---:|---|",
        f"| signed callbacks verified and applied, events/s | {cb:,.0f} | "
        f"{', '.join(f'{v:,.0f}' for v in figures['callbacks'])} |",
        f"| baseline `GET /healthz`, requests/s | {hz:,.0f} | "
        f"{', '.join(f'{v:,.0f}' for v in figures['healthz'])} |",
        f"| ratio callbacks / baseline | {cb / hz:.2f} | |",
        "",
        "Environment: " + ", ".join(f"{k} {v}" for k, v in environment().items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--callbacks", type=int, default=1000, help="callbacks per burst")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    figures, backend = asyncio.run(main_async(args))
    print(report(figures, backend, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

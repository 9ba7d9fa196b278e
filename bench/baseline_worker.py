"""The baseline worker process: ``python -m bench.baseline_worker``.

Configured from the environment by the benchmark:

- ``TEMPORAL_ADDRESS``, ``BENCH_TASK_QUEUE``;
- ``BENCH_SMTP_HOST``, ``BENCH_SMTP_PORT``;
- ``BENCH_EMAILS``: a JSON file ``{kind: {"subject", "text", "html"}}`` with the e-mails
  Herald's own templates render, so both send the same bytes;
- ``BENCH_MAX_CONCURRENT_ACTIVITIES`` and ``BENCH_MAX_CACHED_WORKFLOWS``: Herald's values.

The send activity is a plain synchronous function in a thread pool, one SMTP connection
per message (as Herald's SMTP provider does), stdlib ``smtplib``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import smtplib
import sys
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate
from functools import cache
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from bench.baseline_workflow import SEND_EMAIL, BaselineLoan, SendInput

SENDER = "Herald <herald@localhost>"


@cache
def _emails() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(Path(os.environ["BENCH_EMAILS"]).read_text())
    return loaded


@activity.defn(name=SEND_EMAIL)
def send_email(inp: SendInput) -> str:
    emails = _emails()
    body = emails.get(inp.kind) or emails["loan.reminder_2h"]
    mime = EmailMessage()
    mime["From"] = SENDER
    mime["To"] = inp.to
    mime["Subject"] = body["subject"]
    mime["Date"] = formatdate(usegmt=True)
    message_id = f"<{hashlib.sha256(inp.key.encode()).hexdigest()[:32]}@localhost>"
    mime["Message-ID"] = message_id
    mime.set_content(body["text"], charset="utf-8")
    mime.add_alternative(body["html"], subtype="html", charset="utf-8")
    host = os.environ.get("BENCH_SMTP_HOST", "127.0.0.1")
    with smtplib.SMTP(host, int(os.environ["BENCH_SMTP_PORT"]), timeout=30) as conn:
        conn.send_message(mime, to_addrs=[inp.to])
    return message_id


async def main() -> None:
    port = os.environ.get("BENCH_METRICS_PORT")
    if port:  # diagnostics only (--metrics)
        Runtime.set_default(
            Runtime(
                telemetry=TelemetryConfig(
                    metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}")
                )
            )
        )
    if os.environ.get("BENCH_GC_STATS"):
        from bench.gcstats import install

        install(os.environ["BENCH_GC_STATS"])
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])
    activities = int(os.environ.get("BENCH_MAX_CONCURRENT_ACTIVITIES", "20"))
    cached = int(os.environ.get("BENCH_MAX_CACHED_WORKFLOWS", "1000"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=activities) as executor:
        worker = Worker(
            client,
            task_queue=os.environ["BENCH_TASK_QUEUE"],
            workflows=[BaselineLoan],
            activities=[send_email],
            activity_executor=executor,
            max_concurrent_activities=activities,
            max_cached_workflows=cached,
        )
        async with worker:
            await stop.wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    # As ``herald worker`` does: the SDK's native threads can outlive interpreter teardown
    # and abort it (temporalio/sdk-python#300); everything is done and flushed by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

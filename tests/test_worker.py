"""How the worker wires queues: per-channel delivery queues carrying each provider's limit;
and what it stops with it."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from herald.admin_templates import render_pool
from herald.channels import build_providers
from herald.settings import Settings
from herald.store import Store
from worker import build_workers, run_worker


async def test_each_channel_gets_its_queue_and_its_first_providers_rate_limit(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'h.db'}")
    settings = Settings(
        task_queue="desk",
        database_url=str(store.engine.url),
        email_provider="smtp",
        smtp_rate_limit=14,
        sms_providers=["console", "outbox"],
    )
    workers = build_workers(ts_env.client, settings, store, build_providers(settings))
    queues = {w.task_queue: w.config() for w in workers}
    assert set(queues) == {"desk", "desk-email", "desk-sms", "desk-whatsapp", "desk-in_app"}
    assert queues["desk"]["workflows"] and not queues["desk-email"].get("workflows")
    # The server enforces it on the queue, for every worker together.
    assert queues["desk-email"]["max_task_queue_activities_per_second"] == 14
    # The SMS chain starts with a provider that has no limit setting.
    assert queues["desk-sms"].get("max_task_queue_activities_per_second") is None
    store.close()


async def test_stopping_the_worker_stops_the_render_processes(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Admin templates render in separate processes; a stopped worker leaves none behind."""
    settings = Settings(
        task_queue=f"stop-{uuid.uuid4().hex[:8]}", database_url=f"sqlite:///{tmp_path / 'h.db'}"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(run_worker(settings, client=ts_env.client, stop=stop))
    try:
        pid = await asyncio.to_thread(render_pool().run, os.getpid)
        assert pid != os.getpid()
        stop.set()
        await asyncio.wait_for(task, timeout=60)  # a hang guard, not a timing assertion
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    deadline = loop.time() + 60
    while not _gone(pid):
        assert loop.time() < deadline, f"render process {pid} outlived the worker"
        await asyncio.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False

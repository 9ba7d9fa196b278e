"""The worker's own Temporal SDK metrics (``temporal_*``), served for Prometheus where
``HERALD_WORKER_METRICS_ADDRESS`` / ``herald worker --metrics-address`` says."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from herald.errors import InvalidInput
from herald.settings import Settings
from herald.store import Store, migrate
from starter.cli import EXIT_INVALID, main
from starter.client import Herald
from tests.conftest import eventually
from tests.smtp_server import free_port
from worker import process_metrics_address, run_worker


async def test_the_worker_serves_the_sdk_metrics_once_it_has_worked(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = Settings(
        task_queue=f"metrics-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{tmp_path / 'h.db'}",
        email_provider="outbox",
        outbox_dir=tmp_path / "outbox",
        temporal_address=ts_env.client.service_client.config.target_host,
        worker_metrics_address=address,
    )
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    herald = Herald(ts_env.client, store, settings)
    await herald.upsert_subscriber("ana", name="Ana", email="ana@example.org")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The worker connects on its own, with the runtime that serves the metrics.
    task = asyncio.create_task(run_worker(settings, stop=stop, migrate_first=False))
    try:
        due = (await ts_env.get_current_time()).astimezone(UTC) + timedelta(days=3)
        await herald.start_loan("L-metrics", borrower_id="ana", item="Scie", due_at=due)
        await eventually(
            lambda: any(
                r.notification_id == "loan.created" and r.status == "sent"
                for r in store.list_deliveries(subject_id="L-metrics")
            ),
            timeout=60,
        )
        await herald.cancel_loan("L-metrics")  # no timer left behind on the shared server
        async with httpx.AsyncClient(timeout=30) as http:
            text = (await http.get(f"http://{address}/metrics")).text
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)  # a hang guard, not a timing assertion
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        store.close()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert any(n.startswith("temporal_workflow_task") for n in names), sorted(names)
    assert any(n.startswith("temporal_activity_execution") for n in names), sorted(names)
    assert f'task_queue="{settings.task_queue}' in text


def test_each_worker_process_gets_its_own_metrics_port() -> None:
    assert process_metrics_address(None, 3) is None
    assert process_metrics_address("127.0.0.1:9464", 0) == "127.0.0.1:9464"
    assert process_metrics_address("127.0.0.1:9464", 2) == "127.0.0.1:9466"
    assert process_metrics_address("[::1]:9464", 1) == "[::1]:9465"
    with pytest.raises(InvalidInput, match="no port left"):
        process_metrics_address("127.0.0.1:65535", 1)


def test_a_bad_metrics_address_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker", "--metrics-address", "localhost"]) == EXIT_INVALID
    assert "--metrics-address: use HOST:PORT" in capsys.readouterr().err
    with pytest.raises(ValueError, match="HOST:PORT"):
        Settings(worker_metrics_address="127.0.0.1:99999")

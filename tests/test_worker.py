"""How the worker wires queues: per-channel delivery queues carrying each provider's limit."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from herald.channels import build_providers
from herald.settings import Settings
from herald.store import Store
from worker import build_workers


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

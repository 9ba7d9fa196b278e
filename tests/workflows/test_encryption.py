"""Encryption on a real (time-skipping) Temporal server: a worker that requires it fails a
workflow started in plaintext at once, and the CLI without the keys says why in one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from herald.codec import PLAINTEXT_REFUSED, new_key
from herald.temporal import EncryptionRequired
from starter.client import Herald, loan_workflow_id
from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import open_desk, start

HERALD = str(Path(sys.executable).parent / "herald")
KEYS = f"k1:{new_key()}"


async def test_a_worker_requiring_encryption_fails_plaintext_workflows(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> None:
    async with open_desk(
        ts_env, smtp, tmp_path, encryption_keys=SecretStr(KEYS), require_encryption=True
    ) as desk:
        # Encrypted, the loan runs as usual.
        await start(desk, "L-sealed-req", 5)
        await eventually(lambda: desk.sent("L-sealed-req") == ["loan.created"])

        # A client built without the codec is refused before it starts anything...
        with pytest.raises(EncryptionRequired):
            Herald(ts_env.client, desk.store, desk.herald.settings)
        # ...and one that bypasses Herald gets its workflow failed, not retried.
        plain = Herald(
            ts_env.client,
            desk.store,
            desk.herald.settings.model_copy(update={"require_encryption": False}),
        )
        now = await desk.now()
        await plain.start_loan(
            "L-plain",
            borrower_id="camille",
            item="Perceuse",
            due_at=now + timedelta(days=3),
            borrowed_at=now,
        )
        # Read with the keys: the failure's message is encrypted like any payload.
        handle = desk.herald.client.get_workflow_handle(loan_workflow_id("L-plain"))
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == PLAINTEXT_REFUSED
        assert cause.non_retryable and "HERALD_REQUIRE_ENCRYPTION" in cause.message
        assert desk.sent("L-plain") == []
        await desk.cancel("L-sealed-req")


async def test_the_cli_without_the_keys_says_so_in_one_line(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> None:
    async with open_desk(ts_env, smtp, tmp_path, encryption_keys=SecretStr(KEYS)) as desk:
        await start(desk, "L-cli", 5)
        settings = desk.herald.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HERALD_", "TEMPORAL_"))}
        env |= {
            "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
            "HERALD_TASK_QUEUE": settings.task_queue,
            "HERALD_DATABASE_URL": settings.resolved_database_url,
        }

        def cli(**extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [HERALD, "loan", "status", "L-cli"],
                env={**env, **extra},
                capture_output=True,
                text=True,
                timeout=120,
            )

        keyed = await asyncio.to_thread(cli, HERALD_ENCRYPTION_KEYS=KEYS)
        assert keyed.returncode == 0 and "L-cli" in keyed.stdout, keyed.stderr
        for extra, says in (
            ({}, "HERALD_ENCRYPTION_KEYS is not set in this process"),
            ({"HERALD_ENCRYPTION_KEYS": f"k2:{new_key()}"}, "unknown key 'k1'"),
        ):
            proc = await asyncio.to_thread(cli, **extra)
            assert proc.returncode == 1 and proc.stdout == ""
            assert proc.stderr.count("\n") == 1 and says in proc.stderr, proc.stderr
            assert "KeyError" not in proc.stderr and "Traceback" not in proc.stderr
        await desk.cancel("L-cli")

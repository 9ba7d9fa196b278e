"""The CRM desk shared by the follow-up, CRM event and mailbox tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk


@pytest.fixture
async def desk(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    """A loan desk: two people, SMTP, SQLite and the workers."""
    async with open_desk(ts_env, smtp, tmp_path) as d:
        yield d


@pytest.fixture
async def crm(ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env, smtp, tmp_path, sms_provider="outbox", outbox_dir=tmp_path / "outbox"
    ) as desk:
        h = desk.herald
        for sid, name, phone in (
            ("ana", "Ana Costa", "+33611111111"),
            ("ben", "Ben Roy", "+33622222222"),
            ("boss", "Chef Ventes", "+33633333333"),
            ("boss2", "Cheffe Adjointe", "+33644444444"),
        ):
            await h.upsert_subscriber(
                sid, name=name, email=f"{sid}@example.org", phone=phone, timezone="Europe/Paris"
            )
        await h.create_group("sales-managers")
        await h.add_to_group("sales-managers", ["boss", "boss2"])
        yield desk

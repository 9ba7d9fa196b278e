"""Hanna's 24-hour window reminders: a staff member who wrote on WhatsApp hears before
their window closes, on a per-person timer that each new message moves (time-skipping
server, Meta's signed webhook through the API)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from herald.api.app import create_app
from herald.contracts import window_workflow_id
from herald.store import delivery_as_dict
from tests.api.conftest import serving
from tests.conftest import eventually
from tests.fakes.signing import meta_message, meta_signature
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk

SECRET = "app-secret"
ANA = "+33698765432"
BEN = "+33698765433"


@pytest.fixture
async def desk(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        whatsapp_provider="outbox",
        outbox_dir=tmp_path / "outbox",
        meta_app_secret=SecretStr(SECRET),
        whatsapp_window_reminder=timedelta(hours=1),
        whatsapp_window_reminder_group="desk",
    ) as d:
        await d.herald.upsert_subscriber("ana", name="Ana", whatsapp=ANA, locale="en")
        await d.herald.upsert_subscriber("ben", name="Ben", whatsapp=BEN)
        await d.herald.create_group("desk")
        await d.herald.add_to_group("desk", ["ana"])
        yield d


def reminders(desk: Desk) -> list[dict[str, Any]]:
    return [
        delivery_as_dict(r)
        for r in desk.store.list_deliveries(subject_type="system")
        if r.kind == "system.window_closing" and r.channel == "whatsapp"
    ]


async def wrote(http: httpx.AsyncClient, number: str, at: datetime) -> None:
    body = json.dumps(
        meta_message(
            "ok", sender=number.removeprefix("+"), message_id=f"wamid.{at.timestamp()}", at=at
        )
    ).encode()
    answer = await http.post(
        "/v1/hooks/meta",
        content=body,
        headers={"X-Hub-Signature-256": meta_signature(SECRET, body)},
    )
    assert answer.status_code == 200, answer.text


async def test_a_staff_member_hears_before_the_window_closes_each_message_moving_it(
    desk: Desk, tmp_path: Path
) -> None:
    async with (
        serving(create_app(desk.herald, ready_timeout=60)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        start = await desk.now()
        await wrote(http, ANA, start)
        await wrote(http, BEN, start)  # not in the group: never reminded
        await desk.env.sleep(timedelta(hours=22))
        assert reminders(desk) == []
        await wrote(http, ANA, await desk.now())  # the window now closes 24 h after this
        await desk.env.sleep(timedelta(hours=2))
        assert reminders(desk) == []  # the first deadline has passed: it moved
        await desk.env.sleep(timedelta(hours=21, minutes=30))
        await eventually(lambda: len(reminders(desk)) == 1, timeout=60)
    [sent] = reminders(desk)
    assert sent["subscriber_id"] == "ana" and sent["status"] == "sent"
    [text] = [p.read_text() for p in (tmp_path / "outbox").glob("*-whatsapp-*.txt")]
    assert "Your WhatsApp window" in text and "Reply to this message" in text
    result = await desk.herald.client.get_workflow_handle(window_workflow_id(ANA)).result()
    assert result == 1
    assert await desk.herald.client.get_workflow_handle(window_workflow_id(BEN)).result() == 0

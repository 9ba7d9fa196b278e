"""A loan whose borrower prefers SMS and WhatsApp gets its notices there, end to end on the
time-skipping server: Twilio for SMS and Meta for WhatsApp (local peers speaking their wire
formats), the in-app inbox, and e-mail switched off by the borrower."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from herald.contracts import LoanState
from tests.conftest import eventually
from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraph,
    meta_graph_fixture,
)
from tests.fakes.twilio_api import (  # noqa: F401  (fixtures)
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    twilio_api_fixture,
    twilio_api_server_fixture,
)
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, local_afternoon, open_desk

PHONE, WHATSAPP = "+33611223344", "+33655667788"


@pytest.fixture
async def mobile_desk(
    ts_env: WorkflowEnvironment,
    smtp: SmtpServer,
    tmp_path: Path,
    twilio_api: FakeTwilio,
    meta_graph: FakeGraph,
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        sms_provider="twilio",
        whatsapp_provider="meta",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=SecretStr(AUTH_TOKEN),
        twilio_from="+33756781234",
        twilio_api_base_url=twilio_api.base_url,
        meta_access_token=SecretStr(TOKEN),
        meta_phone_number_id=PHONE_NUMBER_ID,
        meta_graph_url=meta_graph.url,
        # The reminders fall days after any message from Léa: the 24-hour window has its
        # own tests (tests/webhooks); these are about the channels.
        whatsapp_enforce_window=False,
    ) as desk:
        await desk.herald.upsert_subscriber(
            "lea",
            name="Léa Dubœuf",
            phone="06 11 22 33 44",
            whatsapp="+33 6 55 66 77 88",
            locale="fr",
            timezone="Europe/Paris",
        )
        await desk.herald.set_preferences("lea", email=False, sms=True, whatsapp=True)
        yield desk


async def test_borrower_preferring_sms_and_whatsapp_gets_reminders_there(
    mobile_desk: Desk, twilio_api: FakeTwilio, meta_graph: FakeGraph, smtp: SmtpServer
) -> None:
    desk = mobile_desk
    now = await desk.now()
    due = local_afternoon(now, 2)  # moyen terme: J-1 at 08:00 and 2 h before
    item = "Vidéoprojecteur Epson — câble HDMI ✨"
    await desk.herald.start_loan(
        "L-mobile", borrower_id="lea", item=item, due_at=due, borrowed_at=now
    )
    await eventually(lambda: len(twilio_api.sent_to(PHONE)) == 1 and meta_graph.to(WHATSAPP[1:]))

    await desk.env.sleep(due - await desk.now() - timedelta(hours=1))
    await eventually(lambda: len(twilio_api.sent_to(PHONE)) == 3)
    await eventually(lambda: len(meta_graph.to(WHATSAPP[1:])) == 3)
    bodies = [m["body"] for m in twilio_api.sent_to(PHONE)]
    assert bodies[0].startswith("✅") and bodies[1].startswith("🚨") and bodies[2].startswith("⏰")
    assert all(item in b for b in bodies)
    texts = [r.json["text"]["body"] for r in meta_graph.to(WHATSAPP[1:])]
    assert texts == bodies  # the same short text on both channels
    assert smtp.handler.to("lea@example.org") == []  # no address, and e-mail off anyway

    rows = [r for r in desk.rows("L-mobile") if r["channel"] == "sms"]
    assert [r["provider"] for r in rows] == ["twilio"] * 3
    assert {r["encoding"] for r in rows} == {"UCS-2"}  # œ, — and ✨ are not GSM-7
    assert all(r["segments"] >= 1 and r["cost_estimate"] > 0 for r in rows)
    assert all(r["recipient"] == PHONE for r in rows)  # normalised to E.164 at the edge

    inbox = await desk.herald.inbox("lea")
    assert [n["kind"] for n in inbox] == ["loan.reminder_2h", "loan.reminder_j1", "loan.created"]
    assert await desk.herald.unread_count("lea") == 3
    assert await desk.herald.mark_read("lea", [inbox[0]["id"]]) == 1
    assert [n["read"] for n in await desk.herald.inbox("lea")] == [False, False, True]

    final = await desk.herald.return_loan("L-mobile")
    assert final is not None and final.state is LoanState.RETURNED
    await eventually(lambda: len(twilio_api.sent_to(PHONE)) == 4)
    assert twilio_api.sent_to(PHONE)[-1]["body"].startswith("✨")
    assert await desk.herald.mark_read("lea") == 3

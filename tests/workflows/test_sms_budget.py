"""The monthly SMS budget: near it and past it the technical admins hear once each; past
it only urgent notices go by SMS, the others say why (time-skipping server, Twilio's fake)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from herald.kinds import KINDS, Channel
from herald.preferences import choose_channels
from herald.store import Contact, PreferenceSet, delivery_as_dict
from tests.conftest import eventually
from tests.fakes.twilio_api import (  # noqa: F401  (fixtures)
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    twilio_api_fixture,
    twilio_api_server_fixture,
)
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import MANAGER_EMAIL, Desk, open_desk

PHONE = "+33612345678"


@pytest.fixture
async def budget_desk(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path, twilio_api: FakeTwilio
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        sms_provider="twilio",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=SecretStr(AUTH_TOKEN),
        twilio_from="+33756781234",
        twilio_api_base_url=twilio_api.base_url,
        twilio_sms_segment_cost=0.0795,
        sms_monthly_budget=0.1,
        sms_budget_warn_at=0.5,
    ) as desk:
        h = desk.herald
        await h.upsert_subscriber("ana", name="Ana", phone=PHONE)
        await h.create_group("technical-admins")
        await h.add_to_group("technical-admins", ["sam"])
        for locale in ("fr", "en"):
            await h.set_template(
                "desk", locale=locale, subject="Alerte", body="{{ m }}", short="{{ m }}"
            )
        yield desk


async def sms(desk: Desk, text: str, priority: str = "medium") -> dict[str, Any]:
    request_id, _ = await desk.herald.notify(
        "desk",
        user_ids=["ana"],
        context={"m": text},
        channels=["sms"],
        priority=priority,
        wait=True,
    )
    [row] = [
        delivery_as_dict(r)
        for r in desk.store.list_deliveries(subject_type="staff")
        if r.channel == "sms" and request_id in r.workflow_id
    ]
    return row


def budget_alerts(desk: Desk) -> list[dict[str, Any]]:
    return [
        delivery_as_dict(r)
        for r in desk.store.list_deliveries(subject_type="system")
        if r.kind == "system.sms_budget" and r.channel == "email"
    ]


async def test_past_the_budget_only_urgent_sms_go_and_admins_hear_once_a_level(
    budget_desk: Desk,
) -> None:
    desk = budget_desk
    first = await sms(desk, "one")
    assert first["status"] == "sent" and first["cost_estimate"] == pytest.approx(0.0795)
    # 0.0795 is past half the budget: the admins hear it is near.
    await eventually(lambda: len(budget_alerts(desk)) == 1, timeout=60)
    assert (await sms(desk, "two"))["status"] == "sent"  # 0.159: past it
    await eventually(lambda: len(budget_alerts(desk)) == 2, timeout=60)

    skipped = await sms(desk, "three")
    assert skipped["status"] == "skipped"
    assert "monthly SMS budget of 0.10 USD reached" in skipped["error"]
    assert (await sms(desk, "four", priority="urgent"))["status"] == "sent"  # counted too
    spoken = [m.subject for m in desk.smtp.handler.to(MANAGER_EMAIL)]
    assert any("nearly" in s or "bientôt" in s for s in spoken)
    assert any("reached" in s or "atteint" in s for s in spoken)
    # Another send past the budget alerts nobody again this month.
    await sms(desk, "five", priority="urgent")
    assert len(budget_alerts(desk)) == 2


def test_a_mandatory_notice_falls_back_past_sms_when_the_budget_is_spent() -> None:
    contact = Contact(
        id="ana",
        name="Ana",
        email="ana@example.org",
        phone=PHONE,
        whatsapp=PHONE,
        locale="fr",
        timezone="Europe/Paris",
    )
    prefs = PreferenceSet()
    every = frozenset(Channel)
    choices = choose_channels(
        KINDS["loan.created"],
        contact,
        prefs,
        every,
        suppressed={Channel.EMAIL: "bounced"},
        unavailable={Channel.SMS: "budget spent"},
    )
    by = {c.channel: c for c in choices}
    assert not by[Channel.EMAIL].send and by[Channel.EMAIL].suppressed
    assert not by[Channel.SMS].send
    assert by[Channel.WHATSAPP].send and "email suppressed" in (by[Channel.WHATSAPP].reason or "")


async def test_monthly_totals_come_from_the_delivery_log(budget_desk: Desk) -> None:
    desk = budget_desk
    await sms(desk, "one")
    await sms(desk, "two")
    [this, before] = await desk.herald.sms_spending(months=2)
    assert this["messages"] == 2 and this["segments"] == 2
    assert this["cost"] == pytest.approx(0.159) and this["budget"] == 0.1
    assert before["messages"] == 0 and before["month"] < this["month"]
    with pytest.raises(Exception, match="number of months"):
        await desk.herald.sms_spending(months=0)

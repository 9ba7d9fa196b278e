"""Staff alerts by the channels their group chose, outside WhatsApp's 24-hour window as the
admin template's own Meta template (approved: sent; pending: refused for good, never
sent), the failure alert by the technical admins' channels, and the numbers of the day:
on the time-skipping server, against the fake Graph API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    PHONE_NUMBER_ID,
    TOKEN,
    WABA_ID,
    FakeGraph,
    meta_graph_fixture,
)
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk

ANA = "+33612345678"
BEN = "+33687654321"


@pytest.fixture
async def staff(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path, meta_graph: FakeGraph
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        whatsapp_provider="meta",
        meta_access_token=SecretStr(TOKEN),
        meta_phone_number_id=PHONE_NUMBER_ID,
        meta_graph_url=meta_graph.url,
        meta_waba_id=WABA_ID,
    ) as desk:
        h = desk.herald
        for name, locale in (("invoice_processed", "fr"), ("order_created", "en")):
            await h.set_template(
                name,
                locale=locale,
                subject="Facture {{ number }}",
                body="Facture {{ number }} traitée.",
                short="Facture {{ number }} traitée",
            )
        await h.set_template_options(
            "invoice_processed",
            meta_template="invoice_done",
            meta_languages={"fr": "fr", "en": "en_US"},
            meta_params=["{{ recipient.name }}", "{{ number }}"],
            meta_buttons=[{"type": "url", "text": "invoices/{{ number }}"}],
        )
        await h.set_template_options(
            "order_created", meta_template="order_new", meta_languages="en=en_US"
        )
        meta_graph.add_template("invoice_done", "fr", "APPROVED")
        meta_graph.add_template("order_new", "en_US", "PENDING")
        await h.sync_meta_templates()
        await h.upsert_subscriber("ana", name="Ana", whatsapp=ANA, email="ana@example.org")
        await h.upsert_subscriber(
            "ben", name="Ben", whatsapp=BEN, email="ben@example.org", locale="en"
        )
        await h.upsert_subscriber("root", name="Root", email="root@example.org")
        await h.create_group("accounting")
        await h.add_to_group("accounting", ["ana", "ben"])
        await h.set_group_channels("accounting", ["whatsapp"])
        await h.create_group("technical-admins")
        await h.add_to_group("technical-admins", ["root"])
        await h.set_group_channels("technical-admins", ["in_app"])
        yield desk


async def test_outside_the_window_the_group_gets_the_templates_meta_template(
    staff: Desk, meta_graph: FakeGraph
) -> None:
    h = staff.herald
    _, result = await h.notify(
        "invoice_processed",
        group_names=["accounting"],
        context={"number": "F-77"},
        priority="medium",  # e-mail and in-app by the route: the group chose WhatsApp
        request_id="inv-77",
        wait=True,
    )
    assert result is not None and result.totals == {"sent": 2, "skipped": 6}
    [sent] = meta_graph.to(ANA[1:])
    template = sent.json["template"]
    assert sent.json["type"] == "template" and template["name"] == "invoice_done"
    assert template["language"] == {"code": "fr"}
    assert template["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "F-77"}],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "invoices/F-77"}],
        },
    ]
    # Ben reads English, but the admin template exists in French only: as its text would
    # be, the French Meta template (the approved one), not an unreviewed en_US.
    [to_ben] = meta_graph.to(BEN[1:])
    assert to_ben.json["template"]["language"] == {"code": "fr"}
    assert not staff.smtp.handler.messages  # no e-mail: the group's choice
    rows = staff.store.list_deliveries(subject_id="inv-77")
    assert {r.channel for r in rows if r.status != "skipped"} == {"whatsapp"}
    sent_rows = [r for r in rows if r.status == "sent"]
    assert all(r.request and r.request["data"]["groups"] == ["accounting"] for r in sent_rows)
    stats = await h.staff_stats(24)
    assert stats["templates"]["invoice_processed"] == {"sent": 2, "pending": 0, "failed": 0}
    assert stats["groups"]["accounting"] == {"sent": 2, "pending": 0, "failed": 0}


async def test_a_pending_meta_template_is_refused_for_good_and_the_admins_hear_in_app(
    staff: Desk, meta_graph: FakeGraph
) -> None:
    h = staff.herald
    _, result = await h.notify(
        "order_created",
        user_ids=["ben"],
        context={"number": "C-1"},
        channels=["whatsapp"],
        request_id="ord-1",
        wait=True,
    )
    assert result is not None and result.totals.get("permanently_failed") == 1
    assert [r for r in meta_graph.requests if r.method == "POST"] == []  # never sent
    rows = staff.store.list_deliveries(subject_id="ord-1")
    [failed] = [r for r in rows if r.kind == "staff.notice" and r.status != "skipped"]
    assert failed.status == "permanently_failed" and failed.attempts == 1
    assert "order_new (en_US)" in (failed.error or "") and "PENDING" in (failed.error or "")
    alerts = [r for r in rows if r.kind == "system.delivery_failed"]
    sent = {(a.subscriber_id, a.channel) for a in alerts if a.status == "sent"}
    assert sent == {("root", "in_app")}  # the technical admins' choice, not the urgent route
    stats = await h.staff_stats()
    assert stats["templates"]["order_created"] == {"sent": 0, "pending": 0, "failed": 1}
    assert stats["groups"]["-"]["failed"] == 1  # named directly, not through a group


async def test_a_loan_notice_failing_for_good_alerts_the_admins_by_their_channels(
    staff: Desk,
) -> None:
    from datetime import timedelta

    from tests.conftest import eventually
    from tests.workflows.test_loan_workflow import BORROWER_EMAIL, start

    staff.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(staff, "L-fail", timedelta(hours=30))
    alerts = lambda: [  # noqa: E731
        r
        for r in staff.store.list_deliveries(subject_type="system")
        if r.kind == "system.delivery_failed" and r.status == "sent"
    ]
    await eventually(alerts, timeout=60)
    assert {(r.subscriber_id, r.channel) for r in alerts()} == {("root", "in_app")}
    await staff.cancel("L-fail")

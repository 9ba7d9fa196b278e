"""Repair notices batched per recipient on the time-skipping server: twelve repairs approved
together are one notice listing them; a notice alone in its window goes out as it would
have; a notice handed over twice is kept once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from herald.contracts import (
    REPAIR_BATCH_SIGNAL,
    REPAIR_BATCH_WORKFLOW,
    BatchedRepairNotice,
    DeliveryRequest,
    RepairBatchInput,
    Role,
    repair_batch_workflow_id,
)
from herald.errors import InvalidInput
from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk, record_history
from workflows.repair_batch import batch_priority

URGENT = {"sms", "email", "in_app"}


@pytest.fixture
async def shop(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        sms_provider="outbox",
        outbox_dir=tmp_path / "outbox",
        repair_batch_window=timedelta(minutes=5),
    ) as desk:
        h = desk.herald
        await h.upsert_subscriber("cust", name="Client", email="cust@example.org")
        await h.upsert_subscriber(
            "tech1", name="Tech Un", email="t1@example.org", phone="+33622222222"
        )
        await h.create_group("repair-managers")
        yield desk


def rows_of(desk: Desk, subscriber: str, kind: str) -> list[dict[str, object]]:
    from herald.store import delivery_as_dict

    return [
        delivery_as_dict(r)
        for r in desk.store.list_deliveries()
        if r.subscriber_id == subscriber and r.kind == kind
    ]


async def test_twelve_repairs_approved_together_are_one_notice(shop: Desk) -> None:
    h = shop.herald
    ids = [f"RB{i:02d}" for i in range(12)]
    for rid in ids:
        await h.start_repair(
            rid, title=f"Pare-brise {rid}", customer_id="cust", technician_id="tech1"
        )
    for rid in ids:
        await h.repair_event(
            rid, "batch_approved", event_id=f"{rid}-ok", batch_id="B-12", batch_size=12
        )
    # Nothing before the window ends.
    assert rows_of(shop, "tech1", "repair.batch") == []
    await shop.env.sleep(timedelta(minutes=6))
    rows = await eventually(
        lambda: (
            [r for r in rows_of(shop, "tech1", "repair.batch") if r["status"] == "sent"]
            if len([r for r in rows_of(shop, "tech1", "repair.batch") if r["status"] == "sent"])
            == 3
            else []
        )
    )
    assert {r["channel"] for r in rows} == URGENT  # the most pressing priority of them
    assert rows_of(shop, "tech1", "repair.batch_approved") == []
    (mail,) = shop.smtp.handler.to("t1@example.org")
    assert mail.subject == "12 réparations mises à jour (lot B-12)"
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(f"Pare-brise {rid} ({rid})" in text for rid in ids)
    status = await h.repair_status("RB03")
    (record,) = [n for n in status.notifications if n.kind == "repair.batch_approved"]
    assert record.batched_in == repair_batch_workflow_id("tech1")
    batch = h.client.get_workflow_handle(repair_batch_workflow_id("tech1"))
    assert await batch.result() == 1
    await record_history(shop, repair_batch_workflow_id("tech1"), "repair_batch")
    for rid in ids:
        await h.repair_event(rid, "closed", event_id=f"{rid}-x")
    await h.client.get_workflow_handle("repair-RB03").result()
    await record_history(shop, "repair-RB03", "repair_batched")


async def test_a_notice_alone_in_its_window_goes_out_as_it_would_have(shop: Desk) -> None:
    h = shop.herald
    await h.start_repair("RS1", title="Vitre", customer_id="cust", technician_id="tech1")
    await h.repair_event("RS1", "approved", event_id="RS1-ok")
    await shop.env.sleep(timedelta(minutes=6))
    rows = await eventually(
        lambda: [r for r in rows_of(shop, "tech1", "repair.approved") if r["status"] == "sent"]
    )
    assert rows[0]["workflow_id"] == "repair-RS1"
    assert rows[0]["notification_id"] == "approved:RS1-ok/technician/tech1"
    assert rows_of(shop, "tech1", "repair.batch") == []
    await h.repair_event("RS1", "closed", event_id="RS1-x")


async def test_a_notice_handed_over_twice_is_kept_once(shop: Desk) -> None:
    client = shop.herald.client
    now = await shop.now()
    request = DeliveryRequest(
        workflow_id="repair-RX",
        notification_id="approved:e1/technician/tech1",
        kind="repair.approved",
        role=Role.TECHNICIAN,
        subscriber_id="tech1",
        subject_type="repair",
        subject_id="RX",
        scheduled_at=now,
        priority="urgent",
        data={"repair_id": "RX", "title": "Toit", "status": "APPROVED", "customer_id": "cust"},
    )
    item = BatchedRepairNotice(request=request, window_seconds=60)
    for _ in range(2):
        await client.start_workflow(
            REPAIR_BATCH_WORKFLOW,
            RepairBatchInput(subscriber_id="tech1"),
            id=repair_batch_workflow_id("tech1"),
            task_queue=shop.herald.settings.task_queue,
            start_signal=REPAIR_BATCH_SIGNAL,
            start_signal_args=[item],
        )
    handle = client.get_workflow_handle(repair_batch_workflow_id("tech1"))
    assert await handle.query("pending") == ["repair-RX|approved:e1/technician/tech1"]
    await shop.env.sleep(timedelta(minutes=2))
    assert await handle.result() == 1


def test_the_batch_takes_the_most_pressing_priority() -> None:
    def r(priority: str | None) -> DeliveryRequest:
        return DeliveryRequest.model_validate(
            {
                "workflow_id": "w",
                "notification_id": "n",
                "kind": "repair.approved",
                "role": "technician",
                "subscriber_id": "s",
                "subject_type": "repair",
                "subject_id": "R",
                "scheduled_at": "2026-12-01T10:00:00Z",
                "priority": priority,
            }
        )

    assert batch_priority([r("medium"), r("urgent"), r("high")]) == "urgent"
    assert batch_priority([r(None), r("low")]) == "medium"


async def test_one_event_naming_several_repairs_is_one_notice_per_person(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> None:
    # No window set: an event naming several repairs batches their notices all the same.
    async with open_desk(
        ts_env, smtp, tmp_path, sms_provider="outbox", outbox_dir=tmp_path / "outbox"
    ) as desk:
        h = desk.herald
        await h.upsert_subscriber("cust", name="Client", email="cust@example.org")
        await h.upsert_subscriber("t9", name="Tech", email="t9@example.org", phone="+33622222299")
        await h.create_group("repair-managers")
        for rid in ("M1", "M2", "M3"):
            await h.start_repair(rid, title=f"Écran {rid}", customer_id="cust", technician_id="t9")
        await h.repair_event("M3", "denied", event_id="M3-no")
        outcomes = await h.repair_events(
            ["M1", "M2", "M3", "M404"], "batch_approved", event_id="lot-5", batch_id="L-5"
        )
        assert [(o["repair_id"], o["outcome"]) for o in outcomes] == [
            ("M1", "applied"),
            ("M2", "applied"),
            ("M3", "refused"),
            ("M404", "unknown"),
        ]
        # A retry of the same event answers the first outcome and notifies nobody again.
        again = await h.repair_events(["M1"], "batch_approved", event_id="lot-5", batch_id="L-5")
        assert again[0]["outcome"] == "applied"
        status = await h.repair_status("M1")
        assert [e.event_id for e in status.events if e.event_id.startswith("lot-5")] == ["lot-5/M1"]
        await desk.env.sleep(timedelta(minutes=1))
        await eventually(
            lambda: (
                {r["channel"] for r in rows_of(desk, "t9", "repair.batch") if r["status"] == "sent"}
                == URGENT
            )
        )
        assert rows_of(desk, "t9", "repair.batch_approved") == []
        mails = [m for m in desk.smtp.handler.to("t9@example.org") if "lot L-5" in m.subject]
        assert len(mails) == 1 and mails[0].subject == "2 réparations mises à jour (lot L-5)"
        with pytest.raises(InvalidInput, match="at least one repair"):
            await h.repair_events([], "approved")
        for rid in ("M1", "M2", "M3"):
            await h.repair_event(rid, "closed", event_id=f"{rid}-x")

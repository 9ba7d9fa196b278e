"""Repairs on the time-skipping server: every row of the event table with its priority's
channels, reassignment, duplicated and out-of-order events, the unassigned-repair alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from herald.contracts import LoanStatus, RepairState, RepairStatus
from herald.errors import InvalidInput
from starter.client import repair_workflow_id
from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk, record_history

URGENT = {"sms", "email", "in_app"}
HIGH = {"sms", "in_app"}
MEDIUM = {"email", "in_app"}


@pytest.fixture
async def shop(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env, smtp, tmp_path, sms_provider="outbox", outbox_dir=tmp_path / "outbox"
    ) as desk:
        h = desk.herald
        await h.upsert_subscriber(
            "cust", name="Client Dupont", email="cust@example.org", phone="+33611111111"
        )
        await h.upsert_subscriber(
            "tech1", name="Tech Un", email="t1@example.org", phone="+33622222222"
        )
        await h.upsert_subscriber(
            "tech2", name="Tech Deux", email="t2@example.org", phone="+33633333333"
        )
        await h.upsert_subscriber(
            "boss", name="Chef", email="boss@example.org", phone="+33644444444"
        )
        await h.create_group("repair-managers")
        await h.add_to_group("repair-managers", ["boss"])
        yield desk


def sent_channels(desk: Desk, repair_id: str, kind: str, subscriber: str) -> set[str]:
    rows = [
        r
        for r in desk.store.list_deliveries(subject_id=repair_id)
        if r.kind == kind and r.subscriber_id == subscriber and r.status == "sent"
    ]
    return {r.channel for r in rows}


def kinds_for(desk: Desk, repair_id: str, subscriber: str) -> list[str]:
    seen: list[str] = []
    for r in desk.store.list_deliveries(subject_id=repair_id):
        if r.subscriber_id == subscriber and r.status == "sent" and r.kind not in seen:
            seen.append(r.kind)
    return seen


async def status(desk: Desk, repair_id: str) -> RepairStatus:
    return await desk.herald.repair_status(repair_id)


async def close(desk: Desk, *repair_ids: str) -> None:
    """Close repairs and wait for their workflows to end (nothing left for later tests)."""
    for repair_id in repair_ids:
        await desk.herald.repair_event(repair_id, "closed", event_id=f"{repair_id}-close")
        await desk.herald.client.get_workflow_handle(repair_workflow_id(repair_id)).result()


async def test_every_event_notifies_its_recipient_on_its_prioritys_channels(shop: Desk) -> None:
    h = shop.herald
    await h.start_repair("R1", title="iPhone 13 — écran", customer_id="cust", technician_id="tech1")
    await eventually(lambda: sent_channels(shop, "R1", "repair.created", "cust") == HIGH)
    # High priority does not use e-mail: logged as skipped with the reason.
    created_email = [
        r
        for r in shop.store.list_deliveries(subject_id="R1")
        if r.kind == "repair.created" and r.channel == "email"
    ]
    assert (
        created_email[0].status == "skipped"
        and created_email[0].error == "not used for high priority"
    )

    steps: list[tuple[str, dict[str, Any], str, str, set[str]]] = [
        ("approved", {}, "repair.approved", "tech1", URGENT),
        ("in_progress", {}, "repair.in_progress", "cust", MEDIUM),
        ("completed", {}, "repair.completed", "cust", HIGH),
        (
            "reward_redeemed",
            {"reward_name": "Bon d'achat", "reward_points": 50},
            "repair.reward_redeemed",
            "tech1",
            MEDIUM,
        ),
    ]
    for event, extra, kind, who, channels in steps:
        applied = await h.repair_event("R1", event, event_id=f"R1-{event}", **extra)
        assert applied is not None and applied.outcome == "applied"
        await eventually(
            lambda kind=kind, who=who, channels=channels: (
                sent_channels(shop, "R1", kind, who) == channels
            )
        )
    mail = [m for m in shop.smtp.handler.to("t1@example.org") if "Bon d" in m.part("plain")]
    assert mail and "50" in mail[0].part("plain")

    await h.repair_event("R1", "closed", event_id="R1-closed")
    final = await h.client.get_workflow_handle(
        repair_workflow_id("R1"), result_type=RepairStatus
    ).result()
    assert final.state is RepairState.CLOSED
    await record_history(shop, repair_workflow_id("R1"), "repair_full_life")
    assert [e.type.value for e in final.events] == [
        "approved",
        "in_progress",
        "completed",
        "reward_redeemed",
        "closed",
    ]


async def test_denial_and_batch_events(shop: Desk) -> None:
    h = shop.herald
    await h.start_repair("R2", title="Laptop", customer_id="cust", technician_id="tech1")
    await h.repair_event("R2", "denied", event_id="R2-d", reason="Hors garantie")
    await eventually(lambda: sent_channels(shop, "R2", "repair.denied", "tech1") == URGENT)
    denied = [
        m for m in shop.smtp.handler.to("t1@example.org") if "Hors garantie" in m.part("plain")
    ]
    assert denied
    await h.start_repair("R3", title="Tablette", customer_id="cust", technician_id="tech2")
    await h.repair_event("R3", "batch_approved", event_id="R3-b", batch_id="B-7", batch_size=12)
    await eventually(lambda: sent_channels(shop, "R3", "repair.batch_approved", "tech2") == URGENT)
    await h.start_repair("R4", title="Console", customer_id="cust", technician_id="tech2")
    await h.repair_event(
        "R4", "batch_denied", event_id="R4-b", batch_id="B-8", batch_size=3, reason="Lot refusé"
    )
    await eventually(lambda: sent_channels(shop, "R4", "repair.batch_denied", "tech2") == URGENT)
    assert any(
        "B-7" in m.part("plain") and "12" in m.part("plain")
        for m in shop.smtp.handler.to("t2@example.org")
    )
    await close(shop, "R2", "R3", "R4")


async def test_reassignment_notifies_the_previous_and_the_new_technician(shop: Desk) -> None:
    h = shop.herald
    await h.start_repair("R5", title="Imprimante", customer_id="cust")
    await h.repair_event("R5", "approved", event_id="R5-a")
    # Nobody to tell about the approval yet: recorded, not sent.
    for _ in range(100):
        st = await status(shop, "R5")
        if any(n.kind == "repair.approved" for n in st.notifications):
            break
        await asyncio.sleep(0.05)
    skipped = [n for n in st.notifications if n.kind == "repair.approved"]
    assert skipped and skipped[0].skipped_reason == "no technician on this repair"
    await h.repair_event("R5", "assigned", event_id="R5-1", technician_id="tech1")
    await eventually(lambda: sent_channels(shop, "R5", "repair.assigned", "tech1") == HIGH)
    await h.repair_event("R5", "assigned", event_id="R5-2", technician_id="tech2")  # someone else
    await eventually(lambda: sent_channels(shop, "R5", "repair.reassigned_away", "tech1") == MEDIUM)
    await eventually(lambda: sent_channels(shop, "R5", "repair.assigned", "tech2") == HIGH)
    away = [m for m in shop.smtp.handler.to("t1@example.org")]
    assert away and "Tech Deux" in away[-1].part("plain")
    st = await status(shop, "R5")
    assert st.technician_id == "tech2" and st.events[-1].type.value == "assigned"
    await close(shop, "R5")


async def test_duplicated_and_out_of_order_events(shop: Desk) -> None:
    h = shop.herald
    await h.start_repair("R6", title="Montre", customer_id="cust", technician_id="tech1")
    first = await h.repair_event("R6", "approved", event_id="evt-1")
    again = await h.repair_event("R6", "approved", event_id="evt-1")  # the same webhook, retried
    assert first is not None and again is not None
    assert first.outcome == "applied" and again.outcome == "applied"  # Temporal ran the update once
    other_id = await h.repair_event("R6", "approved", event_id="evt-1b")  # same fact, new id
    assert other_id is not None and other_id.outcome == "duplicate"
    await h.repair_event("R6", "in_progress", event_id="evt-2")
    late = await h.repair_event("R6", "approved", event_id="evt-0")  # arrives after the fact
    assert (
        late is not None
        and late.outcome == "duplicate"
        and "already approved" in (late.detail or "")
    )
    with pytest.raises(InvalidInput, match="cannot be denied"):
        await h.repair_event("R6", "denied", event_id="evt-3")
    # Signals are fire-and-forget: a refusal is kept in the status instead.
    await h.repair_event("R6", "denied", event_id="evt-4", wait=False)
    await eventually(lambda: len(shop.store.list_deliveries(subject_id="R6")) > 0)
    st = await status(shop, "R6")
    assert [(e.event_id, e.outcome) for e in st.events][-2:] == [
        ("evt-0", "duplicate"),
        ("evt-4", "refused"),
    ]
    await eventually(lambda: sent_channels(shop, "R6", "repair.approved", "tech1") == URGENT)
    approved = [
        r for r in shop.store.list_deliveries(subject_id="R6") if r.kind == "repair.approved"
    ]
    assert len(approved) == 4  # one row per channel (whatsapp skipped): notified once
    with pytest.raises(InvalidInput, match="unknown repair event"):
        await h.repair_event("R6", "exploded")
    await close(shop, "R6")


async def test_unassigned_repair_alerts_managers_then_daily_until_assigned(shop: Desk) -> None:
    h = shop.herald
    await h.start_repair("R7", title="Serveur", customer_id="cust")
    await h.repair_event("R7", "approved", event_id="R7-a")
    st = await status(shop, "R7")
    assert st.next_unassigned_alert_at is not None
    await shop.env.sleep(timedelta(hours=4, minutes=5))
    await eventually(lambda: sent_channels(shop, "R7", "repair.unassigned", "boss") == HIGH)
    await shop.env.sleep(timedelta(days=1))
    await eventually(
        lambda: (
            len(
                [
                    r
                    for r in shop.store.list_deliveries(subject_id="R7")
                    if r.kind == "repair.unassigned" and r.channel == "sms" and r.status == "sent"
                ]
            )
            == 2
        )
    )
    alerts = [n for n in (await status(shop, "R7")).notifications if n.kind == "repair.unassigned"]
    assert [n.notification_id.split("/")[0] for n in alerts] == ["unassigned#1", "unassigned#2"]
    await h.repair_event("R7", "assigned", event_id="R7-t", technician_id="tech1")
    assert (await status(shop, "R7")).next_unassigned_alert_at is None
    await shop.env.sleep(timedelta(days=3))
    count = len(
        [r for r in shop.store.list_deliveries(subject_id="R7") if r.kind == "repair.unassigned"]
    )
    assert count == 2 * 4  # two alerts, one row per channel each; none after the assignment
    await close(shop, "R7")


async def test_a_notice_that_reaches_nobody_still_lands_in_the_inbox(shop: Desk) -> None:
    h = shop.herald
    await h.set_preferences("cust", sms=False, in_app=False)
    await h.start_repair("R8", title="Casque", customer_id="cust")
    await eventually(lambda: sent_channels(shop, "R8", "repair.created", "cust") == {"in_app"})
    rows = {r.channel: r for r in shop.store.list_deliveries(subject_id="R8")}
    assert rows["sms"].error == "sms switched off in preferences"
    assert rows["email"].error == "not used for high priority"
    assert rows["in_app"].status == "sent"
    assert rows["in_app"].note == "reached no other channel: kept in the inbox"
    assert (await h.inbox("cust"))[0]["kind"] == "repair.created"
    await close(shop, "R8")


async def test_repair_validation_at_the_edge(shop: Desk) -> None:
    h = shop.herald
    with pytest.raises(InvalidInput, match="unknown customer"):
        await h.start_repair("R9", title="x", customer_id="ghost")
    with pytest.raises(InvalidInput, match="needs a technician"):
        await h.repair_event("R1-none", "assigned")
    with pytest.raises(Exception, match="no repair"):
        await h.repair_event("R-unknown", "approved")
    assert isinstance(LoanStatus, type)

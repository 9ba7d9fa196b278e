"""Where events come from: a delivery sent or failed for good, a loan's overdue alert and
its return; each reaches the endpoints that subscribe, verified."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import eventually
from tests.webhooks_out.conftest import Hook, Receiver, add_endpoint
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, Desk, start


def of_type(hook: Hook, type_: str) -> list[dict]:
    return [r.doc for r in hook.verified if r.doc["type"] == type_]


async def test_a_sent_delivery_and_a_failed_one_are_events(hooks: Desk, receiver: Receiver) -> None:
    _, hook = await add_endpoint(hooks, receiver, "log", ["delivery.sent", "delivery.failed"])
    await start(hooks, "L-ev-sent", timedelta(hours=30))
    sent = await eventually(
        lambda: [
            d["data"]
            for d in of_type(hook, "delivery.sent")
            if d["data"]["subject_id"] == "L-ev-sent" and d["data"]["channel"] == "email"
        ]
    )
    (row,) = [r for r in hooks.rows("L-ev-sent") if r["channel"] == "email"]
    data = sent[0]
    assert data["id"] == row["id"] and data["idempotency_key"] == row["idempotency_key"]
    assert data["kind"] == "loan.created" and data["subject_type"] == "loan"
    assert data["subscriber_id"] == "camille" and data["recipient"] == BORROWER_EMAIL
    assert data["status"] == "sent" and data["provider"] == row["provider"]
    assert data["provider_message_id"] == row["provider_message_id"] and data["sent_at"]

    hooks.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(hooks, "L-ev-failed", timedelta(hours=30))
    failed = await eventually(
        lambda: [
            d["data"]
            for d in of_type(hook, "delivery.failed")
            if d["data"]["subject_id"] == "L-ev-failed"
        ]
    )
    assert failed[0]["status"] == "permanently_failed" and failed[0]["channel"] == "email"
    assert "550 5.1.1" in failed[0]["error"]
    assert hook.refused == []
    await hooks.cancel("L-ev-sent")
    await hooks.cancel("L-ev-failed")


async def test_a_loans_overdue_alert_and_return_are_events(hooks: Desk, receiver: Receiver) -> None:
    _, loans = await add_endpoint(hooks, receiver, "loans", ["loan.overdue", "loan.returned"])
    _, others = await add_endpoint(hooks, receiver, "others", ["delivery.bounced"])
    due = await start(hooks, "L-ev-late", timedelta(minutes=30), manager_id="sam")
    await hooks.env.sleep(due - await hooks.now() + timedelta(minutes=20))
    (overdue,) = await eventually(lambda: of_type(loans, "loan.overdue"))
    data = overdue["data"]
    assert data["loan_id"] == "L-ev-late" and data["level"] == 1 and data["max_level"] == 3
    assert data["borrower_id"] == "camille" and data["item"] == "Perceuse Bosch"

    await hooks.herald.return_loan("L-ev-late")
    (returned,) = await eventually(lambda: of_type(loans, "loan.returned"))
    assert returned["data"]["loan_id"] == "L-ev-late"
    assert returned["data"]["returned_at"] and returned["data"]["late_by_seconds"] > 0
    # One event per alert, not one per copy (the manager's copies add none).
    assert len(of_type(loans, "loan.overdue")) == 1
    assert others.verified == [] and loans.refused == []


async def test_a_suppression_by_ops_and_a_suppressed_notice_are_events(
    hooks: Desk, receiver: Receiver
) -> None:
    _, hook = await add_endpoint(
        hooks, receiver, "suppressions", ["subscriber.suppressed", "delivery.suppressed"]
    )
    entry = await hooks.herald.suppress("email", BORROWER_EMAIL, reason="mailbox closed")
    (event,) = await eventually(lambda: of_type(hook, "subscriber.suppressed"))
    assert event["data"]["id"] == entry["id"] and event["data"]["reason"] == "mailbox closed"
    # Suppressing it again is no new event.
    assert not (await hooks.herald.suppress("email", BORROWER_EMAIL, reason="again"))["created"]

    await start(hooks, "L-ev-supp", timedelta(hours=30))
    skipped = await eventually(
        lambda: [
            d["data"]
            for d in of_type(hook, "delivery.suppressed")
            if d["data"]["subject_id"] == "L-ev-supp"
        ]
    )
    assert skipped[0]["channel"] == "email" and skipped[0]["status"] == "suppressed"
    assert "mailbox closed" in skipped[0]["error"]
    assert len(of_type(hook, "subscriber.suppressed")) == 1
    await hooks.cancel("L-ev-supp")

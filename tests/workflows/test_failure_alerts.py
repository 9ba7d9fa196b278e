"""A loan's delivery that fails for good tells the technical admins, once per failure,
and an alert that fails in turn alerts nobody (on the time-skipping server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import eventually
from tests.workflows.test_loan_workflow import (
    BORROWER_EMAIL,
    MANAGER_EMAIL,
    Desk,
    start,
)


def system_rows(desk: Desk) -> list[dict[str, object]]:
    from herald.store import delivery_as_dict

    return [delivery_as_dict(r) for r in desk.store.list_deliveries(subject_type="system")]


async def test_a_loan_notice_failing_for_good_alerts_the_admins_once(desk: Desk) -> None:
    await desk.herald.create_group("technical-admins")
    await desk.herald.add_to_group("technical-admins", ["sam"])
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(desk, "L-fail", timedelta(hours=30))
    await eventually(
        lambda: any(r["status"] == "sent" and r["channel"] == "email" for r in system_rows(desk)),
        timeout=60,
    )
    [failed] = [
        r for r in desk.rows("L-fail") if r["channel"] == "email" and r["kind"] == "loan.created"
    ]
    assert failed["status"] == "permanently_failed"
    [alert] = [r for r in system_rows(desk) if r["channel"] == "email"]
    assert alert["kind"] == "system.delivery_failed" and alert["subscriber_id"] == "sam"
    assert alert["recipient"] == MANAGER_EMAIL and alert["role"] == "admin"
    message = desk.smtp.handler.to(MANAGER_EMAIL)[-1]
    assert "550 5.1.1" in message.part("plain") and "Camille Martin" in message.part("plain")
    # The alert workflow ran once for that row, whatever retries the activity made.
    await desk.cancel("L-fail")
    assert len([r for r in system_rows(desk) if r["channel"] == "email"]) == 1


async def test_an_alert_that_fails_alerts_nobody(desk: Desk) -> None:
    await desk.herald.create_group("technical-admins")
    await desk.herald.add_to_group("technical-admins", ["sam"])
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    desk.smtp.handler.refuse(MANAGER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(desk, "L-fail2", timedelta(hours=30))
    await eventually(
        lambda: any(r["status"] == "permanently_failed" for r in system_rows(desk)), timeout=60
    )
    await desk.cancel("L-fail2")
    # The failed alert is a system notice: no alert about it, ever.
    assert [r["kind"] for r in system_rows(desk) if r["channel"] == "email"] == [
        "system.delivery_failed"
    ]


async def test_a_housekeeping_run_failing_for_good_alerts_the_admins(desk: Desk) -> None:
    import uuid

    from temporalio.client import WorkflowFailureError

    from herald.contracts import PurgeInput

    await desk.herald.create_group("technical-admins")
    await desk.herald.add_to_group("technical-admins", ["sam"])
    with desk.store.engine.begin() as conn:  # what the purge needs is gone
        conn.exec_driver_sql("DROP TABLE inbox")
    with pytest.raises(WorkflowFailureError):
        await desk.herald.client.execute_workflow(
            "HousekeepingWorkflow",
            PurgeInput(retention_days=90, tech_admins_group="technical-admins"),
            id=f"housekeeping-{uuid.uuid4().hex[:8]}",
            task_queue=desk.herald.settings.task_queue,
        )
    [alert] = [r for r in system_rows(desk) if r["channel"] == "email"]
    assert alert["kind"] == "system.housekeeping_failed" and alert["status"] == "sent"
    assert alert["subscriber_id"] == "sam" and alert["role"] == "admin"
    message = desk.smtp.handler.to(MANAGER_EMAIL)[-1]
    assert "housekeeping" in message.subject.lower() and "inbox" in message.part("plain")


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_housekeeping_alert_renders_in_every_format(locale: str) -> None:
    from herald.rendering import Renderer

    context = {
        "kind": "system.housekeeping_failed",
        "color": "#7f1d1d",
        "recipient": {"id": "sam", "name": "Sam", "locale": locale, "timezone": "UTC"},
        "brand": {"name": "Herald", "logo_url": None, "color": "#1f3a5f", "footer": ""},
        "housekeeping": {"workflow_id": "herald-housekeeping", "run_id": "r1", "error": "boom"},
    }
    out = Renderer().render("system.housekeeping_failed", locale, context, email=True)
    assert "Herald" in out.subject and "boom" in out.text and "boom" in out.html
    assert "boom" in out.short and "herald-housekeeping" in out.text

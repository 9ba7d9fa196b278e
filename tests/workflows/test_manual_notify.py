"""RadGestMat's "send now": any of a running loan's (or follow-up's) notices, by hand,
logged so; the plan is untouched (time-skipping server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from herald.contracts import DeliveryStatus, FollowUpState
from herald.errors import Conflict, InvalidInput
from starter.client import followup_workflow_id
from tests.conftest import eventually
from tests.workflows.test_loan_workflow import (
    BORROWER_EMAIL,
    MANAGER_EMAIL,
    Desk,
    record_history,
    start,
)


async def test_a_notice_sent_by_hand_is_a_new_delivery_each_time(desk: Desk) -> None:
    await start(desk, "L-hand", 5, manager_id="sam")
    await eventually(lambda: desk.sent("L-hand") == ["loan.created"])
    before = await desk.status("L-hand")

    first = await desk.herald.notify_loan("L-hand", kind="loan.reminder_j1")
    assert first.notification_id == "loan.reminder_j1@manual-1"
    assert first.channels["email"] is DeliveryStatus.SENT
    again = await desk.herald.notify_loan("L-hand", kind="loan.overdue", manager=True)
    assert again.notification_id == "loan.overdue@manual-2"

    rows = {r["notification_id"]: r for r in desk.rows("L-hand") if r["channel"] == "email"}
    assert rows["loan.reminder_j1@manual-1"]["note"].startswith("sent by hand")
    assert rows["loan.overdue@manual-2/manager"]["recipient"] == MANAGER_EMAIL
    assert rows["loan.reminder_j1@manual-1"]["recipient"] == BORROWER_EMAIL
    after = await desk.status("L-hand")
    assert after.next_reminder == before.next_reminder and after.state == before.state

    with pytest.raises(InvalidInput, match="unknown loan notice"):
        await desk.herald.notify_loan("L-hand", kind="loan.returned")
    await desk.cancel("L-hand")
    with pytest.raises(Conflict):
        await desk.herald.notify_loan("L-hand", kind="loan.reminder_j1")


async def test_a_followup_sends_its_notices_by_hand_too(crm: Desk) -> None:
    """The follow-up's "send now": to the assignee, the managers copied on demand; its
    reminders come as planned, and the time-skipping server then lets it run to the end."""
    now = await crm.now()
    due = now + timedelta(days=3)
    await crm.herald.start_followup("F-hand", title="Relance", assignee_id="ana", due_at=due)
    before = await crm.herald.followup_status("F-hand")

    first = await crm.herald.notify_followup("F-hand", kind="followup.due_tomorrow")
    assert first.notification_id == "followup.due_tomorrow@manual-1"
    copied = await crm.herald.notify_followup("F-hand", kind="followup.overdue", manager=True)
    assert copied.notification_id == "followup.overdue@manual-2"
    rows = {(r["notification_id"], r["channel"]): r for r in crm.rows("F-hand")}
    assert rows[("followup.due_tomorrow@manual-1", "in_app")]["note"].startswith("sent by hand")
    assert rows[("followup.overdue@manual-2", "sms")]["recipient"] == "+33611111111"
    managers = {n for n, _ in rows if n.startswith("followup.overdue@manual-2/manager/")}
    assert managers == {
        "followup.overdue@manual-2/manager/boss",
        "followup.overdue@manual-2/manager/boss2",
    }
    after = await crm.herald.followup_status("F-hand")
    assert after.next_reminder == before.next_reminder and after.state == before.state
    with pytest.raises(InvalidInput, match="unknown follow-up notice"):
        await crm.herald.notify_followup("F-hand", kind="followup.created")

    # The planned notices still come, under their own keys.
    await crm.env.sleep(due - await crm.now() + timedelta(hours=1))
    await eventually(
        lambda: any(
            r["notification_id"].startswith("followup.overdue@2") for r in crm.rows("F-hand")
        )
    )
    final = await crm.herald.complete_followup("F-hand")
    assert final is not None and final.state is FollowUpState.COMPLETED
    await record_history(crm, followup_workflow_id("F-hand"), "followup_sent_by_hand")
    with pytest.raises(Conflict):
        await crm.herald.notify_followup("F-hand", kind="followup.overdue")

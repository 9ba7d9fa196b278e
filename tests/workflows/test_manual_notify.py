"""RadGestMat's "send now": any of a running loan's notices, by hand, logged so; the plan
is untouched (time-skipping server)."""

from __future__ import annotations

import pytest

from herald.contracts import DeliveryStatus
from herald.errors import Conflict, InvalidInput
from tests.conftest import eventually
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, MANAGER_EMAIL, Desk, start


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

"""Resending a delivery that failed for good, on the time-skipping server: a new row logged
as a resend of the original, sent once; a row that was sent, or resent already, refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from herald.contracts import resend_workflow_id
from herald.errors import Conflict, NotFound
from tests.conftest import eventually
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, Desk, record_history, start


def failed_row(desk: Desk, loan_id: str) -> dict[str, object]:
    rows = [
        r
        for r in desk.rows(loan_id)
        if r["kind"] == "loan.created" and r["status"] == "permanently_failed"
    ]
    return rows[0] if rows else {}


async def test_a_failed_delivery_is_resent_once_on_a_row_of_its_own(desk: Desk) -> None:
    h = desk.herald
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(desk, "L-resend", timedelta(hours=30))
    original = await eventually(lambda: failed_row(desk, "L-resend"))

    resent = await h.resend_delivery(int(original["id"]), actor="cli", wait=True)
    assert resent["resend_of"] == original["id"]
    assert resent["id"] != original["id"]
    assert resent["status"] == "sent"
    assert resent["idempotency_key"] == f"{original['idempotency_key']}|resend-1"
    assert resent["note"] == f"resend of delivery {original['id']} by cli"
    assert len(desk.smtp.handler.to(BORROWER_EMAIL)) == 1
    await record_history(desk, resend_workflow_id(str(resent["idempotency_key"])), "resend")
    # The original stays as it was: the log shows both.
    assert failed_row(desk, "L-resend")["id"] == original["id"]

    with pytest.raises(Conflict, match="already resent as delivery"):
        await h.resend_delivery(int(original["id"]))
    with pytest.raises(Conflict, match="was sent: a resend would be a duplicate"):
        await h.resend_delivery(int(resent["id"]))
    with pytest.raises(NotFound):
        await h.resend_delivery(999_999)
    assert len(desk.smtp.handler.to(BORROWER_EMAIL)) == 1
    await desk.cancel("L-resend")


async def test_only_a_delivery_that_failed_for_good_is_resent(desk: Desk) -> None:
    await start(desk, "L-fine", timedelta(hours=30))
    rows = await eventually(
        lambda: [r for r in desk.rows("L-fine") if r["status"] in ("sent", "skipped")]
    )
    for row in rows:
        with pytest.raises(Conflict):
            await desk.herald.resend_delivery(int(row["id"]))
    await desk.cancel("L-fine")

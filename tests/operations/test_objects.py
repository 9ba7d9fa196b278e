"""Loans, repairs and follow-ups from Temporal visibility on the dev server: overdue now
apart from upcoming, searched by id (hostile search text refused), their next notice and
Temporal UI link, and "send now" making a delivery by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from herald.errors import Conflict, InvalidInput, NotFound
from herald.objects import literal
from tests.conftest import eventually
from tests.operations.conftest import GUARD, UI, Ops, close, listed

pytestmark = pytest.mark.e2e


async def test_overdue_and_upcoming_loans_are_listed_apart(ops: Ops) -> None:
    late, soon = ops.id("L-late"), ops.id("L-soon")
    due_late = await ops.start_past_due_loan(late, "camille")
    due_soon = datetime.now(UTC) + timedelta(days=4)
    started = await ops.herald.start_loan(soon, borrower_id="sam", item="Scie", due_at=due_soon)

    (row,) = (await listed(ops, "loan", "overdue", late)).items
    assert row.overdue and row.running and row.workflow_status == "running"
    assert row.person_id == "camille" and close(row.due_at, due_late)
    assert row.workflow_id == f"loan-{late}"
    assert row.ui_url == f"{UI}/namespaces/default/workflows/loan-{late}/{row.run_id}/history"

    (row,) = (await listed(ops, "loan", "upcoming", soon)).items
    assert not row.overdue and row.state == "ACTIVE" and row.person_id == "sam"
    assert row.run_id == started.run_id and close(row.due_at, due_soon)
    # Its next reminder as the workflow plans it; the search attribute says when, too.
    status = await ops.herald.loan_status(soon)
    assert status.next_reminder is not None and row.next_reminder is not None
    assert row.next_reminder.kind == status.next_reminder.kind == "loan.reminder_j2"
    assert row.next_reminder.at == status.next_reminder.at
    assert row.next_reminder.can_send_now and row.next_reminder.role == "borrower"
    at = status.next_reminder.at

    async def attribute_upserted() -> bool:
        page = await ops.herald.objects("loan", state="upcoming", search=soon, reminders=False)
        return close(page.items[0].next_reminder_at, at) and page.items[0].next_reminder is None

    await eventually(attribute_upserted, timeout=GUARD, interval=0.2)

    await listed(ops, "loan", "all", late, soon)
    # One object by id, read from its workflow at once.
    info = await ops.herald.object_info("loan", late)
    assert info.overdue and info.id == late and info.ui_url and info.ui_url.endswith("/history")
    with pytest.raises(NotFound, match="no loan"):
        await ops.herald.object_info("loan", ops.id("L-none"))


async def test_search_finds_by_id_prefix_or_person_and_refuses_query_syntax(ops: Ops) -> None:
    a, b = ops.id("S-10"), ops.id("S-11")
    due = datetime.now(UTC) + timedelta(days=3)
    await ops.herald.start_loan(a, borrower_id="ana", item="Niveau", due_at=due)
    await ops.herald.start_loan(b, borrower_id="camille", item="Niveau", due_at=due)
    await listed(ops, "loan", "upcoming", a, b, search=ops.id("S-1"))
    await listed(ops, "loan", "upcoming", a, search=a)
    # The borrower's id finds their loans (the others' are another module's or test's).
    page = await listed(ops, "loan", "all", a, search="ana")
    assert page.items[0].person_id == "ana"

    for hostile in (
        f"{a}' OR WorkflowType = 'RepairWorkflow",
        "x') OR (1 = 1",
        'a" OR "1"="1',
        "a\\' OR ''='",
        "a\nb",
        "a%",
        "x" * 201,
        "",
    ):
        with pytest.raises(InvalidInput, match="invalid search"):
            await ops.herald.objects("loan", search=hostile)
    # The last guard, whatever reaches it: a literal never carries a quote or a blank.
    for bad in ("a'b", 'a"b', "a\\b", "a b", "a)"):
        with pytest.raises(InvalidInput, match="refused in a visibility query"):
            literal(bad)
    with pytest.raises(InvalidInput, match="unknown object kind"):
        await ops.herald.objects("invoice")
    with pytest.raises(InvalidInput, match="unknown state"):
        await ops.herald.objects("loan", state="late")
    with pytest.raises(InvalidInput, match="page size"):
        await ops.herald.objects("loan", limit=0)
    with pytest.raises(InvalidInput, match="invalid page token"):
        await ops.herald.objects("loan", page_token="not base64!")


async def test_pages_follow_one_another(ops: Ops) -> None:
    ids = [ops.id(f"P-{n}") for n in range(3)]
    due = datetime.now(UTC) + timedelta(days=5)
    for loan_id in ids:
        await ops.herald.start_loan(loan_id, borrower_id="ana", item="Escabeau", due_at=due)
    await listed(ops, "loan", "upcoming", *ids, search=ops.id("P-"))
    seen: list[str] = []
    token = None
    for _ in range(3):
        page = await ops.herald.objects(
            "loan", state="upcoming", search=ops.id("P-"), limit=1, page_token=token
        )
        seen += [r.id for r in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert sorted(seen) == sorted(ids)


async def test_send_now_sends_the_next_reminder_by_hand_and_keeps_the_plan(ops: Ops) -> None:
    loan_id = ops.id("N-1")
    due = datetime.now(UTC) + timedelta(days=4)
    await ops.herald.start_loan(loan_id, borrower_id="camille", item="Ponceuse", due_at=due)
    (row,) = (await listed(ops, "loan", "upcoming", loan_id, search=loan_id)).items
    assert row.next_reminder is not None
    pending = row.next_reminder

    sent = await ops.herald.send_reminder_now("loan", loan_id)
    assert sent.notification_id == f"{pending.kind}@manual-1"
    assert sent.channels["email"] == "sent"
    manual = ops.row(loan_id, f"{pending.kind}@manual-1", "email")
    assert manual["status"] == "sent" and manual["recipient"] == "camille@example.org"
    assert str(manual["note"]).startswith("sent by hand")
    # The plan is untouched: the same reminder is still to come, at the same time.
    after = await ops.herald.object_info("loan", loan_id)
    assert after.next_reminder == pending
    # A named notice, and a second send making a second delivery.
    again = await ops.herald.send_reminder_now("loan", loan_id, notice="loan.due_today")
    assert again.notification_id == "loan.due_today@manual-2"

    with pytest.raises(InvalidInput, match="unknown loan notice"):
        await ops.herald.send_reminder_now("loan", loan_id, notice="loan.returned")
    with pytest.raises(NotFound):
        await ops.herald.send_reminder_now("loan", ops.id("N-none"))
    await ops.herald.cancel_loan(loan_id)
    await ops.herald.client.get_workflow_handle(f"loan-{loan_id}").result()
    with pytest.raises(Conflict, match="no longer running"):
        await ops.herald.send_reminder_now("loan", loan_id)


async def test_followups_overdue_and_sent_by_hand(ops: Ops) -> None:
    late, soon = ops.id("F-late"), ops.id("F-soon")
    await ops.start_past_due_followup(late, "ana")
    due = datetime.now(UTC) + timedelta(days=3)
    await ops.herald.start_followup(soon, title="Devis", assignee_id="ana", due_at=due)
    (row,) = (await listed(ops, "followup", "overdue", late)).items
    assert row.overdue and row.person_id == "ana" and row.workflow_id == f"followup-{late}"
    (row,) = (await listed(ops, "followup", "upcoming", soon)).items
    assert row.next_reminder is not None and row.next_reminder.kind == "followup.due_tomorrow"
    assert row.next_reminder.role == "assignee" and row.next_reminder.can_send_now

    sent = await ops.herald.send_reminder_now("followup", soon)
    assert sent.notification_id == "followup.due_tomorrow@manual-1"
    # A high-priority notice: by SMS (off here) and the inbox.
    assert sent.channels["in_app"] == "sent"
    manual = ops.row(soon, "followup.due_tomorrow@manual-1", "in_app")
    assert manual["status"] == "sent" and str(manual["note"]).startswith("sent by hand")
    # The same through the follow-up's own door, with the managers copied.
    copied = await ops.herald.notify_followup(soon, kind="followup.overdue", manager=True)
    assert copied.notification_id == "followup.overdue@manual-2"
    copy = ops.row(soon, "followup.overdue@manual-2/manager/sam", "email")
    assert copy["status"] == "sent" and copy["recipient"] == "sam@example.org"
    with pytest.raises(InvalidInput, match="unknown follow-up notice"):
        await ops.herald.notify_followup(soon, kind="loan.overdue")


async def test_repairs_waiting_for_a_technician_are_the_overdue_ones(ops: Ops) -> None:
    waiting, taken = ops.id("R-wait"), ops.id("R-taken")
    await ops.herald.start_repair(waiting, title="Écran", customer_id="camille")
    await ops.herald.repair_event(waiting, "approved", event_id="a1")
    await ops.herald.start_repair(
        taken, title="Clavier", customer_id="camille", technician_id="ana"
    )
    await ops.herald.repair_event(taken, "approved", event_id="a1")
    (row,) = (await listed(ops, "repair", "overdue", waiting)).items
    assert row.overdue and row.state == "APPROVED" and row.technician_id is None
    # Its one pending notice is the managers' unassigned alert: shown, not sent by hand.
    assert row.next_reminder is not None and row.next_reminder.kind == "repair.unassigned"
    assert not row.next_reminder.can_send_now and row.due_at is None
    (row,) = (await listed(ops, "repair", "upcoming", taken)).items
    assert not row.overdue and row.technician_id == "ana" and row.person_id == "camille"
    with pytest.raises(InvalidInput, match="none is sent by hand"):
        await ops.herald.send_reminder_now("repair", waiting)


async def test_a_page_still_answers_when_no_worker_does(ops: Ops) -> None:
    """A loan on a queue no worker polls: listed from visibility, its next notice unknown."""
    loan_id = ops.id("W-1")
    due = datetime.now(UTC) + timedelta(days=3)
    await ops.start_loan_unworked(loan_id, "ana", due)
    try:
        (row,) = (await listed(ops, "loan", "upcoming", loan_id, search=loan_id)).items
        assert row.running and close(row.due_at, due) and row.next_reminder is None
    finally:
        await ops.herald.client.get_workflow_handle(f"loan-{loan_id}").terminate()

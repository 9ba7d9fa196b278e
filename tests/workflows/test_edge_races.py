"""What only a running workflow can show about the edge: calls that race the end of a
workflow, request ids used twice, and ids that combine into one workflow id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from herald.contracts import CrmSubject, LoanState
from herald.errors import InvalidInput
from herald.validation import LIMITS
from starter.client import crm_event_workflow_id
from tests.conftest import eventually
from tests.workflows.test_crm_workflow import sent
from tests.workflows.test_loan_workflow import Desk, start


async def test_a_return_racing_an_extension_gets_a_typed_answer_never_a_raw_error(
    desk: Desk,
) -> None:
    """Either call may land first; the loser must hear "no longer running" (or have its
    change applied), never a raw RPCError, whatever the timing."""
    loans = [f"L-race-{i}" for i in range(6)]
    for loan_id in loans:
        await start(desk, loan_id, 5)
    now = await desk.now()
    outcomes = await asyncio.gather(
        *[
            call
            for loan_id in loans
            for call in (
                desk.herald.return_loan(loan_id),
                desk.herald.extend_loan(loan_id, due_at=now + timedelta(days=9)),
            )
        ],
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, InvalidInput), repr(outcome)
            assert "\n" not in str(outcome)
    # Every loan was returned in the end (the return itself never loses).
    for loan_id in loans:
        assert (await desk.status(loan_id)).state == LoanState.RETURNED
    # Once ended, both calls are refused with the reason.
    with pytest.raises(InvalidInput, match="no longer running"):
        await desk.herald.extend_loan(loans[0], due_at=now + timedelta(days=10))
    with pytest.raises(InvalidInput, match="no longer running"):
        await desk.herald.return_loan(loans[0])


async def test_an_extension_beyond_the_horizon_is_refused_before_temporal(desk: Desk) -> None:
    await start(desk, "L-far", 5)
    with pytest.raises(InvalidInput, match="within 5 years"):
        await desk.herald.extend_loan("L-far", due_at=datetime(9999, 12, 31, tzinfo=UTC))
    assert (await desk.status("L-far")).state == LoanState.ACTIVE
    await desk.cancel("L-far")


async def test_a_reused_notify_request_id_is_a_typed_refusal(desk: Desk) -> None:
    h = desk.herald
    await h.set_template("ping", locale="fr", subject="Ping", body="Bonjour {{ recipient.name }}")
    request_id, result = await h.notify("ping", user_ids=["camille"], request_id="r-1", wait=True)
    assert request_id == "r-1" and result is not None
    with pytest.raises(InvalidInput, match="request id 'r-1' was already used"):
        await h.notify("ping", user_ids=["camille"], request_id="r-1")


async def test_crm_event_ids_that_used_to_collide_are_two_workflows(crm: Desk) -> None:
    """Lead ``A-event-B`` with event ``C`` and lead ``A`` with event ``B-event-C`` once made
    one workflow id, and the second event silently notified nobody."""
    h = crm.herald
    one = await h.lead_event("A-event-B", "created", event_id="C", assignee_id="ana", wait=True)
    two = await h.lead_event("A", "created", event_id="B-event-C", assignee_id="ben", wait=True)
    assert one.created and two.created and one.workflow_id != two.workflow_id
    first = {person for _, person, _ in sent(crm, "A-event-B")}
    second = {person for _, person, _ in sent(crm, "A")}
    assert "ana" in first and "ben" not in first
    assert "ben" in second and "ana" not in second


async def test_the_longest_ids_combine_into_a_workflow_that_delivers(crm: Desk) -> None:
    """A 200-character lead id and a 200-character event id: the workflow id, the delivery
    log and the in-app row all hold them."""
    lead, event = "L" * LIMITS["id"], "E" * LIMITS["id"]
    started = await crm.herald.lead_event(
        lead, "created", event_id=event, assignee_id="ana", wait=True
    )
    assert started.workflow_id == crm_event_workflow_id(CrmSubject.LEAD, lead, event)
    await eventually(lambda: {channel for _, _, channel in sent(crm, lead)} >= {"in_app"})
    rows = crm.store.list_deliveries(subject_id=lead)
    assert rows and all(r.workflow_id == started.workflow_id for r in rows)
    assert all(r.status in ("sent", "skipped") for r in rows), [(r.channel, r.error) for r in rows]

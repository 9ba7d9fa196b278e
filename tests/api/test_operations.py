"""Follow-ups, repairs, CRM events, staff alerts and the inbox over HTTP, through
HttpHerald: the same results as the Python client's, the same refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from herald.contracts import AppliedEvent, FollowUpState, NotifyResult, RepairState
from herald.errors import Conflict, InvalidInput, NotFound
from herald.http_client import HttpHerald
from starter.client import repair_workflow_id
from tests.api.conftest import Api, until
from tests.workflows.test_loan_workflow import Desk, local_afternoon


async def test_a_followup_from_start_to_completion(crm_api: Api, crm: Desk) -> None:
    # Temporal's time: the time-skipping server runs ahead of the wall clock.
    due = local_afternoon(await crm.now(), 3)
    async with HttpHerald(crm_api.url, timeout=60) as herald:
        started = await herald.start_followup(
            "F-http", title="Call back", assignee_id="ana", due_at=due, customer="ACME"
        )
        assert started.created and started.workflow_id == "followup-F-http"
        assert not (
            await herald.start_followup("F-http", title="Call back", assignee_id="ana", due_at=due)
        ).created
        status = await herald.followup_status("F-http")
        assert status.state is FollowUpState.OPEN and status.due_at == due
        later = due + timedelta(days=1)
        assert (await herald.reschedule_followup("F-http", due_at=later)).due_at == later
        assert (await herald.reassign_followup("F-http", assignee_id="ben")).assignee_id == "ben"
        # Repeated (a retried hand-off), it answers the state it already made.
        again = await herald.reassign_followup("F-http", assignee_id="ben")
        assert again.assignee_id == "ben" and again.reassignments == 1
        done = await herald.complete_followup("F-http")
        assert done is not None and done.state is FollowUpState.COMPLETED
        with pytest.raises(Conflict):
            await herald.complete_followup("F-http")
        with pytest.raises(NotFound):
            await herald.followup_status("F-none")


async def test_a_repair_and_its_events(crm_api: Api) -> None:
    await crm_api.herald.create_group("repair-managers")
    await crm_api.herald.add_to_group("repair-managers", ["boss"])
    async with HttpHerald(crm_api.url, timeout=60) as herald:
        started = await herald.start_repair(
            "R-http", title="Écran", customer_id="ana", technician_id="ben"
        )
        assert started.created
        applied = await herald.repair_event("R-http", "approved", event_id="e1")
        assert isinstance(applied, AppliedEvent) and applied.outcome == "applied"
        assert await herald.repair_event("R-http", "in_progress", event_id="e2", wait=False) is None
        status = await herald.repair_status("R-http")
        assert status.repair_id == "R-http" and status.customer_id == "ana"
        with pytest.raises(InvalidInput, match="unknown repair event"):
            await herald.repair_event("R-http", "exploded")
        await herald.repair_event("R-http", "closed", event_id="e3")
        await crm_api.herald.client.get_workflow_handle(repair_workflow_id("R-http")).result()
        assert (await crm_api.herald.repair_status("R-http")).state is RepairState.CLOSED
        with pytest.raises(Conflict, match="no longer running"):
            await herald.repair_event("R-http", "approved", event_id="e4")


async def test_crm_events_are_sent_once_per_event_id(crm_api: Api) -> None:
    async with HttpHerald(crm_api.url, timeout=60) as herald:
        first = await herald.lead_event(
            "lead-1", "created", event_id="c1", name="Big deal", assignee_id="ana", wait=True
        )
        again = await herald.lead_event(
            "lead-1", "created", event_id="c1", name="Big deal", assignee_id="ana"
        )
        assert first.created and not again.created
        assert first.workflow_id == again.workflow_id == "lead-lead-1/event-c1"
        welcome = await herald.user_event("ben", "welcome", event_id="w1", wait=True)
        assert welcome.created
        with pytest.raises(InvalidInput, match="unknown lead event"):
            await herald.lead_event("lead-1", "exploded")


async def test_a_staff_alert_reaches_the_group_and_their_inbox(crm_api: Api) -> None:
    async with HttpHerald(crm_api.url, timeout=60) as herald:
        await herald.set_template(
            "maint", locale="fr", subject="Maintenance", body="Ce soir {{ window }}"
        )
        await herald.create_group("tech")
        await herald.add_to_group("tech", ["ben"])
        request_id, result = await herald.notify(
            "maint", group_names=["tech"], context={"window": "22h"}, request_id="m1", wait=True
        )
        assert request_id == "m1"
        assert isinstance(result, NotifyResult) and result.recipients == 1

        async def delivered() -> list[dict[str, object]]:
            return await herald.inbox("ben")

        items = await until(delivered)
        assert items == await crm_api.herald.inbox("ben")
        assert await herald.unread_count("ben") == len(items)
        assert await herald.mark_read("ben", [int(str(items[0]["id"]))]) == 1
        assert await herald.mark_read("ben") == len(items) - 1
        assert await herald.unread_count("ben") == 0
        rid, none = await herald.notify("maint", user_ids=["ana"])
        assert none is None and rid
        # Nothing left running for later tests.
        await crm_api.herald.client.get_workflow_handle(f"notify-{rid}").result()

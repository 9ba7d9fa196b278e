"""A loan's whole life over HTTP, through HttpHerald, on the desk's real workers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from herald.contracts import LoanState, LoanStatus
from herald.errors import Conflict, InvalidInput
from herald.http_client import HttpHerald
from tests.api.conftest import Api, until
from tests.workflows.test_loan_workflow import Desk, local_afternoon


async def test_a_loan_from_start_to_return(api: Api, desk: Desk) -> None:
    # Temporal's time: the time-skipping server runs ahead of the wall clock.
    due = local_afternoon(await desk.now(), 5)
    ops = api.keys.create("ops", "ops")
    async with HttpHerald(api.url, ops.key, timeout=60) as herald, api.http(ops.key) as http:
        first = await http.post(
            "/v1/loans",
            json={
                "loan_id": "L-http",
                "borrower_id": "camille",
                "item": "Perceuse Bosch",
                "due_at": due.isoformat(),
                "manager_id": "sam",
            },
        )
        assert first.status_code == 201
        assert first.json()["created"] is True
        assert first.headers["location"] == "/v1/loans/L-http"

        again = await herald.start_loan(
            "L-http", borrower_id="camille", item="Perceuse Bosch", due_at=due
        )
        assert again.created is False
        assert again.workflow_id == "loan-L-http"

        status = await herald.loan_status("L-http")
        assert isinstance(status, LoanStatus)
        assert status.state is LoanState.ACTIVE and status.due_at == due

        later = due + timedelta(days=2)
        extended = await herald.extend_loan("L-http", due_at=later)
        assert extended.due_at == later and extended.extensions == 1

        async def confirmed() -> bool:
            rows = await herald.deliveries("L-http")
            return any(r["kind"] == "loan.created" and r["status"] == "sent" for r in rows)

        await until(confirmed)

        returned = await herald.return_loan("L-http")
        assert returned is not None and returned.state is LoanState.RETURNED

        with pytest.raises(Conflict, match="no longer running"):
            await herald.return_loan("L-http")
        response = await http.post("/v1/loans/L-http/return", json={})
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "https://herald.dev/problems/conflict"

        async def thanked() -> list[str]:
            rows = await herald.deliveries("L-http")
            kinds = [r["kind"] for r in rows if r["role"] == "borrower" and r["status"] == "sent"]
            return kinds if "loan.returned" in kinds else []

        kinds = await until(thanked)
        assert kinds[0] == "loan.created"
        # The same rows as the Python client's, and every subject for ops.
        assert await herald.deliveries("L-http") == await api.herald.deliveries("L-http")
        assert len(await herald.deliveries()) >= len(kinds)


async def test_directory_groups_templates_and_inbox_answer_as_herald_does(api: Api) -> None:
    async with HttpHerald(api.url, timeout=60) as herald:
        contact = await herald.upsert_subscriber(
            "ana", name="Ana", email="ana@example.org", timezone="Europe/Paris"
        )
        assert contact == await api.herald.get_subscriber("ana")
        prefs = await herald.set_preferences("ana", sms=False, quiet_hours="21:00-07:30")
        assert prefs == await api.herald.get_preferences("ana")
        assert await herald.get_preferences("ana") == prefs
        assert await herald.mailbox("ana") is None

        assert await herald.create_group("staff", "Everyone") is True
        assert await herald.create_group("staff") is False
        assert await herald.add_to_group("staff", ["ana", "camille"]) == 2
        assert await herald.group_members("staff") == ["ana", "camille"]
        assert await herald.remove_from_group("staff", ["camille"]) == 1
        assert await herald.groups() == await api.herald.groups()

        assert await herald.set_template(
            "hello", locale="en", subject="Hi {{ recipient.name }}", body="Body {{ x }}"
        )
        assert await herald.templates() == await api.herald.templates()
        notice = await herald.preview_template("hello", locale="en", context={"x": 1})
        assert notice == await api.herald.preview_template("hello", locale="en", context={"x": 1})

        assert await herald.inbox("ana") == []
        assert await herald.unread_count("ana") == 0
        assert await herald.mark_read("ana") == 0
        with pytest.raises(InvalidInput, match="group"):
            await herald.add_to_group("nobody-group", ["ana"])

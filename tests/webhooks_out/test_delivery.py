"""Events to endpoints: signed, retried, counted, disabled; against the time-skipping
server, a real database and a receiver that verifies every request."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from herald import outbound
from herald.contracts import PurgeInput, PurgeResult
from herald.db import WebhookEvent, utcnow
from tests.webhooks_out.conftest import DISABLE_AFTER, Receiver, add_endpoint, delivered
from tests.workflows.test_loan_workflow import Desk
from workflows.housekeeping import HousekeepingWorkflow

DATA = {"id": 1, "kind": "loan.created", "status": "sent"}


async def publish(desk: Desk, type_: str, key: str, data: dict | None = None) -> str | None:
    h = desk.herald
    return await outbound.publish(
        h.store, h.client, type_, data or DATA, key=key, settings=h.settings
    )


async def test_an_event_reaches_the_endpoint_signed_and_each_attempt_is_logged(
    hooks: Desk, receiver: Receiver
) -> None:
    endpoint_id, hook = await add_endpoint(hooks, receiver, "one", ["delivery.sent"])
    event_id = await publish(hooks, "delivery.sent", "k1")
    assert event_id is not None and event_id.startswith("msg_") and len(event_id) == 30
    result = await delivered(hooks, event_id)
    assert result.outcomes == {endpoint_id: "delivered"}
    assert hook.refused == [] and len(hook.verified) == 1
    got = hook.verified[0]
    assert got.headers["webhook-id"] == event_id
    assert got.doc["type"] == "delivery.sent" and got.doc["data"] == DATA
    assert got.doc["timestamp"].endswith("Z")
    (attempt,) = await hooks.herald.webhook_attempts(endpoint_id)
    assert attempt["event_id"] == event_id and attempt["status_code"] == 200
    assert attempt["succeeded"] and attempt["attempt"] == 1 and attempt["duration_ms"] >= 0
    with hooks.store.session() as s:
        row = s.get(WebhookEvent, event_id)
        assert row is not None and row.dispatched_at is not None


async def test_an_event_is_retried_while_the_endpoint_fails_and_arrives_once_it_answers(
    hooks: Desk, receiver: Receiver
) -> None:
    endpoint_id, hook = await add_endpoint(
        hooks, receiver, "flaky", ["delivery.sent"], fail_first=DISABLE_AFTER - 1
    )
    event_id = await publish(hooks, "delivery.sent", "k-flaky")
    assert event_id is not None
    result = await delivered(hooks, event_id)
    assert result.outcomes == {endpoint_id: "delivered"}
    assert hook.answered == [500] * (DISABLE_AFTER - 1) + [200]
    # Every attempt verified, with the same id and body, and each signed anew.
    assert {r.headers["webhook-id"] for r in hook.verified} == {event_id}
    assert len({r.body for r in hook.verified}) == 1
    attempts = await hooks.herald.webhook_attempts(endpoint_id)
    assert [a["attempt"] for a in attempts] == list(range(DISABLE_AFTER, 0, -1))
    assert [a["status_code"] for a in attempts] == [200] + [500] * (DISABLE_AFTER - 1)
    assert all("HTTP 500" in (a["error"] or "") for a in attempts[1:])
    (endpoint,) = await hooks.herald.webhooks()
    assert endpoint["enabled"] and endpoint["consecutive_failures"] == 0


async def test_an_endpoint_failing_too_often_is_disabled_and_its_event_stops(
    hooks: Desk, receiver: Receiver
) -> None:
    endpoint_id, hook = await add_endpoint(
        hooks, receiver, "down", ["delivery.failed"], fail_first=1000
    )
    event_id = await publish(hooks, "delivery.failed", "k-down")
    assert event_id is not None
    result = await delivered(hooks, event_id)
    assert result.outcomes[endpoint_id].startswith("stopped: ")
    assert len(hook.verified) == DISABLE_AFTER
    (endpoint,) = await hooks.herald.webhooks()
    assert not endpoint["enabled"] and endpoint["disabled_at"]
    assert f"{DISABLE_AFTER} failed attempts in a row" in endpoint["disabled_reason"]
    assert "secret" not in endpoint
    # Disabled: nothing listens any more, so nothing is recorded.
    assert await publish(hooks, "delivery.failed", "k-later") is None

    enabled = await hooks.herald.enable_webhook(endpoint_id)
    assert enabled["enabled"] and enabled["consecutive_failures"] == 0
    assert enabled["disabled_at"] is None and enabled["disabled_reason"] is None
    hook.fail_first = 0
    hook.verified.clear()
    again = await publish(hooks, "delivery.failed", "k-again")
    assert again is not None
    assert (await delivered(hooks, again)).outcomes == {endpoint_id: "delivered"}
    assert len(hook.verified) == 1


async def test_an_event_retrying_stops_when_ops_disable_its_endpoint(
    hooks: Desk, receiver: Receiver
) -> None:
    endpoint_id, hook = await add_endpoint(
        hooks, receiver, "ops-off", ["delivery.sent"], fail_first=1000
    )
    # Ops disable the endpoint while its first attempt is being answered with a 500.
    hook.on_request = lambda n: (
        outbound.set_enabled(hooks.store, endpoint_id, False, "disabled by ops") if n == 1 else None
    )
    event_id = await publish(hooks, "delivery.sent", "k-ops-off")
    assert event_id is not None
    result = await delivered(hooks, event_id)
    assert result.outcomes == {endpoint_id: f"stopped: endpoint {endpoint_id} is disabled"}
    assert len(hook.verified) == 1
    (attempt,) = await hooks.herald.webhook_attempts(endpoint_id)
    assert attempt["status_code"] == 500 and not attempt["succeeded"]
    (endpoint,) = await hooks.herald.webhooks()
    assert endpoint["disabled_reason"] == "disabled by ops"


async def test_an_endpoint_disabled_by_ops_gets_nothing_more(
    hooks: Desk, receiver: Receiver
) -> None:
    endpoint_id, hook = await add_endpoint(
        hooks, receiver, "paused", ["loan.overdue"], fail_first=1000
    )
    await hooks.herald.disable_webhook(endpoint_id)
    # Recorded while it was enabled, sent once it was disabled: stopped at the first attempt.
    event_id = outbound.insert_event(hooks.store, "loan.overdue", {"loan_id": "L"}, key="p")
    await outbound.dispatch(hooks.herald.client, event_id, hooks.herald.settings)
    result = await delivered(hooks, event_id)
    assert result.outcomes == {}  # disabled when the workflow looked: no target at all
    assert hook.verified == []


async def test_410_gone_disables_the_endpoint_at_once(hooks: Desk, receiver: Receiver) -> None:
    endpoint_id, hook = await add_endpoint(
        hooks, receiver, "gone", ["*"], fail_first=1000, fail_status=410
    )
    event_id = await publish(hooks, "loan.returned", "k-gone")
    assert event_id is not None
    result = await delivered(hooks, event_id)
    assert "410 Gone" in result.outcomes[endpoint_id]
    assert hook.answered == [410]
    (endpoint,) = await hooks.herald.webhooks()
    assert not endpoint["enabled"] and endpoint["consecutive_failures"] == 1


async def test_an_endpoint_not_subscribed_receives_nothing(hooks: Desk, receiver: Receiver) -> None:
    sent_id, sent_hook = await add_endpoint(hooks, receiver, "sent", ["delivery.sent"])
    loans_id, loans_hook = await add_endpoint(hooks, receiver, "loans", ["loan.overdue"])
    event_id = await publish(hooks, "delivery.sent", "k-only-sent")
    assert event_id is not None
    assert (await delivered(hooks, event_id)).outcomes == {sent_id: "delivered"}
    assert len(sent_hook.verified) == 1 and loans_hook.verified == []
    assert await hooks.herald.webhook_attempts(loans_id) == []
    # A type nobody subscribes to is not even recorded.
    assert await publish(hooks, "delivery.bounced", "k-nobody") is None


async def test_the_same_key_twice_is_one_event_sent_once(hooks: Desk, receiver: Receiver) -> None:
    _, hook = await add_endpoint(hooks, receiver, "once", ["delivery.sent"])
    first = await publish(hooks, "delivery.sent", "same-key")
    second = await publish(hooks, "delivery.sent", "same-key")
    assert first is not None and first == second
    assert outbound.record_event(hooks.store, "delivery.sent", DATA, key="same-key") == first
    await delivered(hooks, first)
    with hooks.store.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    assert len(hook.verified) == 1


async def test_no_endpoint_no_event(hooks: Desk) -> None:
    assert await publish(hooks, "delivery.sent", "k-none") is None
    with hooks.store.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 0


async def test_an_event_never_handed_over_is_started_by_the_housekeeping_sweep(
    hooks: Desk, receiver: Receiver
) -> None:
    endpoint_id, hook = await add_endpoint(hooks, receiver, "late", ["delivery.sent"])
    # Recorded, but its workflow never started (Temporal was unreachable, say).
    event_id = outbound.record_event(hooks.store, "delivery.sent", DATA, key="k-late")
    assert event_id is not None
    with hooks.store.session() as s, s.begin():
        s.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(created_at=utcnow() - timedelta(minutes=10))
        )
    result = await hooks.herald.client.execute_workflow(
        HousekeepingWorkflow.run,
        PurgeInput(retention_days=90),
        id=f"housekeeping-{hooks.herald.settings.task_queue}",
        task_queue=hooks.herald.settings.task_queue,
        result_type=PurgeResult,
    )
    assert result.webhooks_dispatched == 1
    assert (await delivered(hooks, event_id)).outcomes == {endpoint_id: "delivered"}
    assert len(hook.verified) == 1

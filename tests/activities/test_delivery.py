"""The delivery activities without a server (``ActivityEnvironment``), against a real SMTP
server and both database backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from herald.channels import SmtpProvider
from herald.contracts import ChannelSend, DeliveryRequest, DeliveryStatus, Role
from herald.kinds import Channel
from herald.rendering import Renderer
from herald.settings import Settings
from herald.store import Store
from tests.conftest import BACKENDS, migrated_store
from tests.smtp_server import SmtpServer

DUE = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    tables = ("deliveries", "preferences", "subscribers")
    with migrated_store(request, tmp_path, tables=tables) as s:
        s.upsert_subscriber("ana", name="Ana", email="ana@example.org", phone="+33612345678")
        yield s


def make_activities(
    store: Store, smtp: SmtpServer, renderer: Renderer | None = None
) -> DeliveryActivities:
    provider = SmtpProvider(
        host="127.0.0.1", port=smtp.port, sender="prets@example.org", starttls=False
    )
    return DeliveryActivities(store, {Channel.EMAIL: [provider]}, Settings(), renderer)


def request(
    notification_id: str = "loan.reminder_j1@x", kind: str = "loan.reminder_j1"
) -> DeliveryRequest:
    return DeliveryRequest(
        workflow_id="loan-A1",
        notification_id=notification_id,
        kind=kind,
        role=Role.BORROWER,
        subscriber_id="ana",
        subject_type="loan",
        subject_id="A1",
        scheduled_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        data={
            "loan_id": "A1",
            "item": "Projecteur",
            "borrower_id": "ana",
            "manager_id": None,
            "borrowed_at": "2026-12-01T09:00:00+00:00",
            "due_at": DUE.isoformat(),
            "returned_at": None,
            "late_by_seconds": None,
            "alert_number": None,
            "max_alerts": 3,
        },
    )


def attempt(n: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=n)
    return env


def plan_and_send(acts: DeliveryActivities, req: DeliveryRequest, n: int = 1) -> ChannelSend:
    plan = ActivityEnvironment().run(acts.plan_delivery, req)
    email = next(d for d in plan.decisions if d.channel is Channel.EMAIL)
    send = ChannelSend(request=req, channel=Channel.EMAIL, idempotency_key=email.idempotency_key)
    attempt(n).run(acts.deliver, send)
    return send


def test_a_send_already_recorded_as_sent_is_not_sent_again(store: Store, smtp: SmtpServer) -> None:
    acts = make_activities(store, smtp)
    send = plan_and_send(acts, request())
    # A retry of the same activity (e.g. the worker died before reporting completion).
    result = attempt(2).run(acts.deliver, send)
    assert result.status is DeliveryStatus.SENT
    assert len(smtp.handler.to("ana@example.org")) == 1
    row = store.get_delivery(send.idempotency_key)
    assert row is not None and row.attempts == 1 and row.provider == "smtp"
    assert row.provider_message_id == smtp.handler.messages[0].message["Message-ID"]
    # Planning again (a retried plan) keeps the row as it is.
    ActivityEnvironment().run(acts.plan_delivery, request())
    assert store.get_delivery(send.idempotency_key).status == "sent"  # type: ignore[union-attr]


def test_plan_records_a_reason_for_every_skipped_channel(store: Store, smtp: SmtpServer) -> None:
    acts = make_activities(store, smtp)
    plan = ActivityEnvironment().run(acts.plan_delivery, request())
    by_channel = {d.channel: d for d in plan.decisions}
    assert by_channel[Channel.EMAIL].status is DeliveryStatus.PENDING
    assert by_channel[Channel.SMS].reason == "no sms provider configured"
    rows = {r.channel: r for r in store.list_deliveries(subject_id="A1")}
    assert rows["email"].status == "pending" and rows["email"].recipient == "ana@example.org"
    assert (
        rows["whatsapp"].status == "skipped"
        and rows["whatsapp"].error == "no whatsapp provider configured"
    )


def test_transient_failure_is_recorded_and_retryable(store: Store, smtp: SmtpServer) -> None:
    smtp.handler.refuse("ana@example.org", "451 4.7.1 Greylisted, try later")
    acts = make_activities(store, smtp)
    with pytest.raises(ApplicationError) as err:
        plan_and_send(acts, request(), n=3)
    assert not err.value.non_retryable and err.value.type == "TransientSendError"
    row = store.list_deliveries(subject_id="A1")[0]
    assert (
        row.status == "failed" and row.attempts == 3 and "451 4.7.1 Greylisted" in (row.error or "")
    )


def test_permanent_failure_is_recorded_with_the_reply(store: Store, smtp: SmtpServer) -> None:
    smtp.handler.refuse("ana@example.org", "550 5.1.1 User unknown")
    acts = make_activities(store, smtp)
    with pytest.raises(ApplicationError) as err:
        plan_and_send(acts, request())
    assert err.value.non_retryable and err.value.type == "PermanentSendError"
    row = store.list_deliveries(subject_id="A1")[0]
    assert (
        row.status == "permanently_failed"
        and row.error == "smtp: recipient refused: 550 5.1.1 User unknown"
    )
    assert row.provider_errors == [
        {
            "provider": "smtp",
            "attempt": 1,
            "code": None,
            "error": "recipient refused: 550 5.1.1 User unknown",
        }
    ]


def test_template_error_is_permanent_and_names_template_and_variable(
    store: Store, smtp: SmtpServer
) -> None:
    broken = jinja2.DictLoader(
        {
            "fr/loan.reminder_j1.txt": "{% block subject %}Rappel{% endblock %}{{ loan.nope }}",
            "fr/loan.reminder_j1.html": "<p>{{ loan.item }}</p>",
            "fr/loan.reminder_j1.short.txt": "{{ loan.item }}",
        }
    )
    acts = make_activities(store, smtp, Renderer(loader=broken))
    with pytest.raises(ApplicationError) as err:
        plan_and_send(acts, request())
    assert err.value.non_retryable
    assert "fr/loan.reminder_j1.txt" in str(err.value) and "nope" in str(err.value)
    assert smtp.handler.messages == []


def test_unknown_subscriber_is_skipped_on_every_channel(store: Store, smtp: SmtpServer) -> None:
    acts = make_activities(store, smtp)
    req = request().model_copy(update={"subscriber_id": "ghost"})
    plan = ActivityEnvironment().run(acts.plan_delivery, req)
    assert {d.status for d in plan.decisions} == {DeliveryStatus.SKIPPED}
    assert all("unknown subscriber 'ghost'" in (d.reason or "") for d in plan.decisions)


def test_message_uses_the_directory_at_send_time(store: Store, smtp: SmtpServer) -> None:
    acts = make_activities(store, smtp)
    ActivityEnvironment().run(acts.plan_delivery, request())
    store.upsert_subscriber("ana", name="Ana Lopez", locale="en", timezone="America/New_York")
    send = ChannelSend(
        request=request(), channel=Channel.EMAIL, idempotency_key="loan-A1|loan.reminder_j1@x|email"
    )
    attempt(1).run(acts.deliver, send)
    mail = smtp.handler.to("ana@example.org")[0]
    body = mail.part("plain")
    assert "Ana Lopez" in body
    # English, and the due time in New York's zone (17:00 UTC = 12:00 EST).
    assert "12:00" in body and "December" in body

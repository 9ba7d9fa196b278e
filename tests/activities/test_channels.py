"""The deliver activity over provider chains, against the fake Twilio and Meta APIs, a real
SMTP server and the outbox: failover, recipient faults, limits, SMS cost, templates, inbox."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import pytest
from pydantic import SecretStr
from sqlalchemy import delete
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from herald.channels import build_providers
from herald.contracts import ChannelSend, DeliveryRequest, Role
from herald.db import ConversationWindow, utcnow
from herald.kinds import Channel
from herald.receipts import record_inbound
from herald.rendering import Renderer
from herald.settings import Settings
from herald.store import Store, migrate
from herald.webhooks import InboundMessage
from tests.fakes.aws import (  # noqa: F401  (fixtures)
    Aws,
    aws_fixture,
    aws_proxy_fixture,
    moto_server_fixture,
    ses_error,
)
from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraph,
    meta_graph_fixture,
)
from tests.fakes.twilio_api import (  # noqa: F401  (fixtures)
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    twilio_api_fixture,
    twilio_api_server_fixture,
)
from tests.smtp_server import SmtpServer

PHONE = "+33612345678"
WHATSAPP = "+33698765432"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'herald.db'}")
    migrate(s.engine)
    s.upsert_subscriber(
        "zoe", name="Zoé Brûlé", email="zoe@example.org", phone=PHONE, whatsapp=WHATSAPP
    )
    s.set_preferences("zoe", channels={Channel.SMS: True, Channel.WHATSAPP: True})
    # Zoé wrote on WhatsApp a moment ago: her 24-hour window is open, free text may go.
    record_inbound(
        s, InboundMessage("meta", "whatsapp", WHATSAPP, "wamid.IN1", "bonjour", utcnow())
    )
    yield s
    s.close()


def settings(tmp_path: Path, twilio: FakeTwilio, graph: FakeGraph, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'herald.db'}",
        "outbox_dir": tmp_path / "outbox",
        "email_provider": "outbox",
        "sms_providers": ["twilio", "outbox"],
        "whatsapp_providers": ["meta", "twilio"],
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": SecretStr(AUTH_TOKEN),
        "twilio_from": "+33756781234",
        "twilio_whatsapp_from": "+14155238886",
        "twilio_api_base_url": twilio.base_url,
        "meta_access_token": SecretStr(TOKEN),
        "meta_phone_number_id": PHONE_NUMBER_ID,
        "meta_graph_url": graph.url,
        **overrides,
    }
    return Settings(**values)


def make(store: Store, s: Settings, renderer: Renderer | None = None) -> DeliveryActivities:
    return DeliveryActivities(store, build_providers(s), s, renderer)


def request(
    kind: str = "loan.reminder_j1", item: str = "Caméra à rendre, Prêt n°4 ✨"
) -> DeliveryRequest:
    return DeliveryRequest(
        workflow_id="loan-Z1",
        notification_id=f"{kind}@x",
        kind=kind,
        role=Role.BORROWER,
        subscriber_id="zoe",
        subject_type="loan",
        subject_id="Z1",
        scheduled_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        data={
            "loan_id": "Z1",
            "item": item,
            "borrower_id": "zoe",
            "manager_id": None,
            "borrowed_at": "2026-12-01T09:00:00+00:00",
            "due_at": "2026-12-04T17:00:00+00:00",
            "returned_at": None,
            "late_by_seconds": None,
            "alert_number": None,
            "max_alerts": 3,
        },
    )


def deliver(
    acts: DeliveryActivities, channel: Channel, attempt: int = 1, req: DeliveryRequest | None = None
) -> Any:
    req = req or request()
    plan = ActivityEnvironment().run(acts.plan_delivery, req)
    decision = next(d for d in plan.decisions if d.channel is channel)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, attempt=attempt, current_attempt_scheduled_time=utcnow()
    )
    send = ChannelSend(request=req, channel=channel, idempotency_key=decision.idempotency_key)
    return env.run(acts.deliver, send)


def row(store: Store, channel: str) -> Any:
    return next(r for r in store.list_deliveries(subject_id="Z1") if r.channel == channel)


def outbox_texts(tmp_path: Path) -> list[str]:
    return [p.read_text() for p in sorted((tmp_path / "outbox").glob("*-sms-*.txt"))]


def test_sms_through_twilio_records_segments_and_cost(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    s = settings(tmp_path, twilio_api, meta_graph)
    result = deliver(make(store, s), Channel.SMS)
    assert result.provider == "twilio"
    [sent] = twilio_api.sent_to(PHONE)
    assert "Caméra à rendre, Prêt n°4 ✨" in sent["body"]
    r = row(store, "sms")
    assert r.status == "sent" and r.provider == "twilio" and r.provider_message_id.startswith("SM")
    # ê and ✨ are outside GSM-7: the whole text is UCS-2.
    assert r.encoding == "UCS-2" and r.segments >= 1
    assert r.cost_estimate == pytest.approx(r.segments * s.twilio_sms_segment_cost)
    assert r.cost_currency == "USD"


def test_twilio_is_asked_for_status_callbacks_under_the_public_url(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    deliver(make(store, settings(tmp_path, twilio_api, meta_graph)), Channel.SMS)
    [plain] = twilio_api.requests_to(PHONE)
    assert "StatusCallback" not in plain.form
    twilio_api.reset()
    s = settings(tmp_path, twilio_api, meta_graph, public_base_url="https://herald.example.org/")
    deliver(make(store, s), Channel.SMS, req=request("loan.overdue"))
    [asked] = twilio_api.requests_to(PHONE)
    assert asked.form["StatusCallback"] == "https://herald.example.org/v1/hooks/twilio/status"


def test_provider_fault_fails_over_to_the_next_provider_at_once(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    twilio_api.fail(
        PHONE, 21408, 400, "Permission to send an SMS has not been enabled for the region"
    )
    result = deliver(make(store, settings(tmp_path, twilio_api, meta_graph)), Channel.SMS)
    assert result.provider == "outbox"
    assert len(outbox_texts(tmp_path)) == 1
    r = row(store, "sms")
    assert r.status == "sent" and r.provider == "outbox" and r.error is None
    assert [(e["provider"], e["code"]) for e in r.provider_errors] == [("twilio", "21408")]


def test_recipient_fault_stops_the_chain(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    twilio_api.fail(PHONE, 21610, 400, "Attempt to send to unsubscribed recipient")
    with pytest.raises(ApplicationError) as err:
        deliver(make(store, settings(tmp_path, twilio_api, meta_graph)), Channel.SMS)
    assert err.value.non_retryable
    assert outbox_texts(tmp_path) == []  # no other provider tried
    r = row(store, "sms")
    assert r.status == "permanently_failed" and "21610" in r.error and "unsubscribed" in r.error


def test_transient_failure_retries_the_first_provider_then_walks_the_chain(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    twilio_api.fail(PHONE, 20429, 429, "Too Many Requests", retry_after=7)
    acts = make(store, settings(tmp_path, twilio_api, meta_graph, failover_after_attempts=2))
    with pytest.raises(ApplicationError) as err:
        deliver(acts, Channel.SMS, attempt=1)
    assert not err.value.non_retryable
    assert (
        err.value.next_retry_delay is not None and err.value.next_retry_delay.total_seconds() == 7
    )
    assert outbox_texts(tmp_path) == []
    assert row(store, "sms").status == "failed"
    # Twilio is still throttling at the third attempt: the outbox delivers.
    twilio_api.fail(PHONE, 20429, 429, "Too Many Requests")
    result = deliver(acts, Channel.SMS, attempt=3)
    assert result.provider == "outbox"
    r = row(store, "sms")
    assert r.status == "sent" and r.attempts == 3
    assert [(e["provider"], e["attempt"]) for e in r.provider_errors] == [
        ("twilio", 1),
        ("twilio", 3),
    ]


def test_every_provider_refusing_for_its_own_reasons_is_permanent(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    meta_graph.fail(WHATSAPP.removeprefix("+"), 190, 401, "Error validating access token")
    twilio_api.fail(
        WHATSAPP, 63007, 400, "Could not find a Channel with the specified From address"
    )
    with pytest.raises(ApplicationError) as err:
        deliver(make(store, settings(tmp_path, twilio_api, meta_graph)), Channel.WHATSAPP)
    assert err.value.non_retryable
    r = row(store, "whatsapp")
    assert r.status == "permanently_failed"
    assert r.error.startswith("meta: ") and "; twilio: " in r.error
    assert [e["provider"] for e in r.provider_errors] == ["meta", "twilio"]


def test_whatsapp_fails_over_from_meta_to_twilio(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    meta_graph.fail(WHATSAPP.removeprefix("+"), 190, 401, "Error validating access token")
    result = deliver(make(store, settings(tmp_path, twilio_api, meta_graph)), Channel.WHATSAPP)
    assert result.provider == "twilio"
    [sent] = twilio_api.sent_to(WHATSAPP)
    assert sent["to"] == f"whatsapp:{WHATSAPP}" and "Zoé Brûlé" in sent["body"]


def close_window(store: Store, hours_ago: float = 25) -> None:
    """Zoé's last WhatsApp message was ``hours_ago``: past 24, her window is closed."""
    with store.session() as s, s.begin():
        s.execute(delete(ConversationWindow))
    when = utcnow() - timedelta(hours=hours_ago)
    record_inbound(store, InboundMessage("meta", "whatsapp", WHATSAPP, "wamid.OLD", "merci", when))


def write_templates(tmp_path: Path) -> Path:
    templates = tmp_path / "wa.json"
    templates.write_text(
        json.dumps(
            {
                "loan.reminder_j1": {
                    "name": "loan_due_tomorrow",
                    "language": {"fr": "fr", "en": "en_US"},
                    "parameters": [
                        "{{ recipient.name }}",
                        "{{ loan.item }}",
                        "{{ loan.due_time }}",
                    ],
                }
            }
        )
    )
    return templates


def test_whatsapp_template_is_sent_outside_the_window(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    close_window(store)
    s = settings(tmp_path, twilio_api, meta_graph, whatsapp_templates=write_templates(tmp_path))
    deliver(make(store, s), Channel.WHATSAPP)
    [req] = meta_graph.to(WHATSAPP.removeprefix("+"))
    body = req.json
    assert body["type"] == "template"
    assert body["template"]["name"] == "loan_due_tomorrow"
    assert body["template"]["language"] == {"code": "fr"}
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert params == ["Zoé Brûlé", "Caméra à rendre, Prêt n°4 ✨", "18:00"]


def test_whatsapp_inside_the_window_is_free_text_even_with_a_template(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    close_window(store, hours_ago=23)
    s = settings(tmp_path, twilio_api, meta_graph, whatsapp_templates=write_templates(tmp_path))
    deliver(make(store, s), Channel.WHATSAPP)
    [req] = meta_graph.to(WHATSAPP.removeprefix("+"))
    assert req.json["type"] == "text" and "Zoé Brûlé" in req.json["text"]["body"]


def test_whatsapp_outside_the_window_without_a_template_fails_once_saying_why(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    close_window(store)
    with pytest.raises(ApplicationError) as err:
        deliver(make(store, settings(tmp_path, twilio_api, meta_graph)), Channel.WHATSAPP)
    assert err.value.non_retryable
    r = row(store, "whatsapp")
    assert r.status == "permanently_failed" and r.attempts == 1
    assert "outside WhatsApp's 24-hour window" in r.error
    assert "no approved template is configured for loan.reminder_j1" in r.error
    assert meta_graph.to(WHATSAPP.removeprefix("+")) == []
    assert twilio_api.sent_to(WHATSAPP) == []


def test_messages_over_the_channel_limit_are_refused_not_cut(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    long_short = jinja2.DictLoader(
        {
            "fr/loan.reminder_j1.txt": "{% block subject %}Rappel{% endblock %}Corps",
            "fr/loan.reminder_j1.html": "<p>Corps</p>",
            "fr/loan.reminder_j1.short.txt": "{{ 'é' * 1601 }}",
        }
    )
    acts = make(store, settings(tmp_path, twilio_api, meta_graph), Renderer(loader=long_short))
    with pytest.raises(ApplicationError) as err:
        deliver(acts, Channel.SMS)
    assert err.value.non_retryable
    assert "1601 characters" in str(err.value) and "limit of 1600" in str(err.value)
    assert twilio_api.sent_to(PHONE) == []


def test_in_app_inbox_receives_each_notification_once(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    acts = make(store, settings(tmp_path, twilio_api, meta_graph))
    deliver(acts, Channel.IN_APP, req=request("loan.overdue"))
    deliver(acts, Channel.IN_APP, attempt=2, req=request("loan.overdue"))
    [note] = store.list_inbox("zoe")
    assert note.kind == "loan.overdue" and note.priority == "urgent"
    assert "Caméra à rendre" in note.body and note.read_at is None
    assert store.count_unread("zoe") == 1
    assert row(store, "in_app").provider == "database"


def test_in_app_gets_its_own_plain_text_while_sms_keeps_its_markers(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    acts = make(store, settings(tmp_path, twilio_api, meta_graph))
    deliver(acts, Channel.IN_APP)
    deliver(acts, Channel.SMS)
    [note] = store.list_inbox("zoe")
    # The title is the subject; the body the in-app template's text, and nothing else: no
    # WhatsApp *bold* headline, no greeting, no signature (the bell is inside the app).
    assert note.title == "Rappel urgent : « Caméra à rendre, Prêt n°4 ✨ » à rendre demain à 18:00"
    assert note.body == (
        "« Caméra à rendre, Prêt n°4 ✨ » est à rendre demain à 18:00. "
        "Merci de le rapporter à temps pour les personnes qui l'attendent."
    )
    # The SMS is the short text, as before.
    [sms] = twilio_api.sent_to(PHONE)
    assert sms["body"].startswith("🚨 *RAPPEL URGENT - Restitution DEMAIN !*\nZoé Brûlé, ")
    assert sms["body"].endswith("\n— Herald")


def test_email_carries_list_unsubscribe_when_configured(
    tmp_path: Path, store: Store, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    s = settings(
        tmp_path,
        twilio_api,
        meta_graph,
        email_provider="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        email_reply_to="pret@example.org",
        email_list_unsubscribe="https://prets.example.org/prefs/{subscriber_id}",
    )
    deliver(make(store, s), Channel.EMAIL)
    [mail] = smtp.handler.to("zoe@example.org")
    assert mail.message["List-Unsubscribe"] == "<https://prets.example.org/prefs/zoe>"
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.message["Reply-To"] == "pret@example.org"


def test_sms_fails_over_from_twilio_to_sns(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph, aws: Aws
) -> None:
    """Twilio refuses for its own reason (region not enabled): SNS delivers at once."""
    twilio_api.fail(PHONE, 21408, 400, "Permission to send an SMS has not been enabled")
    s = settings(tmp_path, twilio_api, meta_graph, sms_providers=["twilio", "sns"])
    result = deliver(make(store, s), Channel.SMS)
    assert result.provider == "sns"
    [sms] = aws.moto.sent_sms()
    assert sms.phone_number == PHONE and "Caméra à rendre, Prêt n°4 ✨" in sms.message
    r = row(store, "sms")
    assert r.provider == "sns" and r.provider_message_id == sms.message_id
    assert r.cost_estimate == pytest.approx(r.segments * s.sns_sms_segment_cost)
    assert [(e["provider"], e["code"]) for e in r.provider_errors] == [("twilio", "21408")]


def test_email_fails_over_from_smtp_to_ses(
    tmp_path: Path,
    store: Store,
    smtp: SmtpServer,
    twilio_api: FakeTwilio,
    meta_graph: FakeGraph,
    aws: Aws,
) -> None:
    """The relay refuses our sender (a provider fault): SES sends the same MIME message."""
    aws.moto.client("sesv2").create_email_identity(EmailIdentity="example.org")
    s = settings(
        tmp_path,
        twilio_api,
        meta_graph,
        email_providers=["smtp", "ses"],
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        email_from="Prêts <prets@example.org>",
    )
    smtp.handler.refuse_sender = "553 5.7.1 Sender address rejected: not owned by user"
    result = deliver(make(store, s), Channel.EMAIL)
    assert result.provider == "ses"
    [mail] = aws.moto.sent_emails()
    assert set(mail.destinations) == {"zoe@example.org"}  # moto lists Destination and To both
    assert "Caméra à rendre, Prêt n°4 ✨" in mail.part("plain")
    assert "<html" in mail.part("html")
    r = row(store, "email")
    assert [e["provider"] for e in r.provider_errors] == ["smtp"]
    assert "sender refused: 553" in r.provider_errors[0]["error"]


def test_ses_throttling_is_transient_with_its_retry_after(
    tmp_path: Path, store: Store, twilio_api: FakeTwilio, meta_graph: FakeGraph, aws: Aws
) -> None:
    aws.moto.client("sesv2").create_email_identity(EmailIdentity="example.org")
    aws.proxy.fail_next(
        ses_error(
            "TooManyRequestsException", 429, "Maximum sending rate exceeded.", retry_after="3"
        )
    )
    s = settings(
        tmp_path, twilio_api, meta_graph, email_provider="ses", email_from="prets@example.org"
    )
    with pytest.raises(ApplicationError) as err:
        deliver(make(store, s), Channel.EMAIL)
    assert not err.value.non_retryable
    assert (
        err.value.next_retry_delay is not None and err.value.next_retry_delay.total_seconds() == 3
    )
    assert deliver(make(store, s), Channel.EMAIL, attempt=2).provider == "ses"
    assert row(store, "email").attempts == 2

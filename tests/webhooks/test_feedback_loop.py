"""The feedback loop end to end: providers' signed webhooks against the running API server,
over a real desk (time-skipping Temporal, SQLite, workers), with SES on moto, Twilio and
Meta behind their local fakes. Each event type moves the right row; duplicates and
out-of-order events are harmless; a bad signature changes nothing; a bounce suppresses and
the next notices skip the address (a mandatory one falls back); STOP then START; WhatsApp
outside its window goes as the template, inside as text."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from herald.api.app import create_app
from herald.db import DeliveryEvent, Suppression
from herald.store import delivery_as_dict
from tests.api.conftest import bare_herald, serving
from tests.conftest import eventually
from tests.fakes.aws import (  # noqa: F401  (fixtures)
    Aws,
    aws_fixture,
    aws_proxy_fixture,
    moto_server_fixture,
)
from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraph,
    meta_graph_fixture,
)
from tests.fakes.signing import (
    SnsSigner,
    meta_message,
    meta_reengagement_error,
    meta_signature,
    meta_status,
    notification,
    ses_bounce,
    ses_complaint,
    ses_delivery,
    ses_delivery_delay,
    ses_reject,
    subscription_confirmation,
    twilio_inbound,
    twilio_signature,
    twilio_status,
)
from tests.fakes.twilio_api import (  # noqa: F401  (fixtures)
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    twilio_api_fixture,
    twilio_api_server_fixture,
)
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk, start

APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "herald-verify-token"
PHONE = "+33612345678"
WHATSAPP = "+33698765432"
EMAIL = "camille@example.org"


@dataclass
class CertHost:
    """Where the SNS signing certificate and the SubscribeURL live (SNS's host, locally)."""

    url: str
    signer: SnsSigner
    requests: list[str]

    @property
    def cert_url(self) -> str:
        return f"{self.url}/SimpleNotificationService-0000000000000000000000.pem"


@dataclass
class Loop:
    desk: Desk
    api: str
    certs: CertHost
    twilio: FakeTwilio
    graph: FakeGraph
    aws: Aws

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api, timeout=60)

    async def sns(self, envelope: dict[str, str], *, version: str = "1") -> httpx.Response:
        signed = self.certs.signer.sign(envelope, version, cert_url=self.certs.cert_url)
        return await self.post_sns(signed)

    async def post_sns(self, signed: dict[str, str]) -> httpx.Response:
        async with self.http() as http:
            return await http.post(
                "/v1/hooks/ses",
                content=json.dumps(signed),
                headers={"Content-Type": "text/plain; charset=UTF-8"},
            )

    async def twilio_post(
        self, path: str, params: dict[str, str], signature: str | None = "sign"
    ) -> httpx.Response:
        url = f"{self.api}{path}"
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = twilio_signature(AUTH_TOKEN, url, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with self.http() as http:
            return await http.post(path, data=params, headers=headers)

    async def meta_post(
        self, payload: dict[str, Any], *, secret: str = APP_SECRET
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        async with self.http() as http:
            return await http.post(
                "/v1/hooks/meta",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": meta_signature(secret, body),
                },
            )

    def row(self, subject_id: str, channel: str, kind: str | None = None) -> dict[str, Any]:
        rows = [
            r
            for r in self.desk.rows(subject_id)
            if r["channel"] == channel and (kind is None or r["kind"] == kind)
        ]
        assert rows, f"no {channel} row for {subject_id} {kind or ''}"
        return rows[-1]

    def status(self, subject_id: str, channel: str, kind: str | None = None) -> str | None:
        """The row's status, None while there is no row yet (for ``eventually``)."""
        rows = [
            r
            for r in self.desk.rows(subject_id)
            if r["channel"] == channel and (kind is None or r["kind"] == kind)
        ]
        return rows[-1]["status"] if rows else None

    def count(self, model: Any) -> int:
        with self.desk.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def cert_host() -> AsyncIterator[CertHost]:
    signer = SnsSigner()
    requests: list[str] = []

    async def pem(request: Request) -> Response:
        requests.append(request.url.path)
        return Response(signer.pem, media_type="application/x-pem-file")

    async def confirm(request: Request) -> Response:
        requests.append(f"{request.url.path}?{request.url.query}")
        return PlainTextResponse("<ConfirmSubscriptionResponse/>")

    app = Starlette(
        routes=[Route("/{name:path}.pem", pem), Route("/", confirm)],
    )
    async with serving(app) as url:  # type: ignore[arg-type]
        yield CertHost(url, signer, requests)


@pytest.fixture
async def loop(
    ts_env: WorkflowEnvironment,
    smtp: SmtpServer,
    tmp_path: Path,
    cert_host: CertHost,
    twilio_api: FakeTwilio,
    meta_graph: FakeGraph,
    aws: Aws,
) -> AsyncIterator[Loop]:
    aws.moto.client("sesv2").create_email_identity(EmailIdentity="example.org")
    templates = tmp_path / "wa.json"
    templates.write_text(
        json.dumps(
            {
                "staff.notice": {
                    "name": "staff_notice",
                    "language": {"fr": "fr", "en": "en_US"},
                    "parameters": ["{{ recipient.name }}"],
                }
            }
        )
    )
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        email_provider="ses",
        email_from="prets@example.org",
        sms_provider="twilio",
        whatsapp_provider="meta",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=SecretStr(AUTH_TOKEN),
        twilio_from="+33756781234",
        twilio_api_base_url=twilio_api.base_url,
        meta_access_token=SecretStr(TOKEN),
        meta_phone_number_id=PHONE_NUMBER_ID,
        meta_graph_url=meta_graph.url,
        meta_app_secret=SecretStr(APP_SECRET),
        meta_verify_token=SecretStr(VERIFY_TOKEN),
        whatsapp_templates=templates,
        sns_certificate_url_pattern=r"^http://127\.0\.0\.1:\d+/",
    ) as desk:
        h = desk.herald
        await h.upsert_subscriber(
            "camille", name="Camille Martin", email=EMAIL, phone=PHONE, whatsapp=WHATSAPP
        )
        for locale in ("fr", "en"):
            await h.set_template(
                "desk-alert",
                locale=locale,
                subject="Alerte",
                body="Bonjour {{ recipient.name }}, {{ message }}",
                short="Alerte : {{ message }}",
            )
        async with serving(create_app(h, ready_timeout=60)) as url:
            yield Loop(desk, url, cert_host, twilio_api, meta_graph, aws)


async def alert(loop: Loop, channel: str, message: str) -> dict[str, Any]:
    """A staff alert to Camille on one channel; its delivery row once settled."""
    request_id, _ = await loop.desk.herald.notify(
        "desk-alert",
        user_ids=["camille"],
        context={"message": message},
        channels=[channel],
        wait=True,
    )
    rows = [
        r
        for r in (delivery_as_dict(x) for x in loop.desk.store.list_deliveries())
        if r["channel"] == channel and request_id in r["workflow_id"]
    ]
    assert rows, f"no {channel} row for {request_id}"
    return rows[-1]


async def status_of(loop: Loop, delivery_id: int) -> str:
    rows = await loop.desk.herald.deliveries(subject_type="staff")
    return str(next(r["status"] for r in rows if r["id"] == delivery_id))


# ---------------------------------------------------------------- SES through SNS


async def test_sns_subscription_is_confirmed_on_the_host_of_its_certificate(loop: Loop) -> None:
    answer = await loop.sns(subscription_confirmation(subscribe_host=loop.certs.url))
    assert answer.status_code == 200, answer.text
    assert any(r.startswith("/?Action=ConfirmSubscription") for r in loop.certs.requests)
    # A SubscribeURL anywhere else is never called.
    loop.certs.requests.clear()
    answer = await loop.sns(subscription_confirmation())
    assert answer.status_code == 403
    assert not any("ConfirmSubscription" in r for r in loop.certs.requests)


async def test_a_permanent_bounce_suppresses_and_the_next_notices_skip_and_fall_back(
    loop: Loop,
) -> None:
    desk = loop.desk
    due = await start(desk, "L-bounce", 3)
    await eventually(lambda: loop.status("L-bounce", "email") == "sent", timeout=60)
    sent = loop.row("L-bounce", "email", "loan.created")
    assert sent["provider"] == "ses" and sent["provider_message_id"]
    bounce = ses_bounce([EMAIL])
    bounce["mail"]["messageId"] = sent["provider_message_id"]
    envelope = notification(bounce)

    answer = await loop.sns(envelope)
    assert answer.status_code == 200, answer.text
    assert answer.json() | {} == {
        "recorded": 1,
        "duplicates": 0,
        "unmatched": 0,
        "changed": 1,
        "suppressed": 1,
    }
    row = loop.row("L-bounce", "email", "loan.created")
    assert row["status"] == "bounced" and row["bounced_at"]
    assert "550 5.1.1 user unknown" in row["provider_reason"]
    assert [s["state"] for s in row["life"]] == ["planned", "sent", "bounced"]
    [entry] = await desk.herald.suppressions("email")
    assert entry["address"] == EMAIL and entry["created_by"] == "ses"
    assert entry["source"].startswith("ses:Bounce/Permanent")

    # SNS delivers the same notification again: stored once, nothing moves.
    again = await loop.sns(envelope)
    assert again.json()["duplicates"] == 1 and again.json()["changed"] == 0
    # A Delivery report arriving late keeps the bounce but records its own time.
    late = ses_delivery([EMAIL])
    late["mail"]["messageId"] = sent["provider_message_id"]
    assert (await loop.sns(notification(late))).json()["changed"] == 0
    row = loop.row("L-bounce", "email", "loan.created")
    assert row["status"] == "bounced" and row["delivered_at"]

    # J-1 (not mandatory) is logged suppressed; the overdue alert (mandatory) falls back
    # to SMS, saying why.
    await desk.env.sleep(due - await desk.now() + timedelta(minutes=20))
    await eventually(lambda: any(r["kind"] == "loan.overdue" for r in desk.rows("L-bounce")))
    j1 = loop.row("L-bounce", "email", "loan.reminder_j1")
    assert j1["status"] == "suppressed"
    assert f"{EMAIL} suppressed since" in j1["error"] and "ses:Bounce/Permanent" in j1["error"]
    assert loop.status("L-bounce", "sms", "loan.reminder_j1") == "skipped"  # no fallback
    overdue_email = loop.row("L-bounce", "email", "loan.overdue")
    assert overdue_email["status"] == "suppressed"
    await eventually(lambda: loop.status("L-bounce", "sms", "loan.overdue") == "sent")
    sms = loop.row("L-bounce", "sms", "loan.overdue")
    assert "email suppressed" in sms["note"]
    assert loop.twilio.sent_to(PHONE)
    await desk.cancel("L-bounce")


async def test_each_ses_event_type_moves_its_row(loop: Loop) -> None:
    desk = loop.desk
    rows = [await alert(loop, "email", f"message {n}") for n in range(4)]
    ids = [r["provider_message_id"] for r in rows]
    assert all(r["status"] == "sent" and r["provider"] == "ses" for r in rows)

    def about(event: dict[str, Any], index: int) -> dict[str, str]:
        event["mail"]["messageId"] = ids[index]
        return notification(event)

    assert (await loop.sns(about(ses_delivery([EMAIL]), 0), version="2")).status_code == 200
    assert (await loop.sns(about(ses_complaint([EMAIL]), 0))).status_code == 200
    assert (await loop.sns(about(ses_reject([EMAIL]), 1))).status_code == 200
    transient = ses_bounce([EMAIL], bounce_type="Transient", subtype="MailboxFull")
    assert (await loop.sns(about(transient, 2))).status_code == 200
    assert (await loop.sns(about(ses_delivery_delay([EMAIL]), 3))).status_code == 200

    now = {r["id"]: r for r in (await desk.herald.deliveries(subject_type="staff"))}
    assert now[rows[0]["id"]]["status"] == "complained"
    assert now[rows[0]["id"]]["delivered_at"] and now[rows[0]["id"]]["complained_at"]
    assert now[rows[1]["id"]]["status"] == "undelivered"
    assert "Bad content" in now[rows[1]["id"]]["provider_reason"]
    assert now[rows[2]["id"]]["status"] == "bounced"  # transient: told, not suppressed
    assert now[rows[3]["id"]]["status"] == "sent"  # a delay changes nothing
    # Only the complaint suppressed the address.
    [entry] = await desk.herald.suppressions("email")
    assert entry["source"].startswith("ses:Complaint")
    events = await desk.herald.delivery_events(rows[3]["id"])
    assert [e["provider_status"] for e in events] == ["DeliveryDelay/MailboxFull"]
    assert events[0]["state"] is None and "deliveryDelay" in events[0]["raw"]


async def test_bad_missing_and_stale_sns_signatures_change_nothing(loop: Loop) -> None:
    row = await alert(loop, "email", "hello")
    bounce = ses_bounce([EMAIL])
    bounce["mail"]["messageId"] = row["provider_message_id"]
    good = loop.certs.signer.sign(notification(bounce), cert_url=loop.certs.cert_url)
    before = loop.count(DeliveryEvent)

    tampered = {**good, "Message": good["Message"].replace("Permanent", "Transient")}
    unsigned = {k: v for k, v in good.items() if k != "Signature"}
    elsewhere = loop.certs.signer.sign(
        notification(bounce), cert_url="https://attacker.example/cert.pem"
    )
    stale = loop.certs.signer.sign(
        notification(bounce, timestamp=(await loop.desk.now()) - timedelta(hours=3)),
        cert_url=loop.certs.cert_url,
    )
    other = SnsSigner()  # a key whose certificate is not the one at the URL
    forged = other.sign(notification(bounce), cert_url=loop.certs.cert_url)
    fetched = len(loop.certs.requests)
    for bad in (tampered, unsigned, elsewhere, stale, forged):
        answer = await loop.post_sns(bad)
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert loop.count(DeliveryEvent) == before and loop.count(Suppression) == 0
    assert await status_of(loop, row["id"]) == "sent"
    # The attacker's URL was never fetched; the local certificate at most once (cached).
    assert len(loop.certs.requests) - fetched <= 1
    assert (await loop.post_sns(good)).status_code == 200


# ---------------------------------------------------------------- Twilio


async def test_twilio_status_callbacks_move_sms_rows_forward_only(loop: Loop) -> None:
    first = await alert(loop, "sms", "one")
    second = await alert(loop, "sms", "two")
    assert first["provider"] == "twilio"
    path = "/v1/hooks/twilio/status"

    def status(sid: str, word: str, **kw: Any) -> dict[str, str]:
        return twilio_status(word, sid=sid, to=PHONE, **kw)

    sid = first["provider_message_id"]
    assert (await loop.twilio_post(path, status(sid, "sent"))).status_code == 200
    assert (await loop.twilio_post(path, status(sid, "delivered"))).status_code == 200
    late = await loop.twilio_post(path, status(sid, "sent"))  # out of order
    dup = await loop.twilio_post(path, status(sid, "delivered"))  # Twilio retried
    assert late.json()["changed"] == 0 and dup.json()["duplicates"] == 1
    failed = status(second["provider_message_id"], "undelivered", error_code="30006")
    assert (await loop.twilio_post(path, failed)).status_code == 200

    rows = {r["id"]: r for r in await loop.desk.herald.deliveries(subject_type="staff")}
    assert rows[first["id"]]["status"] == "delivered" and rows[first["id"]]["delivered_at"]
    assert rows[second["id"]]["status"] == "undelivered"
    assert rows[second["id"]]["provider_reason"].startswith("30006")


async def test_bad_or_missing_twilio_signatures_change_nothing(loop: Loop) -> None:
    row = await alert(loop, "sms", "one")
    params = twilio_status("delivered", sid=row["provider_message_id"], to=PHONE)
    before = loop.count(DeliveryEvent)
    wrong = twilio_signature("not-the-token", f"{loop.api}/v1/hooks/twilio/status", params)
    other_url = twilio_signature(AUTH_TOKEN, "https://elsewhere.example/hook", params)
    for signature in (None, wrong, other_url, ""):
        answer = await loop.twilio_post("/v1/hooks/twilio/status", params, signature)
        assert answer.status_code == 403, answer.text
    tampered = {**params, "MessageStatus": "read"}
    signed_for_params = twilio_signature(AUTH_TOKEN, f"{loop.api}/v1/hooks/twilio/status", params)
    answer = await loop.twilio_post("/v1/hooks/twilio/status", tampered, signed_for_params)
    assert answer.status_code == 403
    assert loop.count(DeliveryEvent) == before
    assert await status_of(loop, row["id"]) == "sent"


async def test_stop_suppresses_sms_and_start_lifts_it(loop: Loop) -> None:
    path = "/v1/hooks/twilio/inbound"
    answer = await loop.twilio_post(path, twilio_inbound("Stop", sender=PHONE))
    assert answer.status_code == 200 and "<Response>" in answer.text
    [entry] = await loop.desk.herald.suppressions("sms")
    assert entry["address"] == PHONE and entry["created_by"] == "twilio"
    row = await alert(loop, "sms", "after stop")
    assert row["status"] == "suppressed" and "replied STOP" in row["error"]

    assert (await loop.twilio_post(path, twilio_inbound("START", sender=PHONE))).status_code == 200
    assert await loop.desk.herald.suppressions("sms") == []
    [lifted] = await loop.desk.herald.suppressions("sms", include_lifted=True)
    assert lifted["lifted_by"] == "twilio" and not lifted["active"]
    assert (await alert(loop, "sms", "after start"))["status"] == "sent"


async def test_inbound_whatsapp_through_twilio_opens_the_window(loop: Loop) -> None:
    before = await loop.desk.herald.whatsapp_window("camille")
    assert before["open"] is False and before["open_until"] is None
    answer = await loop.twilio_post(
        "/v1/hooks/twilio/inbound", twilio_inbound("bonjour", sender=WHATSAPP, whatsapp=True)
    )
    assert answer.status_code == 200
    window = await loop.desk.herald.whatsapp_window("camille")
    assert window["open"] is True and window["address"] == WHATSAPP
    # Nothing was suppressed by a WhatsApp message.
    assert await loop.desk.herald.suppressions() == []


# ---------------------------------------------------------------- Meta


async def test_meta_verification_answers_the_challenge_only_with_the_token(loop: Loop) -> None:
    async with loop.http() as http:
        good = await http.get(
            "/v1/hooks/meta",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
        )
        bad = await http.get(
            "/v1/hooks/meta",
            params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        )
    assert good.status_code == 200 and good.text == "1158201444"
    assert bad.status_code == 403


async def test_whatsapp_outside_the_window_is_the_template_and_inside_is_text(
    loop: Loop,
) -> None:
    number = WHATSAPP.removeprefix("+")
    outside = await alert(loop, "whatsapp", "first")
    assert outside["status"] == "sent" and outside["provider"] == "meta"
    [req] = loop.graph.to(number)
    assert req.json["type"] == "template" and req.json["template"]["name"] == "staff_notice"

    # Camille writes: Meta's webhook opens her window, stamped with Meta's own time.
    wrote = await loop.desk.now()
    answer = await loop.meta_post(meta_message("bonjour", sender=number, at=wrote))
    assert answer.status_code == 200 and answer.json()["inbound"] == 1
    window = await loop.desk.herald.whatsapp_window("camille")
    assert window["open"] is True
    assert window["open_until"].startswith((wrote + timedelta(hours=24)).strftime("%Y-%m-%dT%H"))

    inside = await alert(loop, "whatsapp", "second")
    assert inside["status"] == "sent"
    last = loop.graph.to(number)[-1]
    assert last.json["type"] == "text" and "second" in last.json["text"]["body"]


async def test_meta_statuses_never_move_a_row_backwards(loop: Loop) -> None:
    number = WHATSAPP.removeprefix("+")
    row = await alert(loop, "whatsapp", "statuses")
    wamid = row["provider_message_id"]
    now = await loop.desk.now()
    for word, at in (("read", now), ("delivered", now - timedelta(seconds=5)), ("sent", now)):
        answer = await loop.meta_post(meta_status(word, message_id=wamid, recipient=number, at=at))
        assert answer.status_code == 200, answer.text
    again = await loop.meta_post(meta_status("read", message_id=wamid, recipient=number, at=now))
    assert again.json()["duplicates"] == 1
    [settled] = [
        r for r in await loop.desk.herald.deliveries(subject_type="staff") if r["id"] == row["id"]
    ]
    assert settled["status"] == "read"
    assert [s["state"] for s in settled["life"]] == ["planned", "sent", "delivered", "read"]


async def test_a_failed_meta_status_records_its_error_and_a_bad_signature_nothing(
    loop: Loop,
) -> None:
    number = WHATSAPP.removeprefix("+")
    row = await alert(loop, "whatsapp", "fails")
    failed = meta_status(
        "failed",
        message_id=row["provider_message_id"],
        recipient=number,
        errors=[meta_reengagement_error()],
    )
    before = loop.count(DeliveryEvent)
    assert (await loop.meta_post(failed, secret="wrong-secret")).status_code == 403
    async with loop.http() as http:
        unsigned = await http.post("/v1/hooks/meta", content=json.dumps(failed).encode())
    assert unsigned.status_code == 403
    assert loop.count(DeliveryEvent) == before
    assert (await loop.meta_post(failed)).status_code == 200
    [settled] = [
        r for r in await loop.desk.herald.deliveries(subject_type="staff") if r["id"] == row["id"]
    ]
    assert settled["status"] == "undelivered"
    assert settled["provider_reason"].startswith("131047")


# ---------------------------------------------------------------- behind a proxy, hostile bodies


async def test_behind_a_proxy_twilio_signatures_are_checked_against_the_public_url(
    tmp_path: Path,
) -> None:
    herald = bare_herald(
        tmp_path,
        twilio_auth_token=SecretStr(AUTH_TOKEN),
        public_base_url="https://herald.example.org",
    )
    params = twilio_inbound("STOP", sender=PHONE)
    async with (
        serving(create_app(herald, ready_timeout=60)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        local = twilio_signature(AUTH_TOKEN, f"{url}/v1/hooks/twilio/inbound", params)
        refused = await http.post(
            "/v1/hooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": local}
        )
        assert refused.status_code == 403
        assert await herald.suppressions() == []
        public = twilio_signature(
            AUTH_TOKEN, "https://herald.example.org/v1/hooks/twilio/inbound", params
        )
        answer = await http.post(
            "/v1/hooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": public}
        )
        assert answer.status_code == 200
        assert [e["address"] for e in await herald.suppressions("sms")] == [PHONE]
    herald.close()


async def test_unconfigured_providers_say_which_setting_is_missing(tmp_path: Path) -> None:
    herald = bare_herald(tmp_path)
    async with (
        serving(create_app(herald, ready_timeout=60)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        twilio = await http.post("/v1/hooks/twilio/status", data={"MessageSid": "SM1"})
        meta = await http.post("/v1/hooks/meta", content=b"{}")
        challenge = await http.get("/v1/hooks/meta", params={"hub.challenge": "1"})
    assert twilio.status_code == 404 and "HERALD_TWILIO_AUTH_TOKEN" in twilio.json()["detail"]
    assert meta.status_code == 404 and "HERALD_META_APP_SECRET" in meta.json()["detail"]
    assert challenge.status_code == 404 and "HERALD_META_VERIFY_TOKEN" in challenge.json()["detail"]
    herald.close()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"Type": "Notification"}',
        b'{"Type": "Notification", "Message": "\\u0000"}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
    ids=["text", "list", "fields-missing", "nul", "not-utf8", "deep"],
)
async def test_hostile_sns_bodies_are_refused_and_change_nothing(loop: Loop, body: bytes) -> None:
    async with loop.http() as http:
        answer = await http.post("/v1/hooks/ses", content=body)
    assert answer.status_code in (400, 403), answer.text
    assert len(answer.json()["detail"]) <= 300
    assert loop.count(DeliveryEvent) == 0 and loop.count(Suppression) == 0


async def test_a_signed_but_hostile_meta_payload_is_refused_whole(loop: Loop) -> None:
    status = meta_status("delivered", message_id="wamid.X", recipient="33698765432")
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = "soon"
    answer = await loop.meta_post(status)
    assert answer.status_code == 400 and "timestamp" in answer.json()["detail"]
    huge = meta_message("x" * 2_000_000, sender="33698765432")
    too_big = await loop.meta_post(huge)
    assert too_big.status_code in (400, 413)
    assert loop.count(DeliveryEvent) == 0

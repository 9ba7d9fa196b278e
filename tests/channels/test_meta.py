"""WhatsApp over Meta's Cloud API (herald/channels/meta.py) against a fake Graph API."""

from __future__ import annotations

import email.utils
import threading
import time

import pytest
from pydantic import SecretStr

from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Receipt,
    SendError,
    TransientSendError,
    WhatsAppTemplate,
)
from herald.channels.meta import (
    MetaWhatsAppProvider,
    build_payload,
    classify_meta_error,
    parse_retry_after,
)
from herald.kinds import Channel
from herald.settings import load_settings
from tests.fakes.meta_graph import (
    PHONE_NUMBER_ID,
    TOKEN,
    VERSION,
    FakeGraph,
    error_body,
    meta_graph_fixture,  # noqa: F401  (the ``meta_graph`` fixture)
)
from tests.smtp_server import free_port

TO = "+33612345678"
DIGITS = "33612345678"
TEXT = "Bonjour Adélaïde, la Caméra 📷 Sony — à rendre demain à 10 h. Merci !"


def outgoing(to: str = TO, **kw: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "channel": Channel.WHATSAPP,
        "to": to,
        "subject": "",
        "text": TEXT,
        "html": None,
        "key": "loan-42:loan.reminder_j1@20261124T090000Z:whatsapp",
    }
    fields.update(kw)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def provider(graph: FakeGraph, **kw: object) -> MetaWhatsAppProvider:
    options: dict[str, object] = {
        "access_token": TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "graph_url": graph.url,
        "api_version": VERSION,
        "timeout": 5.0,
    }
    options.update(kw)
    return MetaWhatsAppProvider(**options)  # type: ignore[arg-type]


# ------------------------------------------------------------------ success


def test_free_text_is_sent_exactly_as_meta_expects(meta_graph: FakeGraph) -> None:
    receipt = provider(meta_graph).send(outgoing())

    [request] = meta_graph.requests
    assert request.method == "POST"
    assert request.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": DIGITS,
        "type": "text",
        "text": {"preview_url": False, "body": TEXT},
    }
    assert request.json["text"]["body"] == TEXT  # accents and emoji intact

    assert isinstance(receipt, Receipt)
    assert receipt.provider == "meta"
    assert receipt.message_id is not None
    assert receipt.message_id.startswith("wamid.")


def test_each_send_gets_its_own_wamid(meta_graph: FakeGraph) -> None:
    p = provider(meta_graph)
    first, second = p.send(outgoing()), p.send(outgoing())
    assert first.message_id != second.message_id
    assert len(meta_graph.to(DIGITS)) == 2


def test_template_with_parameters(meta_graph: FakeGraph) -> None:
    template = WhatsAppTemplate(
        name="loan_reminder", language="fr", parameters=("Adélaïde", "Caméra 📷 Sony", "10 h")
    )
    receipt = provider(meta_graph).send(outgoing(template=template))

    [request] = meta_graph.requests
    assert request.json == {
        "messaging_product": "whatsapp",
        "to": DIGITS,
        "type": "template",
        "template": {
            "name": "loan_reminder",
            "language": {"code": "fr"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Adélaïde"},
                        {"type": "text", "text": "Caméra 📷 Sony"},
                        {"type": "text", "text": "10 h"},
                    ],
                }
            ],
        },
    }
    assert receipt.message_id is not None and receipt.message_id.startswith("wamid.")


def test_template_without_parameters_has_no_components(meta_graph: FakeGraph) -> None:
    template = WhatsAppTemplate(name="hello_world", language="en_US")
    provider(meta_graph).send(outgoing(template=template))
    [request] = meta_graph.requests
    assert request.json["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


def test_build_payload_free_text_ignores_subject_and_html() -> None:
    payload = build_payload(outgoing(subject="ignored", html="<p>ignored</p>"), DIGITS)
    assert payload["text"] == {"preview_url": False, "body": TEXT}


def test_concurrent_sends_from_worker_threads(meta_graph: FakeGraph) -> None:
    p = provider(meta_graph)
    receipts: list[Receipt] = []
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            receipts.append(p.send(outgoing(to=f"+336000000{i:02d}")))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert len({r.message_id for r in receipts}) == 16
    assert sorted(str(r.to) for r in meta_graph.requests) == [
        f"336000000{i:02d}" for i in range(16)
    ]


# ------------------------------------------------------------------ permanent errors

PERMANENT = [
    # (code, http status, Meta's message, recipient fault)
    (131026, 400, "(#131026) Message Undeliverable.", True),
    (131047, 400, "(#131047) Re-engagement message", True),
    (131030, 400, "(#131030) Recipient phone number not in allowed list", True),
    (131021, 400, "(#131021) Recipient cannot be sender", True),
    (131051, 400, "(#131051) Unsupported message type", False),
    (132000, 400, "(#132000) Number of parameters does not match the expected number", False),
    (132001, 404, "(#132001) Template name does not exist in the translation", False),
    (100, 400, "(#100) Invalid parameter", False),
    (190, 401, "Error validating access token: Session has expired", False),
    (10, 403, "(#10) Application does not have permission for this action", False),
    (200, 403, "(#200) Permissions error", False),
]


@pytest.mark.parametrize(
    ("code", "status", "message", "recipient_fault"),
    PERMANENT,
    ids=[str(p[0]) for p in PERMANENT],
)
def test_permanent_error(
    meta_graph: FakeGraph, code: int, status: int, message: str, recipient_fault: bool
) -> None:
    meta_graph.fail(DIGITS, code, status, message)
    with pytest.raises(PermanentSendError) as err:
        provider(meta_graph).send(outgoing())
    assert err.value.recipient_fault is recipient_fault
    assert err.value.code == str(code)
    assert message in err.value.reason
    assert str(err.value) == err.value.reason
    assert len(meta_graph.to(DIGITS)) == 1  # sent once, never retried by the adapter


def test_re_engagement_reason_carries_meta_details(meta_graph: FakeGraph) -> None:
    details = (
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number."
    )
    meta_graph.fail(DIGITS, 131047, 400, "(#131047) Re-engagement message", details=details)
    with pytest.raises(PermanentSendError) as err:
        provider(meta_graph).send(outgoing())
    assert details in err.value.reason
    assert err.value.recipient_fault is True


def test_invalid_parameter_about_the_number_is_the_recipients_fault(meta_graph: FakeGraph) -> None:
    meta_graph.fail(
        DIGITS,
        100,
        400,
        "(#100) Invalid parameter",
        details="Invalid parameter 'to': not a WhatsApp phone number",
    )
    with pytest.raises(PermanentSendError) as err:
        provider(meta_graph).send(outgoing())
    assert err.value.recipient_fault is True
    assert err.value.code == "100"


def test_unknown_phone_number_id_is_a_provider_fault(meta_graph: FakeGraph) -> None:
    with pytest.raises(PermanentSendError) as err:
        provider(meta_graph, phone_number_id="999").send(outgoing())
    assert err.value.recipient_fault is False
    assert err.value.code == "100"
    assert "Object with ID '999' does not exist" in err.value.reason
    assert "subcode 33" in err.value.reason


def test_bad_token_is_a_190_provider_fault_without_the_token(meta_graph: FakeGraph) -> None:
    wrong = "EAAG-wrong-token-that-must-not-leak"
    p = provider(meta_graph, access_token=wrong)
    with pytest.raises(PermanentSendError) as err:
        p.send(outgoing())
    assert err.value.recipient_fault is False
    assert err.value.code == "190"
    assert "Invalid OAuth access token" in err.value.reason
    assert wrong not in err.value.reason
    assert wrong not in repr(p)
    [request] = meta_graph.requests
    assert request.headers["Authorization"] == f"Bearer {wrong}"


def test_unknown_code_is_a_provider_fault_with_code_and_message(meta_graph: FakeGraph) -> None:
    meta_graph.fail(DIGITS, 987654, 400, "(#987654) Something brand new")
    with pytest.raises(PermanentSendError) as err:
        provider(meta_graph).send(outgoing())
    assert err.value.recipient_fault is False
    assert err.value.code == "987654"
    assert "(#987654) Something brand new" in err.value.reason
    assert "987654" in err.value.reason


def test_number_that_is_not_a_phone_number_is_refused_before_any_request(
    meta_graph: FakeGraph,
) -> None:
    with pytest.raises(PermanentSendError) as err:
        provider(meta_graph).send(outgoing(to="ada@example.org"))
    assert err.value.recipient_fault is True
    assert meta_graph.requests == []


def test_malformed_payload_is_refused_by_the_fake_with_code_100(meta_graph: FakeGraph) -> None:
    # The fake validates like Meta: a text message without a body.
    with pytest.raises(PermanentSendError) as err:
        provider(meta_graph).send(outgoing(text=""))
    assert err.value.code == "100"
    assert err.value.recipient_fault is False
    assert "text['body']" in err.value.reason


def test_one_recipient_failing_does_not_affect_another(meta_graph: FakeGraph) -> None:
    meta_graph.fail("33699999999", 131026, 400, "(#131026) Message Undeliverable.")
    p = provider(meta_graph)
    with pytest.raises(PermanentSendError):
        p.send(outgoing(to="+33699999999"))
    assert p.send(outgoing()).message_id is not None


# ------------------------------------------------------------------ transient errors

TRANSIENT = [
    (130429, 429, "(#130429) Rate limit hit"),
    (131048, 400, "(#131048) Spam rate limit hit"),
    (131056, 400, "(#131056) (Business Account, Consumer Account) pair rate limit hit"),
    (80007, 400, "(#80007) Rate limit issues"),
    (4, 400, "(#4) Application request limit reached"),
    (17, 400, "(#17) User request limit reached"),
    (613, 400, "(#613) Calls to this api have exceeded the rate limit."),
    (131000, 500, "(#131000) Something went wrong"),
    (131016, 503, "(#131016) Service unavailable"),
    (1, 400, "An unknown error occurred"),
    (2, 503, "An unexpected error has occurred. Please retry your request later."),
]


@pytest.mark.parametrize(
    ("code", "status", "message"), TRANSIENT, ids=[str(t[0]) for t in TRANSIENT]
)
def test_transient_error_then_success(
    meta_graph: FakeGraph, code: int, status: int, message: str
) -> None:
    meta_graph.fail(DIGITS, code, status, message, times=2)
    p = provider(meta_graph)
    for _ in range(2):
        with pytest.raises(TransientSendError) as err:
            p.send(outgoing())
        assert err.value.code == str(code)
        assert message in err.value.reason
        assert err.value.retry_after is None
    receipt = p.send(outgoing())
    assert receipt.message_id is not None
    assert len(meta_graph.to(DIGITS)) == 3


@pytest.mark.parametrize(("header", "expected"), [("30", 30.0), ("2.5", 2.5)])
def test_retry_after_header_is_honoured(
    meta_graph: FakeGraph, header: str, expected: float
) -> None:
    meta_graph.fail(DIGITS, 130429, 429, "(#130429) Rate limit hit", times=1, retry_after=header)
    with pytest.raises(TransientSendError) as err:
        provider(meta_graph).send(outgoing())
    assert err.value.retry_after == expected


def test_retry_after_as_http_date(meta_graph: FakeGraph) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    meta_graph.fail(DIGITS, 80007, 400, "(#80007) Rate limit issues", times=1, retry_after=when)
    with pytest.raises(TransientSendError) as err:
        provider(meta_graph).send(outgoing())
    assert err.value.retry_after is not None
    assert 100 < err.value.retry_after <= 121


def test_5xx_without_a_graph_body_is_transient(meta_graph: FakeGraph) -> None:
    meta_graph.fail(DIGITS, 0, 502, times=1, body=b"<html>502 Bad Gateway</html>")
    p = provider(meta_graph)
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert "HTTP 502" in err.value.reason
    assert "Bad Gateway" not in err.value.reason  # bodies are never echoed
    assert err.value.code is None
    assert p.send(outgoing()).message_id is not None


def test_5xx_is_transient_whatever_the_code(meta_graph: FakeGraph) -> None:
    meta_graph.fail(DIGITS, 131026, 500, "(#131026) Message Undeliverable.", times=1)
    with pytest.raises(TransientSendError) as err:
        provider(meta_graph).send(outgoing())
    assert err.value.code == "131026"


# ------------------------------------------------------------------ network failures


def test_connection_refused_is_transient() -> None:
    port = free_port()  # nothing listens there
    p = MetaWhatsAppProvider(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        graph_url=f"http://127.0.0.1:{port}",
        timeout=2.0,
    )
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert "unreachable" in err.value.reason
    assert TOKEN not in err.value.reason


def test_server_that_never_answers_times_out_as_transient(silent_server: int) -> None:
    p = MetaWhatsAppProvider(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        graph_url=f"http://127.0.0.1:{silent_server}",
        timeout=0.5,
    )
    started = time.monotonic()
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert time.monotonic() - started < 3  # one attempt, no automatic retries
    assert "timed out" in err.value.reason


# ------------------------------------------------------------------ classification


def graph(code: int, message: str = "msg", details: str | None = None) -> dict[str, object]:
    return error_body(code, message, details=details)


@pytest.mark.parametrize(
    ("status", "payload", "expected", "recipient_fault"),
    [
        pytest.param(400, graph(131026), PermanentSendError, True, id="131026-undeliverable"),
        pytest.param(400, graph(131047), PermanentSendError, True, id="131047-re-engagement"),
        pytest.param(400, graph(131030), PermanentSendError, True, id="131030-not-allowed"),
        pytest.param(400, graph(131021), PermanentSendError, True, id="131021-self"),
        pytest.param(400, graph(131050), PermanentSendError, True, id="131050-opted-out"),
        pytest.param(400, graph(131051), PermanentSendError, False, id="131051-unsupported"),
        pytest.param(400, graph(132000), PermanentSendError, False, id="132000-param-count"),
        pytest.param(404, graph(132001), PermanentSendError, False, id="132001-no-template"),
        pytest.param(400, graph(132015), PermanentSendError, False, id="132015-paused"),
        pytest.param(401, graph(190), PermanentSendError, False, id="190-token"),
        pytest.param(403, graph(10), PermanentSendError, False, id="10-permission"),
        pytest.param(403, graph(200), PermanentSendError, False, id="200-permission"),
        pytest.param(400, graph(131042), PermanentSendError, False, id="131042-payment"),
        pytest.param(
            400,
            graph(100, "(#100) Invalid parameter", "Invalid parameter 'to'"),
            PermanentSendError,
            True,
            id="100-about-to",
        ),
        pytest.param(
            400,
            graph(100, "(#100) Invalid parameter", 'Param "to" is not a valid phone number'),
            PermanentSendError,
            True,
            id="100-about-to-quoted",
        ),
        pytest.param(
            400,
            graph(100, "(#100) Invalid parameter", "Param template['name'] is required"),
            PermanentSendError,
            False,
            id="100-about-template",
        ),
        pytest.param(
            400,
            graph(100, "(#100) The parameter messaging_product is required."),
            PermanentSendError,
            False,
            id="100-messaging-product",
        ),
        pytest.param(
            400,
            graph(131009, "(#131009) Parameter value is not valid", "Param text['body'] too long"),
            PermanentSendError,
            False,
            id="131009-body",
        ),
        pytest.param(400, graph(424242), PermanentSendError, False, id="unknown-code"),
        pytest.param(404, None, PermanentSendError, False, id="404-no-body"),
        pytest.param(401, {"unexpected": True}, PermanentSendError, False, id="401-odd-body"),
        pytest.param(400, graph(130429), TransientSendError, None, id="130429-rate"),
        pytest.param(400, graph(131048), TransientSendError, None, id="131048-spam-rate"),
        pytest.param(400, graph(131056), TransientSendError, None, id="131056-pair-rate"),
        pytest.param(400, graph(80007), TransientSendError, None, id="80007-rate"),
        pytest.param(400, graph(4), TransientSendError, None, id="4-app-limit"),
        pytest.param(400, graph(17), TransientSendError, None, id="17-user-limit"),
        pytest.param(400, graph(613), TransientSendError, None, id="613-call-limit"),
        pytest.param(500, graph(131000), TransientSendError, None, id="131000-went-wrong"),
        pytest.param(503, graph(131016), TransientSendError, None, id="131016-unavailable"),
        pytest.param(400, graph(1), TransientSendError, None, id="1-unknown"),
        pytest.param(400, graph(2), TransientSendError, None, id="2-service"),
        pytest.param(500, graph(190), TransientSendError, None, id="5xx-any-code"),
        pytest.param(502, None, TransientSendError, None, id="502-no-body"),
        pytest.param(503, "<html>", TransientSendError, None, id="503-html"),
        pytest.param(429, None, TransientSendError, None, id="429-no-body"),
        pytest.param(429, graph(999999), TransientSendError, None, id="429-unknown-code"),
    ],
)
def test_classify_meta_error(
    status: int, payload: object, expected: type[SendError], recipient_fault: bool | None
) -> None:
    classified = classify_meta_error(status, payload)
    assert type(classified) is expected
    if isinstance(classified, PermanentSendError):
        assert classified.recipient_fault is recipient_fault
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        assert classified.code == str(error["code"])
        assert f"Meta error {error['code']}" in classified.reason
    else:
        assert classified.code is None
        assert f"HTTP {status}" in classified.reason


def test_classify_keeps_retry_after_for_transient_errors() -> None:
    classified = classify_meta_error(400, graph(131056), retry_after=6.0)
    assert isinstance(classified, TransientSendError)
    assert classified.retry_after == 6.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("12", 12.0), ("-3", 0.0), ("soon", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# ------------------------------------------------------------------ settings and secrets


def test_from_settings(meta_graph: FakeGraph) -> None:
    settings = load_settings(
        meta_access_token=SecretStr(TOKEN),
        meta_phone_number_id=PHONE_NUMBER_ID,
        meta_graph_url=meta_graph.url + "/",
        meta_api_version=VERSION,
    )
    p = MetaWhatsAppProvider.from_settings(settings)
    assert p.url == f"{meta_graph.url}/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert p.send(outgoing()).provider == "meta"


def test_from_settings_without_credentials_fails_clearly() -> None:
    with pytest.raises(ValueError, match="HERALD_META_ACCESS_TOKEN"):
        MetaWhatsAppProvider.from_settings(load_settings(meta_phone_number_id=PHONE_NUMBER_ID))


def test_repr_never_shows_the_token() -> None:
    p = MetaWhatsAppProvider(access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID)
    assert TOKEN not in repr(p)
    assert PHONE_NUMBER_ID in repr(p)
    assert p.name == "meta"
    assert p.channels == frozenset({Channel.WHATSAPP})

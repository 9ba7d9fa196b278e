"""SMS and WhatsApp through Twilio (herald/channels/twilio.py), against a fake Messages API."""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import UTC, datetime

import pytest
import requests
from pydantic import SecretStr
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from herald.channels import build_provider
from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
    WhatsAppTemplate,
)
from herald.channels.twilio import TwilioProvider, classify_twilio_error, parse_retry_after
from herald.kinds import Channel
from herald.settings import load_settings
from tests.fakes.twilio_api import (  # noqa: F401  (fixtures)
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    twilio_api_fixture,
    twilio_api_server_fixture,
)
from tests.smtp_server import free_port

TO = "+33612345678"
SMS_FROM = "+33756781234"
WHATSAPP_FROM = "+14155238886"
SERVICE_SID = "MG" + "9" * 32
CONTENT_SID = "HX" + "a" * 32
TEXT = "Bonjour Adélaïde, la Caméra 📷 Sony est à rendre demain à 10 h — merci ! Ça ira ?"
SID_RE = re.compile(r"^SM[0-9a-f]{32}$")


def outgoing(
    channel: Channel = Channel.SMS, to: str = TO, text: str = TEXT, **kw: object
) -> OutgoingMessage:
    fields: dict[str, object] = {
        "channel": channel,
        "to": to,
        "subject": "",
        "text": text,
        "html": None,
        "key": f"loan-42:loan.reminder_j1@20261124T090000Z:{channel.value}",
    }
    fields.update(kw)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def provider(
    api: FakeTwilio | None,
    channel: Channel = Channel.SMS,
    *,
    sender: str | None = None,
    auth_token: str = AUTH_TOKEN,
    base_url: str | None = None,
    timeout: float = 5.0,
) -> TwilioProvider:
    return TwilioProvider(
        channel=channel,
        account_sid=ACCOUNT_SID,
        auth_token=auth_token,
        sender=sender or (WHATSAPP_FROM if channel == Channel.WHATSAPP else SMS_FROM),
        base_url=base_url or (api.base_url if api else "http://127.0.0.1:9"),
        timeout=timeout,
    )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ------------------------------------------------------------------ success


def test_sms_sends_to_from_and_body_with_basic_auth(twilio_api: FakeTwilio) -> None:
    receipt = provider(twilio_api).send(outgoing())

    [request] = twilio_api.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"] == basic(ACCOUNT_SID, AUTH_TOKEN)
    assert request.form == {"To": TO, "From": SMS_FROM, "Body": TEXT}
    assert request.form["Body"] == TEXT  # accents and emoji intact
    assert request.status == 201

    [created] = twilio_api.sent_to(TO)
    assert receipt.provider == "twilio"
    assert receipt.message_id == created["sid"]
    assert receipt.message_id is not None and SID_RE.match(receipt.message_id)
    assert created["body"] == TEXT
    assert created["num_segments"] == "2"  # UCS-2 (emoji, "ê"...), 82 code units


def test_sms_through_a_messaging_service(twilio_api: FakeTwilio) -> None:
    receipt = provider(twilio_api, sender=SERVICE_SID).send(outgoing())
    [request] = twilio_api.requests
    assert request.form == {"To": TO, "MessagingServiceSid": SERVICE_SID, "Body": TEXT}
    [created] = twilio_api.sent_to(TO)
    assert created["status"] == "accepted"
    assert receipt.message_id == created["sid"]


def test_whatsapp_free_text_uses_whatsapp_prefixes(twilio_api: FakeTwilio) -> None:
    receipt = provider(twilio_api, Channel.WHATSAPP).send(outgoing(Channel.WHATSAPP))
    [request] = twilio_api.requests
    assert request.form == {
        "To": f"whatsapp:{TO}",
        "From": f"whatsapp:{WHATSAPP_FROM}",
        "Body": TEXT,
    }
    assert request.headers["authorization"] == basic(ACCOUNT_SID, AUTH_TOKEN)
    assert receipt.message_id == twilio_api.sent_to(f"whatsapp:{TO}")[0]["sid"]


def test_whatsapp_address_already_prefixed_is_not_prefixed_twice(twilio_api: FakeTwilio) -> None:
    p = provider(twilio_api, Channel.WHATSAPP, sender=f"whatsapp:{WHATSAPP_FROM}")
    p.send(outgoing(Channel.WHATSAPP, to=f"whatsapp:{TO}"))
    [request] = twilio_api.requests
    assert request.form["To"] == f"whatsapp:{TO}"
    assert request.form["From"] == f"whatsapp:{WHATSAPP_FROM}"


def test_whatsapp_template_uses_the_content_api(twilio_api: FakeTwilio) -> None:
    template = WhatsAppTemplate(
        name="loan_reminder",
        language="fr",
        parameters=("Adélaïde", "Caméra 📷 Sony", "24/11 à 10 h"),
        twilio_content_sid=CONTENT_SID,
    )
    receipt = provider(twilio_api, Channel.WHATSAPP).send(
        outgoing(Channel.WHATSAPP, template=template)
    )
    [request] = twilio_api.requests
    assert "Body" not in request.form
    assert request.form["To"] == f"whatsapp:{TO}"
    assert request.form["From"] == f"whatsapp:{WHATSAPP_FROM}"
    assert request.form["ContentSid"] == CONTENT_SID
    assert json.loads(request.form["ContentVariables"]) == {
        "1": "Adélaïde",
        "2": "Caméra 📷 Sony",
        "3": "24/11 à 10 h",
    }
    assert receipt.message_id is not None and SID_RE.match(receipt.message_id)


def test_whatsapp_template_without_content_sid_lets_the_next_provider_try(
    twilio_api: FakeTwilio,
) -> None:
    template = WhatsAppTemplate(name="loan_reminder", language="fr", parameters=("Ada",))
    with pytest.raises(PermanentSendError) as err:
        provider(twilio_api, Channel.WHATSAPP).send(outgoing(Channel.WHATSAPP, template=template))
    assert err.value.recipient_fault is False
    assert "loan_reminder" in err.value.reason
    assert twilio_api.requests == []


def test_sms_ignores_a_whatsapp_template(twilio_api: FakeTwilio) -> None:
    template = WhatsAppTemplate(name="t", language="fr", twilio_content_sid=CONTENT_SID)
    provider(twilio_api).send(outgoing(template=template))
    [request] = twilio_api.requests
    assert request.form == {"To": TO, "From": SMS_FROM, "Body": TEXT}


def test_concurrent_sends_from_worker_threads(twilio_api: FakeTwilio) -> None:
    p = provider(twilio_api)
    numbers = [f"+3361234{i:04d}" for i in range(16)]
    sids: dict[str, str | None] = {}
    errors: list[BaseException] = []

    def send(number: str) -> None:
        try:
            sids[number] = p.send(outgoing(to=number)).message_id
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert sorted(sids) == sorted(numbers)
    assert len(set(sids.values())) == len(numbers)
    for number in numbers:
        assert [m["sid"] for m in twilio_api.sent_to(number)] == [sids[number]]


# ------------------------------------------------------------------ permanent errors


@pytest.mark.parametrize(
    ("code", "message", "recipient_fault"),
    [
        pytest.param(21211, "Invalid 'To' Phone Number: +3361234XXXX", True, id="21211-invalid-to"),
        pytest.param(21610, "Attempt to send to unsubscribed recipient", True, id="21610-stop"),
        pytest.param(21614, "'To' number is not a valid mobile number", True, id="21614-landline"),
        pytest.param(
            21408,
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +3361234XXXX",
            False,
            id="21408-region",
        ),
        pytest.param(21212, "Invalid 'From' Phone Number", False, id="21212-invalid-from"),
        pytest.param(
            21606,
            "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
            False,
            id="21606-from-not-capable",
        ),
        pytest.param(
            21617,
            "The concatenated message body exceeds the 1600 character limit",
            False,
            id="unknown-4xx",
        ),
    ],
)
def test_sms_permanent_errors(
    twilio_api: FakeTwilio, code: int, message: str, recipient_fault: bool
) -> None:
    twilio_api.fail(TO, code, 400, message)
    with pytest.raises(PermanentSendError) as err:
        provider(twilio_api).send(outgoing())
    assert err.value.recipient_fault is recipient_fault
    assert err.value.code == str(code)
    assert message in err.value.reason
    assert f"Twilio error {code} (HTTP 400)" in err.value.reason
    assert "Unable to create record" not in err.value.reason
    assert len(twilio_api.requests_to(TO)) == 1  # sent once, never retried by the SDK
    assert twilio_api.sent_to(TO) == []


def test_whatsapp_outside_the_24h_window_is_a_recipient_side_permanent_error(
    twilio_api: FakeTwilio,
) -> None:
    message = (
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template."
    )
    twilio_api.fail(TO, 63016, 400, message)
    with pytest.raises(PermanentSendError) as err:
        provider(twilio_api, Channel.WHATSAPP).send(outgoing(Channel.WHATSAPP))
    assert err.value.recipient_fault is True
    assert err.value.code == "63016"
    assert "outside the allowed window" in err.value.reason
    assert len(twilio_api.requests_to(TO)) == 1


def test_bad_credentials_are_a_provider_fault(twilio_api: FakeTwilio) -> None:
    with pytest.raises(PermanentSendError) as err:
        provider(twilio_api, auth_token="0" * 32).send(outgoing())
    assert err.value.recipient_fault is False
    assert err.value.code == "20003"
    assert "Authenticate" in err.value.reason
    assert "HTTP 401" in err.value.reason
    assert "0" * 32 not in err.value.reason
    [request] = twilio_api.requests
    assert request.status == 401
    assert twilio_api.messages == []


def test_refusal_of_one_number_does_not_affect_another(twilio_api: FakeTwilio) -> None:
    twilio_api.fail("+33600000000", 21211, 400, "Invalid 'To' Phone Number")
    p = provider(twilio_api)
    with pytest.raises(PermanentSendError):
        p.send(outgoing(to="+33600000000"))
    p.send(outgoing())
    assert len(twilio_api.sent_to(TO)) == 1


# ------------------------------------------------------------------ transient errors


@pytest.mark.parametrize(
    ("code", "status", "retry_after", "expected"),
    [
        pytest.param(20429, 429, "7", 7.0, id="20429-too-many-requests"),
        pytest.param(20429, 429, None, None, id="429-without-retry-after"),
        pytest.param(20500, 500, None, None, id="500"),
        pytest.param(20503, 503, "30", 30.0, id="503-retry-after"),
        pytest.param(None, 502, "2.5", 2.5, id="502-html-from-a-proxy"),
    ],
)
def test_transient_errors_then_success(
    twilio_api: FakeTwilio,
    code: int | None,
    status: int,
    retry_after: str | None,
    expected: float | None,
) -> None:
    twilio_api.fail(TO, code, status, times=2, retry_after=retry_after)
    p = provider(twilio_api)
    for _ in range(2):
        with pytest.raises(TransientSendError) as err:
            p.send(outgoing())
        assert err.value.retry_after == expected
        assert f"HTTP {status}" in err.value.reason
        assert err.value.code == (str(code) if code is not None else None)
    receipt = p.send(outgoing())
    [created] = twilio_api.sent_to(TO)
    assert receipt.message_id == created["sid"]
    assert len(twilio_api.requests_to(TO)) == 3  # one request per send: the SDK never retries


def test_whatsapp_throttling_honours_retry_after(twilio_api: FakeTwilio) -> None:
    twilio_api.fail(TO, 20429, 429, times=1, retry_after=12)
    p = provider(twilio_api, Channel.WHATSAPP)
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing(Channel.WHATSAPP))
    assert err.value.retry_after == 12.0
    assert err.value.code == "20429"
    p.send(outgoing(Channel.WHATSAPP))
    assert len(twilio_api.sent_to(TO)) == 1


def test_retry_after_of_an_earlier_error_does_not_leak(twilio_api: FakeTwilio) -> None:
    twilio_api.fail(TO, 20429, 429, times=1, retry_after=12)
    twilio_api.fail("+33699999999", 20500, 500, times=1)
    p = provider(twilio_api)
    with pytest.raises(TransientSendError):
        p.send(outgoing())
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing(to="+33699999999"))
    assert err.value.retry_after is None


def test_problem_details_response_is_classified(twilio_api: FakeTwilio) -> None:
    twilio_api.fail(TO, 21211, 400, "Invalid 'To' Phone Number", problem_details=True)
    with pytest.raises(PermanentSendError) as err:
        provider(twilio_api).send(outgoing())
    assert isinstance(err.value.__cause__, TwilioServiceException)
    assert err.value.recipient_fault is True
    assert err.value.code == "21211"
    assert "Invalid 'To' Phone Number" in err.value.reason


def test_connection_refused_is_transient() -> None:
    p = provider(None, base_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert "ConnectionError" in err.value.reason
    assert isinstance(err.value.__cause__, requests.ConnectionError)
    assert err.value.retry_after is None


def test_server_that_never_answers_times_out_as_transient(silent_server: int) -> None:
    p = provider(None, base_url=f"http://127.0.0.1:{silent_server}", timeout=0.5)
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert "Timeout" in err.value.reason


# ------------------------------------------------------------------ classification


def rest(status: int, code: int | None, msg: str = "Unable to create record: boom") -> Exception:
    return TwilioRestException(status, "/2010-04-01/Accounts/AC/Messages.json", msg, code, "POST")


def service(status: int, code: int, title: str = "boom") -> Exception:
    return TwilioServiceException(
        type_uri=f"https://www.twilio.com/docs/errors/{code}",
        title=title,
        status=status,
        code=code,
        detail="more detail",
        method="POST",
    )


CASES = [
    # (status, code, expected class, recipient fault)
    (400, 21211, PermanentSendError, True),
    (400, 21610, PermanentSendError, True),
    (400, 21614, PermanentSendError, True),
    (400, 63016, PermanentSendError, True),
    (401, 20003, PermanentSendError, False),
    (400, 21212, PermanentSendError, False),
    (400, 21606, PermanentSendError, False),
    (400, 21408, PermanentSendError, False),
    (400, 63007, PermanentSendError, False),
    (400, 21999, PermanentSendError, False),
    (403, 20403, PermanentSendError, False),
    (429, 20429, TransientSendError, None),
    (400, 20429, TransientSendError, None),
    (500, 20500, TransientSendError, None),
    (503, 20503, TransientSendError, None),
]


@pytest.mark.parametrize("make", [rest, service], ids=["rest", "service"])
@pytest.mark.parametrize(
    ("status", "code", "expected", "recipient_fault"),
    CASES,
    ids=[f"{s}-{c}" for s, c, _, _ in CASES],
)
def test_classify_twilio_error(
    make: object,
    status: int,
    code: int,
    expected: type[SendError],
    recipient_fault: bool | None,
) -> None:
    error = make(status, code)  # type: ignore[operator]
    classified = classify_twilio_error(error, retry_after=4.0)
    assert type(classified) is expected
    assert classified.code == str(code)
    assert f"Twilio error {code} (HTTP {status}): " in classified.reason
    assert "boom" in classified.reason
    if isinstance(classified, PermanentSendError):
        assert classified.recipient_fault is recipient_fault
    else:
        assert isinstance(classified, TransientSendError)
        assert classified.retry_after == 4.0


def test_service_exception_is_not_a_rest_exception_yet_both_are_classified() -> None:
    assert not issubclass(TwilioServiceException, TwilioRestException)
    reason = classify_twilio_error(service(400, 21211, "Invalid 'To' Phone Number")).reason
    assert reason == "Twilio error 21211 (HTTP 400): Invalid 'To' Phone Number: more detail"


@pytest.mark.parametrize("code", [None, 502], ids=["none", "status-as-code"])
def test_classify_rest_exception_without_a_twilio_code(code: int | None) -> None:
    # Without a JSON body, the SDK puts the HTTP status where the Twilio code goes.
    classified = classify_twilio_error(rest(502, code, "Unable to create record"))
    assert isinstance(classified, TransientSendError)
    assert classified.code is None
    assert classified.reason == "Twilio error (HTTP 502): Unable to create record"


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError("Connection refused"),
        requests.Timeout("read timed out"),
        requests.exceptions.SSLError("certificate verify failed"),
    ],
)
def test_classify_network_errors_as_transient(error: Exception) -> None:
    assert isinstance(classify_twilio_error(error), TransientSendError)


def test_classify_reraises_unrelated_errors() -> None:
    with pytest.raises(KeyError):
        classify_twilio_error(KeyError("bug"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        ("Tue, 24 Nov 2026 09:00:30 GMT", 30.0),
        ("Tue, 24 Nov 2026 08:59:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


# ------------------------------------------------------------------ settings and secrets


def test_from_settings_builds_one_provider_per_channel(twilio_api: FakeTwilio) -> None:
    settings = load_settings(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=SecretStr(AUTH_TOKEN),
        twilio_from=SERVICE_SID,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_api_base_url=twilio_api.base_url,
    )
    sms = build_provider("twilio", Channel.SMS, settings)
    whatsapp = build_provider("twilio", Channel.WHATSAPP, settings)
    assert isinstance(sms, TwilioProvider) and isinstance(whatsapp, TwilioProvider)
    sms.send(outgoing())
    whatsapp.send(outgoing(Channel.WHATSAPP))
    assert [r.form.get("MessagingServiceSid") for r in twilio_api.requests] == [SERVICE_SID, None]
    assert twilio_api.requests[1].form["From"] == f"whatsapp:{WHATSAPP_FROM}"


def test_from_settings_requires_credentials_and_sender() -> None:
    with pytest.raises(ValueError, match="ACCOUNT_SID"):
        TwilioProvider.from_settings(load_settings(twilio_from=SMS_FROM), Channel.SMS)
    settings = load_settings(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=SecretStr(AUTH_TOKEN),
        twilio_from=SMS_FROM,
    )
    TwilioProvider.from_settings(settings, Channel.SMS)
    with pytest.raises(ValueError, match="WHATSAPP_FROM"):
        TwilioProvider.from_settings(settings, Channel.WHATSAPP)


def test_repr_never_shows_the_auth_token() -> None:
    p = provider(None, base_url="https://api.twilio.com")
    assert AUTH_TOKEN not in repr(p)
    assert AUTH_TOKEN not in str(p)
    assert ACCOUNT_SID in repr(p)
    assert "sms" in repr(p)


def test_base_url_is_not_rewritten_by_twilio_region_or_edge(
    twilio_api: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    provider(twilio_api).send(outgoing())
    assert len(twilio_api.sent_to(TO)) == 1

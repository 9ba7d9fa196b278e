"""Twilio's status callbacks and incoming messages: signatures, statuses, opt-out words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from herald.webhooks.base import SignatureError, State
from herald.webhooks.twilio import opt_out_keyword, parse_inbound, parse_status, verify_twilio
from tests.fakes.signing import twilio_inbound, twilio_signature, twilio_status

TOKEN = "12345678901234567890123456789012"
URL = "https://herald.example.org/v1/hooks/twilio/status?delivery=42"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_good_signature_passes() -> None:
    params = twilio_status("delivered")
    verify_twilio(URL, params, twilio_signature(TOKEN, URL, params), TOKEN)


def test_the_signature_holds_with_or_without_the_default_port() -> None:
    params = twilio_status("delivered")
    with_port = "https://herald.example.org:443/v1/hooks/twilio/status?delivery=42"
    verify_twilio(URL, params, twilio_signature(TOKEN, with_port, params), TOKEN)


@pytest.mark.parametrize(
    "change",
    ["a parameter", "an added parameter", "the url", "the query", "the token", "the signature"],
)
def test_a_tampered_request_is_refused(change: str) -> None:
    params = twilio_status("delivered")
    signature = twilio_signature(TOKEN, URL, params)
    url, token = URL, TOKEN
    if change == "a parameter":
        params = {**params, "MessageStatus": "read"}
    elif change == "an added parameter":
        params = {**params, "ErrorCode": "30006"}
    elif change == "the url":
        url = "https://evil.example/v1/hooks/twilio/status?delivery=42"
    elif change == "the query":
        url = URL.replace("42", "43")
    elif change == "the token":
        token = "0" * 32
    else:
        signature = signature[:-2] + ("AA" if not signature.endswith("AA=") else "BB")
    with pytest.raises(SignatureError, match="does not match"):
        verify_twilio(url, params, signature, token)


@pytest.mark.parametrize("signature", [None, ""])
def test_a_missing_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify_twilio(URL, twilio_status("sent"), signature, TOKEN)


def test_without_a_token_nothing_is_accepted() -> None:
    params = twilio_status("sent")
    with pytest.raises(SignatureError, match="no Twilio auth token"):
        verify_twilio(URL, params, twilio_signature("", URL, params), "")


@pytest.mark.parametrize(
    "status, state",
    [
        ("queued", None),
        ("accepted", None),
        ("scheduled", None),
        ("sending", None),
        ("sent", None),
        ("delivered", State.DELIVERED),
        ("undelivered", State.UNDELIVERED),
        ("failed", State.UNDELIVERED),
        ("canceled", State.UNDELIVERED),
        ("read", State.READ),
    ],
)
def test_each_status(status: str, state: State | None) -> None:
    event = parse_status(twilio_status(status), now=NOW)
    assert event is not None
    assert event.provider == "twilio"
    assert event.channel == "sms"
    assert event.provider_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    assert event.event_key == f"SM1f0e8ae6ade43cb3c0ce4525424e404f:{status}"
    assert event.provider_status == status
    assert event.state == state
    assert event.occurred_at == NOW
    assert event.address == "+15558675310"
    assert event.reason is None
    assert event.suppress is False
    assert event.raw is not None and json.loads(event.raw)["MessageStatus"] == status


def test_a_whatsapp_status_names_the_number_without_its_prefix() -> None:
    event = parse_status(twilio_status("read", whatsapp=True), now=NOW)
    assert event is not None
    assert event.channel == "whatsapp"
    assert event.address == "+15558675310"
    assert event.state == State.READ


def test_the_error_code_and_message_are_the_reason() -> None:
    params = twilio_status(
        "undelivered", error_code="30006", error_message="Landline or unreachable carrier"
    )
    event = parse_status(params, now=NOW)
    assert event is not None
    assert event.reason == "30006: Landline or unreachable carrier"


def test_a_known_error_code_alone_is_explained() -> None:
    event = parse_status(twilio_status("failed", error_code="30006"), now=NOW)
    assert event is not None
    assert event.provider_status == "failed"
    assert event.state == State.UNDELIVERED
    assert event.reason == "30006: Landline or unreachable carrier"


def test_an_unknown_error_code_alone_is_the_reason() -> None:
    event = parse_status(twilio_status("failed", error_code="12345"), now=NOW)
    assert event is not None
    assert event.reason == "12345"


def test_the_legacy_names_are_read() -> None:
    params = twilio_status("delivered")
    del params["MessageSid"], params["MessageStatus"]
    event = parse_status(params, now=NOW)
    assert event is not None
    assert event.event_key == "SM1f0e8ae6ade43cb3c0ce4525424e404f:delivered"


def test_a_callback_naming_no_message_is_nothing() -> None:
    params = twilio_status("delivered")
    del params["MessageSid"], params["SmsSid"]
    assert parse_status(params, now=NOW) is None


def test_the_time_is_now_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    event = parse_status(twilio_status("sent"), now=NOW.astimezone(paris))
    assert event is not None
    assert event.occurred_at == NOW
    assert event.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"MessageStatus": "exploded", "SmsStatus": "exploded"}, "unknown"),
        ({"MessageStatus": "", "SmsStatus": ""}, "missing"),
        ({"MessageSid": "SM 1", "SmsSid": "SM 1"}, "not an identifier"),
        ({"MessageSid": "SM" + "0" * 300}, "longer than"),
        ({"MessageSid": "SM1\x00"}, "NUL"),
        ({"To": "+1555\x00"}, "NUL"),
        ({"To": "not a number"}, "not an E.164 number"),
        ({"To": "whatsapp:+1555 867"}, "not an E.164 number"),
        ({"To": "+" + "1" * 100}, "longer than"),
        ({"ErrorCode": "30006; DROP"}, "not a number"),
        ({"ErrorMessage": "x" * 5000}, "longer than"),
    ],
)
def test_a_hostile_callback_is_refused(changes: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_status({**twilio_status("delivered"), **changes}, now=NOW)


def test_a_non_string_parameter_is_refused() -> None:
    params: dict[str, object] = {**twilio_status("delivered"), "MessageStatus": ["delivered"]}
    with pytest.raises(ValueError, match="expected a string"):
        parse_status(params, now=NOW)  # type: ignore[arg-type]


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        parse_status(twilio_status("sent"), now=datetime(2026, 12, 6, 12, 0))


# ---------------------------------------------------------------- incoming messages


@pytest.mark.parametrize("whatsapp", [False, True])
def test_an_incoming_message(whatsapp: bool) -> None:
    message = parse_inbound(twilio_inbound("Bonjour", whatsapp=whatsapp), now=NOW)
    assert message.provider == "twilio"
    assert message.channel == ("whatsapp" if whatsapp else "sms")
    assert message.address == "+15558675310"
    assert message.message_id == "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
    assert message.text == "Bonjour"
    assert message.received_at == NOW
    assert message.raw is not None and json.loads(message.raw)["Body"] == "Bonjour"


def test_a_message_without_text_has_an_empty_one() -> None:
    params = twilio_inbound("")
    del params["Body"]
    assert parse_inbound(params, now=NOW).text == ""


def test_a_nul_in_the_text_is_escaped() -> None:
    message = parse_inbound(twilio_inbound("a\x00b"), now=NOW)
    assert message.text == "a\\x00b"


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"From": ""}, "From: missing"),
        ({"From": "alice"}, "not an E.164 number"),
        ({"From": "whatsapp:"}, "not an E.164 number"),
        ({"MessageSid": "", "SmsMessageSid": "", "SmsSid": ""}, "MessageSid: missing"),
        ({"MessageSid": "SM<script>"}, "not an identifier"),
        ({"Body": "x" * 5000}, "longer than"),
    ],
)
def test_a_hostile_incoming_message_is_refused(changes: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_inbound({**twilio_inbound("hi"), **changes}, now=NOW)


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop \n",
        "STOPALL",
        "unsubscribe",
        "CANCEL",
        "end",
        "Quit",
        "REVOKE",
        "optout",
    ],
)
def test_the_stop_words(text: str) -> None:
    assert opt_out_keyword(text) == "stop"


@pytest.mark.parametrize("text", ["START", "start", " Unstop", "YES", "yes\t"])
def test_the_start_words(text: str) -> None:
    assert opt_out_keyword(text) == "start"


@pytest.mark.parametrize(
    "text", ["stop please", "please stop", "STOP STOP", "S T O P", "no", "", "help", "stopp"]
)
def test_anything_else_is_no_keyword(text: str) -> None:
    assert opt_out_keyword(text) is None


@pytest.mark.parametrize(
    "text, opt_out_type, expected",
    [
        ("ARRET", "STOP", "stop"),
        ("arrêt", "stop", "stop"),
        ("REPRENDRE", "START", "start"),
        ("STOP", "HELP", None),
        ("hello", None, None),
        ("STOP", "", "stop"),
    ],
)
def test_twilios_opt_out_type_decides(
    text: str, opt_out_type: str | None, expected: str | None
) -> None:
    assert opt_out_keyword(text, opt_out_type) == expected


def test_an_incoming_stop_end_to_end() -> None:
    params = twilio_inbound("Stop", opt_out_type="STOP")
    message = parse_inbound(params, now=NOW)
    assert opt_out_keyword(message.text, params.get("OptOutType")) == "stop"

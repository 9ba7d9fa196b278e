"""WhatsApp Cloud API webhooks: the body's signature, the subscription check, the payload."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from herald.webhooks.base import RAW_LIMIT, SignatureError, State
from herald.webhooks.meta import challenge, parse_meta, verify_meta_signature
from tests.fakes.signing import (
    meta_message,
    meta_reengagement_error,
    meta_signature,
    meta_status,
)

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERIFY_TOKEN = "herald-verify-token"
AT = datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC)
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA"


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_a_good_signature_passes() -> None:
    body = body_of(meta_status("delivered"))
    verify_meta_signature(body, meta_signature(SECRET, body), SECRET)
    verify_meta_signature(
        body, meta_signature(SECRET, body).upper().replace("SHA256", "sha256"), SECRET
    )


@pytest.mark.parametrize(
    "header, reason",
    [
        (None, "missing"),
        ("", "missing"),
        ("sha1=" + "0" * 40, "not sha256=<hex>"),
        ("sha256=", "not sha256=<hex>"),
        ("sha256=" + "g" * 64, "not sha256=<hex>"),
        ("sha256=" + "0" * 63, "not sha256=<hex>"),
        ("sha256=" + "0" * 64, "does not match"),
    ],
)
def test_a_bad_header_is_refused(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_meta_signature(b"{}", header, SECRET)


def test_a_tampered_body_is_refused() -> None:
    body = body_of(meta_status("delivered"))
    header = meta_signature(SECRET, body)
    with pytest.raises(SignatureError, match="does not match"):
        verify_meta_signature(body.replace(b"delivered", b"read"), header, SECRET)
    with pytest.raises(SignatureError, match="does not match"):
        verify_meta_signature(body, meta_signature("another secret", body), SECRET)


def test_without_a_secret_nothing_is_accepted() -> None:
    with pytest.raises(SignatureError, match="no Meta app secret"):
        verify_meta_signature(b"{}", meta_signature("", b"{}"), "")


def hub(**changes: str) -> dict[str, str]:
    return {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
        **changes,
    }


def test_the_challenge_is_answered() -> None:
    assert challenge(hub(), VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize(
    "params, reason",
    [
        (hub(**{"hub.mode": "unsubscribe"}), "hub.mode"),
        ({k: v for k, v in hub().items() if k != "hub.mode"}, "hub.mode"),
        (hub(**{"hub.verify_token": "guess"}), "does not match"),
        ({k: v for k, v in hub().items() if k != "hub.verify_token"}, "does not match"),
        ({k: v for k, v in hub().items() if k != "hub.challenge"}, "hub.challenge"),
        (hub(**{"hub.challenge": ""}), "hub.challenge"),
        (hub(**{"hub.challenge": "<script>alert(1)</script>"}), "hub.challenge"),
        (hub(**{"hub.challenge": "1" * 129}), "hub.challenge"),
        (hub(**{"hub.challenge": "١٢٣"}), "hub.challenge"),
    ],
)
def test_a_bad_challenge_is_refused(params: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        challenge(params, VERIFY_TOKEN)


def test_without_a_verify_token_no_challenge_is_answered() -> None:
    with pytest.raises(SignatureError, match="no Meta verify token"):
        challenge(hub(**{"hub.verify_token": ""}), "")


# ---------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    "status, state",
    [("sent", None), ("delivered", State.DELIVERED), ("read", State.READ)],
)
def test_each_status(status: str, state: State | None) -> None:
    events, inbound = parse_meta(meta_status(status, at=AT))
    assert inbound == []
    (event,) = events
    assert event.provider == "meta"
    assert event.channel == "whatsapp"
    assert event.provider_message_id == WAMID
    assert event.event_key == f"{WAMID}:{status}"
    assert event.provider_status == status
    assert event.state == state
    assert event.occurred_at == AT
    assert event.occurred_at.tzinfo == UTC
    assert event.address == "+16505551234"
    assert event.reason is None
    assert event.suppress is False
    assert event.raw is not None and json.loads(event.raw)["status"] == status


def test_a_failed_status_says_why() -> None:
    payload = meta_status("failed", at=AT, errors=[meta_reengagement_error()])
    (event,), _ = parse_meta(payload)
    assert event.state == State.UNDELIVERED
    assert event.provider_status == "failed"
    assert event.reason == (
        "131047: Re-engagement message — Message failed to send because more than 24 hours "
        "have passed since the customer last replied to this number."
    )


def test_errors_without_details_or_title() -> None:
    errors = [
        {"code": 131026, "title": "Message undeliverable"},
        {"code": 131000, "message": "Something went wrong"},
    ]
    (event,), _ = parse_meta(meta_status("failed", errors=errors))
    assert event.reason == "131026: Message undeliverable; 131000: Something went wrong"


def test_a_failed_status_without_errors_has_no_reason() -> None:
    (event,), _ = parse_meta(meta_status("failed"))
    assert event.state == State.UNDELIVERED
    assert event.reason is None


def test_a_long_error_is_bounded() -> None:
    error = {**meta_reengagement_error(), "error_data": {"details": "x" * 3900}}
    (event,), _ = parse_meta(meta_status("failed", errors=[error]))
    assert event.reason is not None and len(event.reason) <= 1000


# ---------------------------------------------------------------- messages


def test_a_text_message() -> None:
    events, (message,) = parse_meta(meta_message("Bonjour", at=AT))
    assert events == []
    assert message.provider == "meta"
    assert message.channel == "whatsapp"
    assert message.address == "+16505551234"
    assert message.message_id.startswith("wamid.")
    assert message.text == "Bonjour"
    assert message.received_at == AT
    assert message.raw is not None and json.loads(message.raw)["text"]["body"] == "Bonjour"


def test_a_french_number_is_normalised() -> None:
    _, (message,) = parse_meta(meta_message("Salut", sender="33612345678"))
    assert message.address == "+33612345678"


def replace_message(payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    for key, value in fields.items():
        if value is KeyError:
            del message[key]
        else:
            message[key] = value
    return payload


@pytest.mark.parametrize(
    "fields, text",
    [
        (
            {"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}},
            "Stop promotions",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "1", "title": "Yes"},
                },
            },
            "Yes",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "2", "title": "Tomorrow"},
                },
            },
            "Tomorrow",
        ),
        ({"type": "image", "image": {"id": "1479537139650973", "mime_type": "image/jpeg"}}, ""),
    ],
)
def test_other_kinds_of_message(fields: dict[str, Any], text: str) -> None:
    payload = replace_message(meta_message("ignored"), text=KeyError, **fields)
    _, (message,) = parse_meta(payload)
    assert message.text == text


def test_statuses_and_messages_of_many_entries() -> None:
    first = meta_status("delivered")
    second = meta_message("hi")
    third = meta_status("read", message_id="wamid.other")
    payload = {
        "object": "whatsapp_business_account",
        "entry": [*first["entry"], *second["entry"], *third["entry"]],
    }
    events, inbound = parse_meta(payload)
    assert [e.event_key for e in events] == [f"{WAMID}:delivered", "wamid.other:read"]
    assert [m.text for m in inbound] == ["hi"]


def test_other_fields_are_skipped() -> None:
    payload = meta_status("delivered")
    payload["entry"][0]["changes"].insert(
        0, {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    )
    events, _ = parse_meta(payload)
    assert len(events) == 1


# ---------------------------------------------------------------- hostile input


def status_payload(**fields: Any) -> dict[str, Any]:
    payload = meta_status("delivered")
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    for key, value in fields.items():
        if value is KeyError:
            del status[key]
        else:
            status[key] = value
    return payload


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"status": "exploded"}, "status unknown"),
        ({"status": 1}, "expected a string"),
        ({"status": KeyError}, "status: missing"),
        ({"id": KeyError}, "id: missing"),
        ({"id": "wamid.\x00"}, "NUL"),
        ({"id": "wamid. space"}, "not an identifier"),
        ({"id": "w" * 300}, "longer than"),
        ({"timestamp": 1765000000}, "expected a string"),
        ({"timestamp": "yesterday"}, "not Unix seconds"),
        ({"timestamp": "-1765000000"}, "not Unix seconds"),
        ({"timestamp": "99999999999999"}, "not Unix seconds"),
        ({"timestamp": "1765000000.5"}, "not Unix seconds"),
        ({"recipient_id": "+16505551234"}, "not a phone number's digits"),
        ({"recipient_id": "1650555123\x00"}, "NUL"),
        ({"recipient_id": "99912345678"}, "not a phone number"),
        ({"errors": "boom"}, "expected an array"),
        ({"errors": ["boom"]}, "expected an object"),
        ({"errors": [{"code": "131047"}]}, "expected an integer"),
        ({"errors": [{"code": True}]}, "expected an integer"),
        ({"errors": [{"code": 1, "title": "x" * 5000}]}, "longer than"),
        ({"errors": [{"code": 1, "error_data": "details"}]}, "expected an object"),
    ],
)
def test_a_hostile_status_is_refused(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_meta(status_payload(**fields))


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"from": KeyError}, "from: missing"),
        ({"from": 16505551234}, "expected a string"),
        ({"from": "16505551234; DROP"}, "not a phone number's digits"),
        ({"type": KeyError}, "type: missing"),
        ({"text": KeyError}, "text: missing"),
        ({"text": {"body": 1}}, "expected a string"),
        ({"text": {"body": "x" * 5000}}, "longer than"),
        ({"text": {"body": "a\x00b"}}, "NUL"),
        ({"timestamp": "1765000000Z"}, "not Unix seconds"),
    ],
)
def test_a_hostile_message_is_refused(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_meta(replace_message(meta_message("hi"), **fields))


@pytest.mark.parametrize(
    "payload, reason",
    [
        ([], "expected an object"),
        ({}, "object is not"),
        ({"object": "page", "entry": []}, "object is not"),
        ({"object": "whatsapp_business_account"}, "entry: missing"),
        ({"object": "whatsapp_business_account", "entry": {}}, "expected an array"),
        ({"object": "whatsapp_business_account", "entry": [1]}, "expected an object"),
        (
            {
                "object": "whatsapp_business_account",
                "entry": [{"changes": [{"field": "messages"}]}],
            },
            "value: missing",
        ),
        (
            {
                "object": "whatsapp_business_account",
                "entry": [{"changes": [{"field": "messages", "value": {"statuses": {}}}]}],
            },
            "expected an array",
        ),
        ({"object": "whatsapp_business_account", "entry": [{}] * 1001}, "more than 1000"),
    ],
)
def test_a_malformed_payload_is_refused(payload: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_meta(payload)


def test_the_raw_copy_is_bounded() -> None:
    payload = status_payload(errors=[{"code": 1, "title": "x" * 3999}] * 3)
    (event,), _ = parse_meta(payload)
    assert event.raw is not None and len(event.raw) <= RAW_LIMIT

"""SES notifications (both formats) into provider events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herald.webhooks.base import RAW_LIMIT, State
from herald.webhooks.ses import parse_ses
from tests.fakes.signing import (
    SES_MESSAGE_ID,
    ses_bounce,
    ses_complaint,
    ses_delivery,
    ses_delivery_delay,
    ses_reject,
)

EVENT_ID = "8e6d4c2b-1a3f-5e7d-9c0b-2a4f6e8d0c1b"
AT = datetime(2026, 12, 6, 14, 59, 38, 237000, tzinfo=UTC)
BOTH = pytest.mark.parametrize("event_publishing", [False, True], ids=["identity", "event"])


@BOTH
def test_a_permanent_bounce_suppresses_each_recipient(event_publishing: bool) -> None:
    message = ses_bounce(
        ["a@example.org", "b@example.org"], at=AT, event_publishing=event_publishing
    )
    events = parse_ses(json.dumps(message), event_id=EVENT_ID)
    assert [e.address for e in events] == ["a@example.org", "b@example.org"]
    first = events[0]
    assert first.provider == "ses"
    assert first.channel == "email"
    assert first.provider_message_id == SES_MESSAGE_ID
    assert first.event_key == f"{EVENT_ID}:a@example.org"
    assert events[1].event_key == f"{EVENT_ID}:b@example.org"
    assert first.provider_status == "Bounce/Permanent/General"
    assert first.state == State.BOUNCED
    assert first.suppress is True
    assert first.occurred_at == AT
    assert first.reason == "Permanent/General: smtp; 550 5.1.1 user unknown"
    assert first.raw is not None and json.loads(first.raw) == message


@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_a_transient_bounce_suppresses_nothing(bounce_type: str) -> None:
    message = ses_bounce(
        ["a@example.org"], bounce_type=bounce_type, subtype="MailboxFull", diagnostic=None, at=AT
    )
    (event,) = parse_ses(message, event_id=EVENT_ID)
    assert event.state == State.BOUNCED
    assert event.suppress is False
    assert event.provider_status == f"Bounce/{bounce_type}/MailboxFull"
    assert event.reason == f"{bounce_type}/MailboxFull"


@BOTH
def test_a_complaint_suppresses_each_complaining_recipient(event_publishing: bool) -> None:
    message = ses_complaint(["a@example.org"], at=AT, event_publishing=event_publishing)
    (event,) = parse_ses(json.dumps(message), event_id=EVENT_ID)
    assert event.state == State.COMPLAINED
    assert event.suppress is True
    assert event.address == "a@example.org"
    assert event.reason == "abuse"
    assert event.provider_status == "Complaint/abuse"
    assert event.occurred_at == AT


def test_a_complaint_without_feedback_type_has_no_reason() -> None:
    (event,) = parse_ses(ses_complaint(["a@example.org"], feedback_type=None), event_id=EVENT_ID)
    assert event.reason is None
    assert event.provider_status == "Complaint"


@BOTH
def test_a_delivery_is_one_event_per_recipient(event_publishing: bool) -> None:
    message = ses_delivery(
        ["a@example.org", "b@example.org"], at=AT, event_publishing=event_publishing
    )
    events = parse_ses(json.dumps(message), event_id=EVENT_ID)
    assert [(e.address, e.state, e.suppress) for e in events] == [
        ("a@example.org", State.DELIVERED, False),
        ("b@example.org", State.DELIVERED, False),
    ]
    assert events[0].occurred_at == AT
    assert events[0].provider_status == "Delivery"
    assert events[0].reason is None


def test_a_reject_is_undelivered_for_each_destination() -> None:
    (event,) = parse_ses(ses_reject(["a@example.org"], sent=AT), event_id=EVENT_ID)
    assert event.state == State.UNDELIVERED
    assert event.suppress is False
    assert event.reason == "Bad content"
    assert event.provider_status == "Reject"
    assert event.occurred_at == AT  # a reject has no time of its own: the mail's


def test_a_delivery_delay_changes_nothing() -> None:
    (event,) = parse_ses(ses_delivery_delay(["a@example.org"], at=AT), event_id=EVENT_ID)
    assert event.state is None
    assert event.suppress is False
    assert event.reason == "MailboxFull: 452 4.2.2 Mailbox full"
    assert event.provider_status == "DeliveryDelay/MailboxFull"
    assert event.occurred_at == AT


@pytest.mark.parametrize("kind", ["Send", "Open", "Click", "Rendering Failure", "Subscription"])
def test_events_that_say_nothing_about_arrival_are_ignored(kind: str) -> None:
    message = {"eventType": kind, "mail": {"messageId": "x"}}
    assert parse_ses(message, event_id=EVENT_ID) == []


def test_the_subscription_notice_of_ses_is_ignored() -> None:
    message = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have..."}
    assert parse_ses(json.dumps(message), event_id=EVENT_ID) == []


def test_a_recipient_named_twice_is_one_event() -> None:
    events = parse_ses(ses_delivery(["a@example.org", "a@example.org"]), event_id=EVENT_ID)
    assert len(events) == 1


def test_a_recipient_with_a_display_name_is_reduced_to_its_address() -> None:
    message = ses_bounce(["Ann <a@example.org>"])
    (event,) = parse_ses(message, event_id=EVENT_ID)
    assert event.address == "a@example.org"
    assert event.event_key == f"{EVENT_ID}:a@example.org"


def test_the_mail_time_stands_in_for_a_missing_event_time() -> None:
    message = ses_delivery(["a@example.org"], at=AT)
    del message["delivery"]["timestamp"]
    (event,) = parse_ses(message, event_id=EVENT_ID)
    assert event.occurred_at == AT - timedelta(seconds=1)


def test_times_with_an_offset_come_out_in_utc() -> None:
    message = ses_delivery(["a@example.org"])
    message["delivery"]["timestamp"] = "2026-12-06T15:59:38.237+01:00"
    (event,) = parse_ses(message, event_id=EVENT_ID)
    assert event.occurred_at == AT
    assert event.occurred_at.tzinfo == UTC
    assert event.occurred_at.utcoffset() == timedelta(0)


def test_a_long_diagnostic_is_bounded_and_the_raw_copy_too() -> None:
    message = ses_bounce(["a@example.org"], diagnostic="x" * 3000)
    (event,) = parse_ses(message, event_id=EVENT_ID)
    assert event.reason is not None and len(event.reason) <= 1000
    assert "more characters" in event.reason
    big = ses_delivery([f"user{i}@example.org" for i in range(300)])
    events = parse_ses(big, event_id=EVENT_ID)
    assert len(events) == 300
    assert all(e.raw is not None and len(e.raw) <= RAW_LIMIT for e in events)


# ---------------------------------------------------------------- hostile input


def bounce() -> dict[str, Any]:
    return ses_bounce(["a@example.org"])


def mutate(path: str, value: object) -> dict[str, Any]:
    message = bounce()
    *parents, last = path.split(".")
    target: Any = message
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return message


@pytest.mark.parametrize(
    "path, value, reason",
    [
        ("notificationType", 42, "expected a string"),
        ("notificationType", "Unheard", "unknown type"),
        ("notificationType", KeyError, "without notificationType or eventType"),
        ("mail", KeyError, "mail: missing"),
        ("mail", "text", "expected an object"),
        ("mail.messageId", KeyError, "messageId: missing"),
        ("mail.messageId", 12, "expected a string"),
        ("mail.messageId", "has spaces in it", "not an identifier"),
        ("mail.messageId", "x" * 300, "longer than"),
        ("mail.timestamp", "yesterday", "not an ISO 8601 time"),
        ("mail.timestamp", "2026-12-06T14:59:38", "not an ISO 8601 time"),
        ("mail.timestamp", "2026-02-30T14:59:38Z", "not a valid time"),
        ("bounce", KeyError, "bounce: missing"),
        ("bounce.bounceType", "Soft", "bounceType unknown"),
        ("bounce.bounceType", None, "bounceType: missing"),
        ("bounce.bounceSubType", ["General"], "expected a string"),
        ("bounce.bouncedRecipients", KeyError, "bouncedRecipients: missing"),
        ("bounce.bouncedRecipients", [], "no recipient"),
        ("bounce.bouncedRecipients", "a@example.org", "expected an array"),
        ("bounce.bouncedRecipients", ["a@example.org"], "expected an object"),
        ("bounce.bouncedRecipients", [{"emailAddress": "a\x00@example.org"}], "NUL"),
        ("bounce.bouncedRecipients", [{"emailAddress": "a@example.org\r\nBcc: b"}], "control"),
        ("bounce.bouncedRecipients", [{"emailAddress": "nobody"}], "not an e-mail address"),
        ("bounce.bouncedRecipients", [{"emailAddress": "x" * 400}], "longer than"),
        ("bounce.bouncedRecipients", [{"emailAddress": "a@b"}] * 1001, "more than 1000"),
        ("bounce.bouncedRecipients.0.diagnosticCode", 550, "expected a string"),
        ("bounce.bouncedRecipients.0.diagnosticCode", "x" * 5000, "longer than"),
        ("bounce.timestamp", 1765000000, "expected a string"),
        ("bounce.timestamp", "2026-12-06T14:59:38.237Z\x00", "NUL"),
    ],
)
def test_a_malformed_notification_is_refused(path: str, value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_ses(mutate(path, value), event_id=EVENT_ID)


def test_both_type_fields_must_agree() -> None:
    message = {**bounce(), "eventType": "Delivery"}
    with pytest.raises(ValueError, match="differ"):
        parse_ses(message, event_id=EVENT_ID)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("not json", "not JSON"),
        ("[1]", "expected a JSON object"),
        ('"Bounce"', "expected a JSON object"),
        ('{"notificationType": "Bounce\\u0000"}', "NUL"),
        ('{"notificationType": "Bounce"}\x00', "NUL"),
        ("x" * (256 * 1024 + 1), "longer than"),
        ('{"a": ' * 40_000, "nested too deeply"),
    ],
)
def test_a_message_that_is_not_a_notification_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_ses(text, event_id=EVENT_ID)


def test_other_kinds_of_message_are_refused() -> None:
    with pytest.raises(ValueError, match="expected text or an object"):
        parse_ses(42, event_id=EVENT_ID)  # type: ignore[arg-type]


@pytest.mark.parametrize("event_id", ["", "has space", "x" * 300, "a\x00b"])
def test_a_bad_event_id_is_refused(event_id: str) -> None:
    with pytest.raises(ValueError):
        parse_ses(bounce(), event_id=event_id)


def test_the_delivery_recipients_are_strings() -> None:
    message = ses_delivery(["a@example.org"])
    message["delivery"]["recipients"] = [{"emailAddress": "a@example.org"}]
    with pytest.raises(ValueError, match="expected a string"):
        parse_ses(message, event_id=EVENT_ID)

"""Webhook payloads signed the way the providers sign them, with real keys.

- SNS: :class:`SnsSigner` makes a local CA and a signing certificate it issued (RSA 2048),
  and signs envelopes with AWS's canonical string (``SignatureVersion`` 1: SHA-1, 2:
  SHA-256). The builders below make SES notifications as SES publishes them (identity
  notifications and configuration-set events) and SNS envelopes around them.
- Twilio: :func:`twilio_signature`, the SDK's own ``compute_signature``.
- Meta: :func:`meta_signature`, the ``X-Hub-Signature-256`` header, and builders for the
  statuses and messages payloads of Meta's documented examples.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from twilio.request_validator import RequestValidator

from herald.webhooks.sns import canonical_string

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:herald-ses"
SES_MESSAGE_ID = "0100018c2a8f1c3e-5a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-000000"


def iso(when: datetime) -> str:
    """A time as AWS writes it: ``2026-12-06T21:39:04.123Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class SnsSigner:
    """A CA, and a certificate it issued whose key signs SNS messages."""

    def __init__(
        self,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> None:
        now = datetime.now(UTC)
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ca_certificate = (
            x509.CertificateBuilder()
            .subject_name(_name("Herald Test Root CA"))
            .issuer_name(_name("Herald Test Root CA"))
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name("sns.amazonaws.com"))
            .issuer_name(self.ca_certificate.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: dict[str, str], version: str = "1", *, cert_url: str) -> dict[str, str]:
        """``message`` with ``Signature``, ``SignatureVersion`` and ``SigningCertURL``."""
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(canonical_string(message), padding.PKCS1v15(), algorithm)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode("ascii"),
            "SigningCertURL": cert_url,
        }


# ---------------------------------------------------------------- SNS envelopes


def notification(
    message: str | dict[str, Any],
    *,
    topic_arn: str = TOPIC_ARN,
    timestamp: datetime | None = None,
    subject: str | None = None,
    message_id: str | None = None,
) -> dict[str, str]:
    """An unsigned SNS ``Notification`` carrying ``message`` (a dict is sent as JSON)."""
    envelope = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": iso(timestamp or datetime.now(UTC)),
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe"
        f"&SubscriptionArn={topic_arn}:0b2c3d4e",
    }
    if subject is not None:
        envelope["Subject"] = subject
    return envelope


def subscription_confirmation(
    *,
    topic_arn: str = TOPIC_ARN,
    timestamp: datetime | None = None,
    subscribe_host: str = "https://sns.eu-west-1.amazonaws.com",
    kind: str = "SubscriptionConfirmation",
) -> dict[str, str]:
    """An unsigned ``SubscriptionConfirmation`` (or ``UnsubscribeConfirmation``)."""
    token = "2336412f37fb687f5d51e6e2425dacbba8e2e8e5f2b9d1d6f1a0c2e4" * 2
    return {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": f"{subscribe_host}/?Action=ConfirmSubscription&TopicArn={topic_arn}"
        f"&Token={token}",
        "Timestamp": iso(timestamp or datetime.now(UTC)),
    }


# ---------------------------------------------------------------- SES notifications


def _mail(sent: datetime, destination: list[str]) -> dict[str, Any]:
    return {
        "timestamp": iso(sent),
        "messageId": SES_MESSAGE_ID,
        "source": "Herald <herald@example.org>",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/example.org",
        "sendingAccountId": "123456789012",
        "destination": destination,
        "headersTruncated": False,
        "commonHeaders": {"from": ["Herald <herald@example.org>"], "subject": "Reminder"},
    }


def ses(
    kind: str,
    body: dict[str, Any],
    *,
    event_publishing: bool,
    sent: datetime,
    destination: list[str],
) -> dict[str, Any]:
    key = "eventType" if event_publishing else "notificationType"
    return {key: kind, "mail": _mail(sent, destination), **body}


def ses_bounce(
    recipients: list[str],
    *,
    bounce_type: str = "Permanent",
    subtype: str = "General",
    diagnostic: str | None = "smtp; 550 5.1.1 user unknown",
    at: datetime | None = None,
    event_publishing: bool = False,
) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    bounced = []
    for address in recipients:
        entry: dict[str, Any] = {"emailAddress": address, "action": "failed", "status": "5.1.1"}
        if diagnostic is not None:
            entry["diagnosticCode"] = diagnostic
        bounced.append(entry)
    bounce = {
        "bounceType": bounce_type,
        "bounceSubType": subtype,
        "bouncedRecipients": bounced,
        "timestamp": iso(at),
        "feedbackId": "0100018c2a8f-bounce-000000",
        "reportingMTA": "dsn; a1-2.smtp-out.eu-west-1.amazonses.com",
    }
    return ses(
        "Bounce",
        {"bounce": bounce},
        event_publishing=event_publishing,
        sent=at - timedelta(seconds=5),
        destination=recipients,
    )


def ses_complaint(
    recipients: list[str],
    *,
    feedback_type: str | None = "abuse",
    at: datetime | None = None,
    event_publishing: bool = False,
) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    complaint: dict[str, Any] = {
        "complainedRecipients": [{"emailAddress": a} for a in recipients],
        "timestamp": iso(at),
        "feedbackId": "0100018c2a8f-complaint-000000",
        "userAgent": "ExampleCorp Feedback Loop (V0.01)",
        "arrivalDate": iso(at),
    }
    if feedback_type is not None:
        complaint["complaintFeedbackType"] = feedback_type
    return ses(
        "Complaint",
        {"complaint": complaint},
        event_publishing=event_publishing,
        sent=at - timedelta(hours=1),
        destination=recipients,
    )


def ses_delivery(
    recipients: list[str], *, at: datetime | None = None, event_publishing: bool = False
) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    delivery = {
        "timestamp": iso(at),
        "processingTimeMillis": 546,
        "recipients": recipients,
        "smtpResponse": "250 ok:  Message 64111812 accepted",
        "reportingMTA": "a8-70.smtp-out.amazonses.com",
        "remoteMtaIp": "127.0.2.0",
    }
    return ses(
        "Delivery",
        {"delivery": delivery},
        event_publishing=event_publishing,
        sent=at - timedelta(seconds=1),
        destination=recipients,
    )


def ses_reject(
    recipients: list[str], *, sent: datetime | None = None, reason: str = "Bad content"
) -> dict[str, Any]:
    """Rejects exist only in configuration-set event publishing."""
    sent = sent or datetime.now(UTC)
    return ses(
        "Reject",
        {"reject": {"reason": reason}},
        event_publishing=True,
        sent=sent,
        destination=recipients,
    )


def ses_delivery_delay(
    recipients: list[str], *, delay_type: str = "MailboxFull", at: datetime | None = None
) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    delay = {
        "delayType": delay_type,
        "expirationTime": iso(at + timedelta(hours=12)),
        "delayedRecipients": [
            {"emailAddress": a, "status": "4.2.2", "diagnosticCode": "452 4.2.2 Mailbox full"}
            for a in recipients
        ],
        "timestamp": iso(at),
    }
    return ses(
        "DeliveryDelay",
        {"deliveryDelay": delay},
        event_publishing=True,
        sent=at - timedelta(minutes=30),
        destination=recipients,
    )


# ---------------------------------------------------------------- Twilio


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """``X-Twilio-Signature`` for a POST of ``params`` to ``url``."""
    return str(RequestValidator(token).compute_signature(url, params))


def twilio_status(
    status: str,
    *,
    sid: str = "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    to: str = "+15558675310",
    whatsapp: bool = False,
    error_code: str | None = None,
    error_message: str | None = None,
) -> dict[str, str]:
    """A status callback's form, as Twilio posts it."""
    prefix = "whatsapp:" if whatsapp else ""
    params = {
        "AccountSid": "ACae6e420f425248d6a26948c17a9e2acf",
        "ApiVersion": "2010-04-01",
        "From": prefix + "+15017122661",
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": prefix + to,
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    if error_message is not None:
        params["ErrorMessage"] = error_message
    return params


def twilio_inbound(
    body: str,
    *,
    sender: str = "+15558675310",
    whatsapp: bool = False,
    opt_out_type: str | None = None,
) -> dict[str, str]:
    """An incoming message's form, as Twilio posts it."""
    prefix = "whatsapp:" if whatsapp else ""
    params = {
        "AccountSid": "ACae6e420f425248d6a26948c17a9e2acf",
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": prefix + sender,
        "MessageSid": "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
        "SmsSid": "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
        "SmsStatus": "received",
        "To": prefix + "+15017122661",
    }
    if opt_out_type is not None:
        params["OptOutType"] = opt_out_type
    return params


# ---------------------------------------------------------------- Meta


def meta_signature(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _meta_value(**parts: Any) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            **parts,
                        },
                    }
                ],
            }
        ],
    }


def meta_status(
    status: str,
    *,
    message_id: str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
    recipient: str = "16505551234",
    at: datetime | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A statuses payload with one status."""
    entry: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": str(int((at or datetime.now(UTC)).timestamp())),
        "recipient_id": recipient,
    }
    if status != "failed":
        entry["conversation"] = {
            "id": "CONVERSATION_ID",
            "origin": {"type": "service"},
        }
        entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if errors is not None:
        entry["errors"] = errors
    return _meta_value(statuses=[entry])


def meta_reengagement_error() -> dict[str, Any]:
    return {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {
            "details": "Message failed to send because more than 24 hours have passed since "
            "the customer last replied to this number."
        },
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


def meta_message(
    text: str,
    *,
    sender: str = "16505551234",
    message_id: str = "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
    at: datetime | None = None,
) -> dict[str, Any]:
    """A messages payload with one text message."""
    return _meta_value(
        contacts=[{"profile": {"name": "Kerry Fisher"}, "wa_id": sender}],
        messages=[
            {
                "from": sender,
                "id": message_id,
                "timestamp": str(int((at or datetime.now(UTC)).timestamp())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    )

"""E-mail through Amazon SES v2 (herald/channels/ses.py), against moto behind a fault proxy."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from herald.channels import build_provider
from herald.channels.aws import retry_after_seconds
from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from herald.channels.email import message_id
from herald.channels.ses import SesProvider, classify_ses_error
from herald.kinds import Channel
from herald.settings import load_settings
from tests.fakes.aws import (  # noqa: F401  (fixtures)
    REGION,
    SECRET_ACCESS_KEY,
    Aws,
    Fault,
    FaultProxy,
    aws_fixture,
    aws_proxy_fixture,
    http_error,
    isolate_aws_environment,
    moto_server_fixture,
    ses_error,
)
from tests.smtp_server import free_port

SENDER = "Prêts <prets@example.org>"
TO = "ada@example.org"
SUBJECT = "Caméra 📷 Sony — à rendre"
TEXT = "Bonjour Adélaïde,\n\nLa Caméra 📷 Sony — à rendre demain à 10 h. Merci !\n"
HTML = "<p>Bonjour Adélaïde,</p><p>La <b>Caméra 📷 Sony</b> — à rendre demain à 10 h.</p>"
KEY = "loan-42:loan.reminder_j1@20261124T090000Z:email"


def outgoing(to: str = TO, **kw: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "channel": Channel.EMAIL,
        "to": to,
        "subject": SUBJECT,
        "text": TEXT,
        "html": HTML,
        "key": KEY,
    }
    fields.update(kw)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def built_provider(**settings: object) -> SesProvider:
    """Built as the worker builds it: settings, and boto3's environment (set by ``aws``)."""
    settings.setdefault("email_from", SENDER)
    p = build_provider("ses", Channel.EMAIL, load_settings(email_provider="ses", **settings))
    assert isinstance(p, SesProvider)
    return p


@pytest.fixture(scope="module")
def ses_client(aws_proxy: FaultProxy) -> Iterator[Any]:
    """One client built by ``from_settings`` for the whole module (clients are costly to
    create and thread-safe), pointed at the fault proxy like the ``aws`` fixture does."""
    with pytest.MonkeyPatch.context() as mp:
        isolate_aws_environment(mp)
        mp.setenv("AWS_ENDPOINT_URL_SESV2", aws_proxy.url)
        yield built_provider().client


@pytest.fixture
def provider(aws: Aws, ses_client: Any) -> Callable[..., SesProvider]:
    def make(reply_to: str | None = None, configuration_set: str | None = None) -> SesProvider:
        return SesProvider(
            sender=SENDER, reply_to=reply_to, configuration_set=configuration_set, client=ses_client
        )

    return make


def verify_sender(aws: Aws, identity: str = "example.org") -> None:
    aws.moto.client("sesv2").create_email_identity(EmailIdentity=identity)


def unix(text: str) -> str:
    return text.replace("\r\n", "\n")


# ------------------------------------------------------------------ success


def test_send_delivers_multipart_alternative_with_accents_and_emoji(aws: Aws) -> None:
    verify_sender(aws)
    receipt = built_provider().send(outgoing())

    [sent] = aws.moto.sent_emails()  # read back from moto's /moto-api/data.json
    assert receipt.provider == "ses"
    assert receipt.message_id == sent.id
    assert TO in sent.destinations
    assert sent.source == "prets@example.org"
    msg = sent.message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert str(msg["Subject"]) == SUBJECT
    assert unix(sent.part("plain")).strip() == TEXT.strip()
    assert unix(sent.part("html")).strip() == HTML
    assert str(msg["From"]) == SENDER
    assert msg["From"].addresses[0].display_name == "Prêts"
    assert str(msg["To"]) == TO
    assert msg["Message-ID"] == message_id(KEY, SENDER)
    assert msg["Reply-To"] is None

    # What went over the wire: the bare From address, one recipient, no configuration set.
    [request] = aws.proxy.requests
    assert request.method == "POST"
    assert request.path == "/v2/email/outbound-emails"
    body = request.json()
    assert body["FromEmailAddress"] == "prets@example.org"
    assert body["Destination"] == {"ToAddresses": [TO]}
    assert "ConfigurationSetName" not in body


def test_raw_message_uses_7bit_transfer_encodings(
    aws: Aws, provider: Callable[..., SesProvider]
) -> None:
    verify_sender(aws)
    provider().send(outgoing(html="<p>" + "é" * 600 + "</p>"))
    [sent] = aws.moto.sent_emails()
    assert sent.raw_data.isascii()
    assert max(len(line) for line in sent.raw_data.splitlines()) <= 998
    assert "é" * 600 in sent.part("html")


def test_reply_to_extra_headers_and_configuration_set(aws: Aws) -> None:
    verify_sender(aws, "prets@example.org")
    p = built_provider(
        email_reply_to="Bibliothèque <biblio@example.org>",
        ses_configuration_set="herald-transactional",
    )
    p.send(outgoing(headers={"X-Herald-Kind": "loan.reminder_j1"}))

    [sent] = aws.moto.sent_emails()
    assert str(sent.message["Reply-To"]) == "Bibliothèque <biblio@example.org>"
    assert sent.message["X-Herald-Kind"] == "loan.reminder_j1"
    # moto does not keep the configuration set: read it from the request it accepted.
    [request] = aws.proxy.requests
    assert request.json()["ConfigurationSetName"] == "herald-transactional"
    assert request.status == 200 and not request.faulted


def test_text_only_message(aws: Aws, provider: Callable[..., SesProvider]) -> None:
    verify_sender(aws)
    provider().send(outgoing(html=None))
    [sent] = aws.moto.sent_emails()
    assert sent.message.get_content_type() == "text/plain"
    assert unix(sent.message.get_content()).strip() == TEXT.strip()


def test_concurrent_sends_share_one_client(aws: Aws, provider: Callable[..., SesProvider]) -> None:
    verify_sender(aws)
    p = provider()
    recipients = [f"reader{i}@example.org" for i in range(8)]
    errors: list[BaseException] = []

    def send(to: str) -> None:
        try:
            p.send(outgoing(to=to, key=f"{KEY}:{to}"))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(to,)) for to in recipients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    sent_to = sorted(str(s.message["To"]) for s in aws.moto.sent_emails())
    assert sent_to == sorted(recipients)


# ------------------------------------------------------------------ permanent errors


def test_unverified_sender_identity_is_a_provider_fault(
    aws: Aws, provider: Callable[..., SesProvider]
) -> None:
    # moto's real behaviour, like SES: MessageRejected for an unverified From identity.
    with pytest.raises(PermanentSendError) as err:
        provider().send(outgoing())
    assert err.value.code == "MessageRejected"
    assert err.value.recipient_fault is False  # the next provider in the chain is tried
    assert "MessageRejected" in err.value.reason
    assert "Did not have authority to send from email prets@example.org" in err.value.reason
    assert isinstance(err.value.__cause__, ClientError)
    assert aws.moto.sent_emails() == []


def test_malformed_recipient_address_is_a_recipient_fault(
    aws: Aws, provider: Callable[..., SesProvider]
) -> None:
    # moto answers with SES v1's code for it (real SES v2 says BadRequestException).
    verify_sender(aws)
    with pytest.raises(PermanentSendError) as err:
        provider().send(outgoing(to="ada.example.org"))
    assert err.value.recipient_fault is True
    assert err.value.code == "InvalidParameterValue"
    assert "Missing domain" in err.value.reason
    assert aws.moto.sent_emails() == []


@pytest.mark.parametrize(
    ("fault", "recipient_fault"),
    [
        pytest.param(
            ses_error("MessageRejected", 400, "Message rejected: virus detected."),
            True,
            id="message-rejected-content",
        ),
        pytest.param(
            ses_error(
                "MessageRejected",
                400,
                "Email address is not verified. The following identities failed the check "
                "in region EU-WEST-1: ada@example.org",
            ),
            False,
            id="message-rejected-sandbox",
        ),
        pytest.param(
            ses_error("BadRequestException", 400, "Illegal address"),
            True,
            id="bad-request-address",
        ),
        pytest.param(
            ses_error(
                "MailFromDomainNotVerifiedException",
                400,
                "The MAIL FROM domain bounce.example.org is not verified.",
            ),
            False,
            id="mail-from-not-verified",
        ),
        pytest.param(
            ses_error(
                "AccountSuspendedException",
                400,
                "Your account's ability to send email has been permanently restricted.",
            ),
            False,
            id="account-suspended",
        ),
        pytest.param(
            ses_error("SendingPausedException", 400, "Sending is paused for this account."),
            False,
            id="sending-paused",
        ),
        pytest.param(
            ses_error("NotFoundException", 404, "Configuration set <herald> does not exist."),
            False,
            id="configuration-set-missing",
        ),
        pytest.param(
            ses_error(
                "AccessDeniedException",
                403,
                "User: arn:aws:iam::123456789012:user/herald is not authorized to perform: "
                "ses:SendEmail",
            ),
            False,
            id="access-denied",
        ),
        pytest.param(
            ses_error(
                "UnrecognizedClientException",
                403,
                "The security token included in the request is invalid.",
            ),
            False,
            id="bad-credentials",
        ),
    ],
)
def test_permanent_errors(
    aws: Aws, provider: Callable[..., SesProvider], fault: Fault, recipient_fault: bool
) -> None:
    verify_sender(aws)
    aws.proxy.fail_next(fault)
    code = fault.headers["x-amzn-ErrorType"]
    with pytest.raises(PermanentSendError) as err:
        provider().send(outgoing())
    assert err.value.code == code
    assert err.value.recipient_fault is recipient_fault
    assert code in err.value.reason
    assert json.loads(fault.body)["message"] in err.value.reason
    assert f"HTTP {fault.status}" in err.value.reason
    assert len(aws.proxy.requests) == 1  # botocore did not retry
    assert aws.moto.sent_emails() == []


# ------------------------------------------------------------------ transient errors


@pytest.mark.parametrize(
    ("fault", "code", "retry_after"),
    [
        pytest.param(
            ses_error("TooManyRequestsException", 429, "Maximum sending rate exceeded.", "3"),
            "TooManyRequestsException",
            3.0,
            id="too-many-requests",
        ),
        pytest.param(
            ses_error("ThrottlingException", 400, "Rate exceeded"),
            "ThrottlingException",
            None,
            id="throttling",
        ),
        pytest.param(
            ses_error("LimitExceededException", 400, "Daily message quota exceeded."),
            "LimitExceededException",
            None,
            id="limit-exceeded",
        ),
        pytest.param(
            ses_error("InternalFailure", 500, "We encountered an internal error."),
            "InternalFailure",
            None,
            id="internal-failure",
        ),
        pytest.param(
            ses_error("ServiceUnavailable", 503, "Service unavailable", "1"),
            "ServiceUnavailable",
            1.0,
            id="service-unavailable",
        ),
        pytest.param(
            http_error(502, "<html><body>502 Bad Gateway</body></html>"),
            "502",
            None,
            id="bare-502",
        ),
    ],
)
def test_transient_error_then_success(
    aws: Aws,
    provider: Callable[..., SesProvider],
    fault: Fault,
    code: str,
    retry_after: float | None,
) -> None:
    verify_sender(aws)
    aws.proxy.fail_next(fault)
    p = provider()
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert err.value.code == code
    assert code in err.value.reason
    assert err.value.retry_after == retry_after
    assert len(aws.proxy.requests) == 1  # one attempt: Temporal owns the retries
    assert aws.moto.sent_emails() == []

    receipt = p.send(outgoing())
    [sent] = aws.moto.sent_emails()
    assert receipt.message_id == sent.id
    assert [r.faulted for r in aws.proxy.requests] == [True, False]


def test_several_faults_then_success(aws: Aws, provider: Callable[..., SesProvider]) -> None:
    verify_sender(aws)
    aws.proxy.fail_next(ses_error("TooManyRequestsException", 429, "Slow down"), times=2)
    p = provider()
    for _ in range(2):
        with pytest.raises(TransientSendError):
            p.send(outgoing())
    p.send(outgoing())
    assert len(aws.moto.sent_emails()) == 1


def test_error_type_header_with_a_namespace_suffix(
    aws: Aws, provider: Callable[..., SesProvider]
) -> None:
    # AWS sometimes sends "Code:namespace-uri" in x-amzn-ErrorType; botocore keeps the code.
    verify_sender(aws)
    fault = ses_error("TooManyRequestsException", 429, "Slow down")
    fault.headers["x-amzn-ErrorType"] = (
        "TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.sesv2/"
    )
    aws.proxy.fail_next(fault)
    with pytest.raises(TransientSendError) as err:
        provider().send(outgoing())
    assert err.value.code == "TooManyRequestsException"


# ------------------------------------------------------------------ network and SDK failures


def test_connection_refused_is_transient(aws: Aws) -> None:
    p = SesProvider(sender=SENDER, endpoint_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert time.monotonic() - started < 5  # no botocore retries or back-off
    assert err.value.code == "EndpointConnectionError"
    assert isinstance(err.value.__cause__, EndpointConnectionError)


def test_server_that_never_answers_times_out_as_transient(aws: Aws, silent_server: int) -> None:
    p = SesProvider(
        sender=SENDER, endpoint_url=f"http://127.0.0.1:{silent_server}", read_timeout=0.5
    )
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert err.value.code == "ReadTimeoutError"


def test_missing_credentials_are_a_provider_fault(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(PermanentSendError) as err:
        built_provider().send(outgoing())
    assert err.value.recipient_fault is False
    assert err.value.code == "NoCredentialsError"
    assert aws.proxy.requests == []


# ------------------------------------------------------------------ classification


def client_error(
    code: str, status: int, message: str = "boom", headers: dict[str, str] | None = None
) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
        },
        "SendEmail",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected", "recipient_fault"),
    [
        ("TooManyRequestsException", 429, TransientSendError, None),
        ("Throttling", 400, TransientSendError, None),
        ("ThrottlingException", 400, TransientSendError, None),
        ("LimitExceededException", 400, TransientSendError, None),
        ("InternalFailure", 500, TransientSendError, None),
        ("InternalError", 500, TransientSendError, None),
        ("ServiceUnavailable", 503, TransientSendError, None),
        ("RequestTimeout", 408, TransientSendError, None),
        ("SomethingNew", 504, TransientSendError, None),
        ("SomethingNew", 429, TransientSendError, None),
        ("MessageRejected", 400, PermanentSendError, True),
        ("BadRequestException", 400, PermanentSendError, True),
        ("InvalidParameterValue", 400, PermanentSendError, True),
        ("MailFromDomainNotVerifiedException", 400, PermanentSendError, False),
        ("MailFromDomainNotVerified", 400, PermanentSendError, False),
        ("AccountSuspendedException", 400, PermanentSendError, False),
        ("SendingPausedException", 400, PermanentSendError, False),
        ("AccountSendingPausedException", 400, PermanentSendError, False),
        ("ConfigurationSetSendingPausedException", 400, PermanentSendError, False),
        ("NotFoundException", 404, PermanentSendError, False),
        ("ConfigurationSetDoesNotExist", 400, PermanentSendError, False),
        ("AccessDeniedException", 403, PermanentSendError, False),
        ("AccessDenied", 403, PermanentSendError, False),
        ("InvalidClientTokenId", 403, PermanentSendError, False),
        ("SignatureDoesNotMatch", 403, PermanentSendError, False),
        ("UnrecognizedClientException", 403, PermanentSendError, False),
        ("ExpiredTokenException", 403, PermanentSendError, False),
        ("SomethingNew", 400, PermanentSendError, False),
    ],
)
def test_classify_ses_client_errors(
    code: str, status: int, expected: type[SendError], recipient_fault: bool | None
) -> None:
    classified = classify_ses_error(client_error(code, status, "the message"), sender=SENDER)
    assert type(classified) is expected
    assert classified.code == code
    assert classified.reason == f"SES {code} (HTTP {status}): the message"
    if isinstance(classified, PermanentSendError):
        assert classified.recipient_fault is recipient_fault


@pytest.mark.parametrize(
    ("message", "recipient_fault"),
    [
        ("Message rejected: virus detected.", True),
        ("Address blacklisted.", True),
        ("Did not have authority to send from email prets@example.org", False),
        ("Email address is not verified. The following identities failed the check", False),
        ("Sender PRETS@example.org refused", False),  # names our sender
    ],
)
def test_message_rejected_tells_the_sender_identity_from_the_message(
    message: str, recipient_fault: bool
) -> None:
    classified = classify_ses_error(client_error("MessageRejected", 400, message), sender=SENDER)
    assert isinstance(classified, PermanentSendError)
    assert classified.recipient_fault is recipient_fault


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
        ConnectionClosedError(endpoint_url="http://127.0.0.1:9"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_classify_network_errors_as_transient(error: Exception) -> None:
    classified = classify_ses_error(error)
    assert type(classified) is TransientSendError
    assert classified.code == type(error).__name__
    assert type(error).__name__ in classified.reason


def test_classify_sdk_errors() -> None:
    no_creds = classify_ses_error(NoCredentialsError())
    assert isinstance(no_creds, PermanentSendError) and no_creds.recipient_fault is False
    invalid = classify_ses_error(ParamValidationError(report="Invalid length for parameter"))
    assert isinstance(invalid, PermanentSendError) and invalid.recipient_fault is False


def test_classify_reraises_unrelated_errors() -> None:
    with pytest.raises(KeyError):
        classify_ses_error(KeyError("bug"))


def test_retry_after_seconds() -> None:
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"Retry-After": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after": "-3"}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    seconds = retry_after_seconds({"retry-after": later})
    assert seconds is not None and 100 < seconds <= 120


# ------------------------------------------------------------------ configuration and secrets


def test_from_settings_reads_boto3_environment(aws: Aws) -> None:
    p = built_provider(ses_configuration_set="herald")
    assert p.client.meta.region_name == REGION
    assert p.client.meta.endpoint_url == aws.proxy.url
    assert p.configuration_set == "herald"
    config = p.client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout == 10.0 and config.read_timeout == 10.0


def test_repr_never_shows_credentials(aws: Aws) -> None:
    p = built_provider()
    for text in (repr(p), str(p)):
        assert SECRET_ACCESS_KEY not in text
        assert "AKIA" not in text
    assert REGION in repr(p)
    assert "prets@example.org" in repr(p)

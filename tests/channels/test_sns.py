"""SMS through Amazon SNS (herald/channels/sns.py), against moto behind a fault proxy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from herald.channels import build_provider
from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from herald.channels.sns import SnsProvider, classify_sns_error
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
    sns_error,
)
from tests.smtp_server import free_port

TO = "+33612345678"
TEXT = "Bonjour Adélaïde, la Caméra 📷 Sony est à rendre demain à 10 h — merci ! Ça ira ?"
KEY = "loan-42:loan.reminder_j1@20261124T090000Z:sms"
SMS_TYPE = "AWS.SNS.SMS.SMSType"
SENDER_ID = "AWS.SNS.SMS.SenderID"


def outgoing(to: str = TO, text: str = TEXT, **kw: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "channel": Channel.SMS,
        "to": to,
        "subject": "",
        "text": text,
        "html": None,
        "key": KEY,
    }
    fields.update(kw)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def built_provider(**settings: object) -> SnsProvider:
    """Built as the worker builds it: settings, and boto3's environment (set by ``aws``)."""
    p = build_provider("sns", Channel.SMS, load_settings(sms_provider="sns", **settings))
    assert isinstance(p, SnsProvider)
    return p


@pytest.fixture(scope="module")
def sns_client(aws_proxy: FaultProxy) -> Iterator[Any]:
    """One client built by ``from_settings`` for the whole module (clients are costly to
    create and thread-safe), pointed at the fault proxy like the ``aws`` fixture does."""
    with pytest.MonkeyPatch.context() as mp:
        isolate_aws_environment(mp)
        mp.setenv("AWS_ENDPOINT_URL_SNS", aws_proxy.url)
        yield built_provider().client


@pytest.fixture
def provider(aws: Aws, sns_client: Any) -> Callable[..., SnsProvider]:
    def make(sms_type: str = "Transactional", sender_id: str | None = None) -> SnsProvider:
        return SnsProvider(sms_type=sms_type, sender_id=sender_id, client=sns_client)

    return make


# ------------------------------------------------------------------ success


def test_publish_sends_the_text_with_the_sms_type(aws: Aws) -> None:
    receipt = built_provider().send(outgoing())

    [sms] = aws.moto.sent_sms()  # read back from moto's /moto-api/data.json
    assert receipt.provider == "sns"
    assert receipt.message_id == sms.message_id
    assert sms.phone_number == TO
    assert sms.message == TEXT

    # moto does not keep message attributes: read them from the request it accepted.
    [request] = aws.proxy.requests
    assert request.status == 200 and not request.faulted
    form = request.form()
    assert form["Action"] == "Publish"
    assert form["PhoneNumber"] == TO
    assert form["Message"] == TEXT
    assert request.sns_message_attributes() == {SMS_TYPE: ("String", "Transactional")}


def test_sender_id_and_promotional_type_from_settings(aws: Aws) -> None:
    p = built_provider(sns_sender_id="PRETS", sns_sms_type="Promotional")
    p.send(outgoing())
    [sms] = aws.moto.sent_sms()
    assert sms.message == TEXT
    [request] = aws.proxy.requests
    assert request.sns_message_attributes() == {
        SMS_TYPE: ("String", "Promotional"),
        SENDER_ID: ("String", "PRETS"),
    }


def test_blank_sender_id_sends_no_sender_id(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_SNS_SENDER_ID", "")
    built_provider().send(outgoing())
    [request] = aws.proxy.requests
    assert SENDER_ID not in request.sns_message_attributes()


def test_concurrent_sends_share_one_client(aws: Aws, provider: Callable[..., SnsProvider]) -> None:
    p = provider()
    numbers = [f"+3361234560{i}" for i in range(8)]
    errors: list[BaseException] = []

    def send(to: str) -> None:
        try:
            p.send(outgoing(to=to))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(to,)) for to in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert sorted(s.phone_number for s in aws.moto.sent_sms()) == sorted(numbers)


def test_publish_to_an_opted_out_number_is_accepted(
    aws: Aws, provider: Callable[..., SnsProvider]
) -> None:
    # As with SNS, publishing to a number that replied STOP succeeds; delivery fails later.
    opted_out = "+447700900149"
    listed = aws.moto.client("sns").list_phone_numbers_opted_out()["phoneNumbers"]
    assert opted_out in listed
    provider().send(outgoing(to=opted_out))
    assert [s.phone_number for s in aws.moto.sent_sms()] == [opted_out]


# ------------------------------------------------------------------ permanent errors


def test_number_not_in_e164_is_a_recipient_fault(
    aws: Aws, provider: Callable[..., SnsProvider]
) -> None:
    # moto's real answer, like SNS's.
    with pytest.raises(PermanentSendError) as err:
        provider().send(outgoing(to="0612345678"))
    assert err.value.recipient_fault is True
    assert err.value.code == "InvalidParameter"
    assert "InvalidParameter" in err.value.reason
    assert "Phone number does not meet the E164 format" in err.value.reason
    assert isinstance(err.value.__cause__, ClientError)
    assert aws.moto.sent_sms() == []


@pytest.mark.parametrize(
    ("fault", "code", "recipient_fault"),
    [
        pytest.param(
            sns_error(
                "InvalidParameter",
                400,
                "Invalid parameter: PhoneNumber Reason: +33612345678 is not valid to publish to",
            ),
            "InvalidParameter",
            True,
            id="invalid-number",
        ),
        pytest.param(
            sns_error("ParameterValueInvalid", 400, "Invalid parameter value: PhoneNumber +336123"),
            "ParameterValueInvalid",
            True,
            id="parameter-value-invalid",
        ),
        pytest.param(
            sns_error(
                "InvalidParameter",
                400,
                "Invalid parameter: MessageAttributes Reason: AWS.SNS.SMS.SenderID is not valid",
            ),
            "InvalidParameter",
            False,
            id="invalid-sender-id",
        ),
        pytest.param(
            sns_error("OptedOut", 400, "Phone number is opted out"),
            "OptedOut",
            True,
            id="opted-out",
        ),
        pytest.param(
            sns_error(
                "AuthorizationError",
                403,
                "User: arn:aws:iam::123456789012:user/herald is not authorized to perform: "
                "SNS:Publish",
            ),
            "AuthorizationError",
            False,
            id="authorization-error",
        ),
        pytest.param(
            sns_error(
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            ),
            "InvalidClientTokenId",
            False,
            id="invalid-client-token",
        ),
        pytest.param(
            sns_error(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you provided.",
            ),
            "SignatureDoesNotMatch",
            False,
            id="signature-does-not-match",
        ),
        pytest.param(
            sns_error("AccessDenied", 403, "Access Denied"),
            "AccessDenied",
            False,
            id="access-denied",
        ),
    ],
)
def test_permanent_errors(
    aws: Aws,
    provider: Callable[..., SnsProvider],
    fault: Fault,
    code: str,
    recipient_fault: bool,
) -> None:
    aws.proxy.fail_next(fault)
    with pytest.raises(PermanentSendError) as err:
        provider().send(outgoing())
    assert err.value.code == code
    assert err.value.recipient_fault is recipient_fault
    assert code in err.value.reason
    message = fault.body.decode().split("<Message>")[1].split("</Message>")[0]
    assert message in err.value.reason
    assert f"HTTP {fault.status}" in err.value.reason
    assert len(aws.proxy.requests) == 1  # botocore did not retry
    assert aws.moto.sent_sms() == []


# ------------------------------------------------------------------ transient errors


@pytest.mark.parametrize(
    ("fault", "code", "retry_after"),
    [
        pytest.param(
            sns_error("Throttling", 400, "Rate exceeded", retry_after="2"),
            "Throttling",
            2.0,
            id="throttling",
        ),
        pytest.param(
            sns_error("Throttled", 429, "You exceeded your SMS rate."),
            "Throttled",
            None,
            id="throttled",
        ),
        pytest.param(
            sns_error("KMSThrottling", 400, "Rate exceeded for KMS"),
            "KMSThrottling",
            None,
            id="kms-throttling",
        ),
        pytest.param(
            sns_error("InternalError", 500, "Internal Error", error_type="Receiver"),
            "InternalError",
            None,
            id="internal-error",
        ),
        pytest.param(
            sns_error(
                "ServiceUnavailable", 503, "Service is unavailable", "Receiver", retry_after="5"
            ),
            "ServiceUnavailable",
            5.0,
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
    provider: Callable[..., SnsProvider],
    fault: Fault,
    code: str,
    retry_after: float | None,
) -> None:
    aws.proxy.fail_next(fault)
    p = provider()
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert err.value.code == code
    assert code in err.value.reason
    assert err.value.retry_after == retry_after
    assert len(aws.proxy.requests) == 1  # one attempt: Temporal owns the retries
    assert aws.moto.sent_sms() == []

    receipt = p.send(outgoing())
    [sms] = aws.moto.sent_sms()
    assert receipt.message_id == sms.message_id
    assert sms.message == TEXT
    assert [r.faulted for r in aws.proxy.requests] == [True, False]


def test_several_faults_then_success(aws: Aws, provider: Callable[..., SnsProvider]) -> None:
    aws.proxy.fail_next(sns_error("Throttling", 400, "Rate exceeded"), times=2)
    p = provider()
    for _ in range(2):
        with pytest.raises(TransientSendError):
            p.send(outgoing())
    p.send(outgoing())
    assert len(aws.moto.sent_sms()) == 1


# ------------------------------------------------------------------ network and SDK failures


def test_connection_refused_is_transient(aws: Aws) -> None:
    p = SnsProvider(endpoint_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(TransientSendError) as err:
        p.send(outgoing())
    assert time.monotonic() - started < 5  # no botocore retries or back-off
    assert err.value.code == "EndpointConnectionError"
    assert isinstance(err.value.__cause__, EndpointConnectionError)


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


def client_error(code: str, status: int, message: str = "boom") -> ClientError:
    return ClientError(
        {
            "Error": {"Type": "Sender", "Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        },
        "Publish",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected", "recipient_fault"),
    [
        ("Throttling", 400, TransientSendError, None),
        ("Throttled", 429, TransientSendError, None),
        ("ThrottlingException", 400, TransientSendError, None),
        ("KMSThrottling", 400, TransientSendError, None),
        ("InternalError", 500, TransientSendError, None),
        ("InternalFailure", 500, TransientSendError, None),
        ("ServiceUnavailable", 503, TransientSendError, None),
        ("RequestTimeout", 408, TransientSendError, None),
        ("SomethingNew", 504, TransientSendError, None),
        ("InvalidParameter", 400, PermanentSendError, True),
        ("ParameterValueInvalid", 400, PermanentSendError, True),
        ("InvalidParameterValue", 400, PermanentSendError, True),
        ("ValidationException", 400, PermanentSendError, True),
        ("OptedOut", 400, PermanentSendError, True),
        ("AuthorizationError", 403, PermanentSendError, False),
        ("InvalidClientTokenId", 403, PermanentSendError, False),
        ("SignatureDoesNotMatch", 403, PermanentSendError, False),
        ("AccessDenied", 403, PermanentSendError, False),
        ("InvalidSecurity", 403, PermanentSendError, False),
        ("ExpiredToken", 403, PermanentSendError, False),
        ("KMSAccessDenied", 400, PermanentSendError, False),
        ("KMSDisabled", 400, PermanentSendError, False),
        ("NotFound", 404, PermanentSendError, False),
        ("SomethingNew", 400, PermanentSendError, False),
    ],
)
def test_classify_sns_client_errors(
    code: str, status: int, expected: type[SendError], recipient_fault: bool | None
) -> None:
    classified = classify_sns_error(client_error(code, status, "the message"))
    assert type(classified) is expected
    assert classified.code == code
    assert classified.reason == f"SNS {code} (HTTP {status}): the message"
    if isinstance(classified, PermanentSendError):
        assert classified.recipient_fault is recipient_fault


@pytest.mark.parametrize(
    ("message", "recipient_fault"),
    [
        ("Invalid parameter: PhoneNumber Reason: +331 is not valid to publish to", True),
        ("Phone number does not meet the E164 format", True),
        ("SMS message must be less than 1600 bytes", True),
        ("Invalid parameter: MessageAttributes Reason: AWS.SNS.SMS.SenderID is invalid", False),
        ("Invalid parameter: SMSType", False),
        ("Invalid parameter: OriginationNumber Reason: not owned by the account", False),
    ],
)
def test_invalid_parameter_tells_the_settings_from_the_recipient(
    message: str, recipient_fault: bool
) -> None:
    classified = classify_sns_error(client_error("InvalidParameter", 400, message))
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
    classified = classify_sns_error(error)
    assert type(classified) is TransientSendError
    assert classified.code == type(error).__name__


def test_classify_missing_credentials_and_unrelated_errors() -> None:
    classified = classify_sns_error(NoCredentialsError())
    assert isinstance(classified, PermanentSendError) and classified.recipient_fault is False
    with pytest.raises(KeyError):
        classify_sns_error(KeyError("bug"))


# ------------------------------------------------------------------ configuration and secrets


def test_from_settings_reads_boto3_environment(aws: Aws) -> None:
    p = built_provider(sns_sender_id="PRETS")
    assert p.client.meta.region_name == REGION
    assert p.client.meta.endpoint_url == aws.proxy.url
    assert (p.sms_type, p.sender_id) == ("Transactional", "PRETS")
    config = p.client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout == 10.0 and config.read_timeout == 10.0


def test_repr_never_shows_credentials(aws: Aws) -> None:
    p = built_provider()
    for text in (repr(p), str(p)):
        assert SECRET_ACCESS_KEY not in text
        assert "AKIA" not in text
    assert REGION in repr(p)

"""SNS envelopes and their signatures, with the certificate served over real HTTP."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.webhooks.base import SignatureError
from herald.webhooks.sns import (
    DEFAULT_CERTIFICATE_URL_PATTERN,
    SnsVerifier,
    confirmation_url,
    parse_envelope,
)
from tests.fakes.signing import (
    TOPIC_ARN,
    SnsSigner,
    iso,
    notification,
    ses_delivery,
    subscription_confirmation,
)


@dataclass
class CertServer:
    """Serves certificates by path on 127.0.0.1 and records every request's path."""

    certificates: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base_url: str = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@pytest.fixture(scope="module")
def signer() -> SnsSigner:
    return SnsSigner()


@pytest.fixture(scope="module")
def cert_server(signer: SnsSigner) -> Iterator[CertServer]:
    state = CertServer()

    async def serve(request: Request) -> Response:
        state.requests.append(request.url.path)
        body = state.certificates.get(request.url.path)
        if body is None:
            return Response(status_code=404)
        return Response(body, media_type="application/x-pem-file")

    app = Starlette(routes=[Route("/{path:path}", serve)])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the certificate server did not start")
        time.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    state.base_url = f"http://{host}:{port}"
    state.certificates["/SimpleNotificationService-test.pem"] = signer.pem
    yield state
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def server(cert_server: CertServer) -> CertServer:
    cert_server.requests.clear()
    return cert_server


def local_pattern(server: CertServer) -> str:
    return "^" + re.escape(server.base_url) + "/"


def cert_url(server: CertServer) -> str:
    return server.url("/SimpleNotificationService-test.pem")


def verifier(server: CertServer, **kwargs: object) -> SnsVerifier:
    options: dict[str, object] = {"max_age": timedelta(hours=1), **kwargs}
    return SnsVerifier(local_pattern(server), **options)  # type: ignore[arg-type]


def envelope(signed: dict[str, str]) -> dict[str, str]:
    """What the API receives: the signed message through the wire and back."""
    return parse_envelope(json.dumps(signed).encode())


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_good_signature_passes(signer: SnsSigner, server: CertServer, version: str) -> None:
    message = signer.sign(
        notification(ses_delivery(["a@example.org"])), version, cert_url=cert_url(server)
    )
    verifier(server).verify(envelope(message))
    assert server.requests == ["/SimpleNotificationService-test.pem"]


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_notification_with_a_subject_passes(
    signer: SnsSigner, server: CertServer, version: str
) -> None:
    message = signer.sign(
        notification("hello", subject="Amazon SES Email Event Notification"),
        version,
        cert_url=cert_url(server),
    )
    verifier(server).verify(envelope(message))


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
def test_confirmations_are_verified(signer: SnsSigner, server: CertServer, kind: str) -> None:
    message = signer.sign(subscription_confirmation(kind=kind), "2", cert_url=cert_url(server))
    verifier(server).verify(envelope(message))
    tampered = {**envelope(message), "Token": "another-token"}
    with pytest.raises(SignatureError, match="does not match"):
        verifier(server).verify(tampered)


def test_the_lambda_spelling_of_the_certificate_url_is_read(
    signer: SnsSigner, server: CertServer
) -> None:
    message = signer.sign(notification("hello"), cert_url=cert_url(server))
    message["SigningCertUrl"] = message.pop("SigningCertURL")
    verifier(server).verify(envelope(message))


@pytest.mark.parametrize(
    "field_name, value",
    [
        ("Message", '{"notificationType":"Bounce"}'),
        ("MessageId", "00000000-0000-0000-0000-000000000000"),
        ("Timestamp", None),
        ("Type", None),
        ("Subject", "added after signing"),
    ],
)
def test_a_tampered_message_is_refused(
    signer: SnsSigner, server: CertServer, field_name: str, value: str | None
) -> None:
    message = envelope(signer.sign(notification("hello"), cert_url=cert_url(server)))
    if field_name == "Timestamp":
        value = iso(datetime.fromisoformat(message["Timestamp"]) - timedelta(seconds=1))
    if field_name == "Type":  # a notification's signature presented as a confirmation's
        message.update(Token="t", SubscribeURL="https://sns.eu-west-1.amazonaws.com/")
        value = "SubscriptionConfirmation"
    assert value is not None
    message[field_name] = value
    with pytest.raises(SignatureError, match="does not match"):
        verifier(server).verify(message)


def test_a_signature_from_another_key_is_refused(signer: SnsSigner, server: CertServer) -> None:
    impostor = SnsSigner()
    message = impostor.sign(notification("hello"), cert_url=cert_url(server))
    with pytest.raises(SignatureError, match="does not match"):
        verifier(server).verify(envelope(message))


def test_a_version_1_signature_presented_as_version_2_is_refused(
    signer: SnsSigner, server: CertServer
) -> None:
    message = envelope(signer.sign(notification("hello"), "1", cert_url=cert_url(server)))
    with pytest.raises(SignatureError, match="does not match"):
        verifier(server).verify({**message, "SignatureVersion": "2"})


@pytest.mark.parametrize(
    "signature, reason",
    [("not base64!", "not base64"), ("", "without Signature"), ("AAAA", "does not match")],
)
def test_a_malformed_signature_is_refused(
    signer: SnsSigner, server: CertServer, signature: str, reason: str
) -> None:
    message = envelope(signer.sign(notification("hello"), cert_url=cert_url(server)))
    with pytest.raises(SignatureError, match=reason):
        verifier(server).verify({**message, "Signature": signature})


@pytest.mark.parametrize("version", ["0", "3", ""])
def test_an_unknown_signature_version_is_refused(
    signer: SnsSigner, server: CertServer, version: str
) -> None:
    message = envelope(signer.sign(notification("hello"), cert_url=cert_url(server)))
    with pytest.raises(SignatureError, match="SignatureVersion"):
        verifier(server).verify({**message, "SignatureVersion": version})
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/SimpleNotificationService-test.pem",
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com@evil.example/cert.pem",
    ],
)
def test_the_default_pattern_allows_only_aws_hosts(url: str) -> None:
    assert not re.match(DEFAULT_CERTIFICATE_URL_PATTERN, url)


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
    ],
)
def test_the_default_pattern_allows_aws_hosts(url: str) -> None:
    assert re.match(DEFAULT_CERTIFICATE_URL_PATTERN, url)


@pytest.mark.parametrize("where", ["another host", "another port", "a prefix", "a control"])
def test_a_certificate_outside_the_pattern_is_never_fetched(
    signer: SnsSigner, server: CertServer, where: str
) -> None:
    base = server.base_url
    host, port = base.removeprefix("http://").split(":")
    url = {
        "another host": f"http://localhost:{port}/SimpleNotificationService-test.pem",
        "another port": f"http://{host}:1/SimpleNotificationService-test.pem",
        "a prefix": f"http://{host}:{port}0/SimpleNotificationService-test.pem",
        "a control": f"{base}/SimpleNotificationService-test.pem\n",
    }[where]
    message = envelope(signer.sign(notification("hello"), cert_url=url))
    with pytest.raises(SignatureError, match="outside SNS's hosts"):
        verifier(server).verify(message)
    assert server.requests == []


def test_the_certificate_is_fetched_once_for_many_messages(
    signer: SnsSigner, server: CertServer
) -> None:
    checker = verifier(server)
    for i in range(20):
        checker.verify(
            envelope(signer.sign(notification(f"message {i}"), "2", cert_url=cert_url(server)))
        )
    assert server.requests == ["/SimpleNotificationService-test.pem"]


def test_the_cache_is_bounded(signer: SnsSigner) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return signer.pem

    checker = SnsVerifier(r"^https://certs\.example/", timedelta(hours=1), fetch=fetch)
    urls = [f"https://certs.example/{i}.pem" for i in range(40)]
    for url in [*urls, urls[-1], urls[0]]:
        checker.verify(envelope(signer.sign(notification("hello"), cert_url=url)))
    # 40 fetches, the last one cached, the first one fetched again (evicted)
    assert fetched == [*urls, urls[0]]


def test_a_certificate_that_cannot_be_fetched_is_refused(
    signer: SnsSigner, server: CertServer
) -> None:
    message = envelope(signer.sign(notification("hello"), cert_url=server.url("/missing.pem")))
    with pytest.raises(SignatureError, match="HTTP 404"):
        verifier(server).verify(message)


def test_a_body_that_is_not_a_certificate_is_refused(signer: SnsSigner) -> None:
    checker = SnsVerifier(
        r"^https://certs\.example/", timedelta(hours=1), fetch=lambda url: b"<html>"
    )
    message = envelope(signer.sign(notification("hello"), cert_url="https://certs.example/c"))
    with pytest.raises(SignatureError, match="not a PEM certificate"):
        checker.verify(message)


def test_an_expired_certificate_is_refused() -> None:
    now = datetime.now(UTC)
    expired = SnsSigner(not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    checker = SnsVerifier(
        r"^https://certs\.example/", timedelta(hours=1), fetch=lambda url: expired.pem
    )
    message = envelope(expired.sign(notification("hello"), cert_url="https://certs.example/c"))
    with pytest.raises(SignatureError, match="not valid now"):
        checker.verify(message)


@pytest.mark.parametrize(
    "age, reason",
    [
        (timedelta(hours=1, seconds=1), "too old"),
        (timedelta(days=400), "too old"),
        (-timedelta(minutes=5, seconds=1), "in the future"),
    ],
)
def test_a_stale_or_future_message_is_refused(
    signer: SnsSigner, server: CertServer, age: timedelta, reason: str
) -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    message = envelope(
        signer.sign(notification("hello", timestamp=now - age), cert_url=cert_url(server))
    )
    with pytest.raises(SignatureError, match=reason):
        verifier(server, now=lambda: now).verify(message)
    assert server.requests == []


@pytest.mark.parametrize("age", [timedelta(hours=1), -timedelta(minutes=5), timedelta(0)])
def test_a_message_within_the_window_passes(
    signer: SnsSigner, server: CertServer, age: timedelta
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    message = envelope(
        signer.sign(notification("hello", timestamp=now - age), cert_url=cert_url(server))
    )
    verifier(server, now=lambda: now).verify(message)


def test_a_topic_not_configured_is_refused(signer: SnsSigner, server: CertServer) -> None:
    other = "arn:aws:sns:eu-west-1:210987654321:someone-else"
    message = envelope(
        signer.sign(notification("hello", topic_arn=other), cert_url=cert_url(server))
    )
    with pytest.raises(SignatureError, match="topic not accepted"):
        verifier(server, topic_arns=[TOPIC_ARN]).verify(message)
    assert server.requests == []
    verifier(server, topic_arns=[TOPIC_ARN, other]).verify(message)


def test_the_confirmation_url_is_on_sns_hosts(signer: SnsSigner, server: CertServer) -> None:
    message = envelope(signer.sign(subscription_confirmation(), cert_url=cert_url(server)))
    url = confirmation_url(message)
    assert url.startswith("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription")
    assert url == message["SubscribeURL"]


def test_a_confirmation_url_elsewhere_is_refused(signer: SnsSigner, server: CertServer) -> None:
    message = envelope(
        signer.sign(
            subscription_confirmation(subscribe_host="https://evil.example"),
            cert_url=cert_url(server),
        )
    )
    verifier(server).verify(message)  # AWS's signature does not make the URL AWS's
    with pytest.raises(SignatureError, match="outside SNS's hosts"):
        confirmation_url(message)
    with pytest.raises(SignatureError, match="outside SNS's hosts"):
        verifier(server).confirmation_url(message)


def test_a_local_confirmation_url_follows_the_verifier_pattern(
    signer: SnsSigner, server: CertServer
) -> None:
    message = envelope(
        signer.sign(
            subscription_confirmation(subscribe_host=server.base_url), cert_url=cert_url(server)
        )
    )
    assert verifier(server).confirmation_url(message).startswith(server.base_url + "/?Action=")


def test_only_a_subscription_confirmation_has_a_confirmation_url(signer: SnsSigner) -> None:
    with pytest.raises(SignatureError, match="not a SubscriptionConfirmation"):
        confirmation_url(
            parse_envelope(
                json.dumps(
                    signer.sign(
                        notification("x"), cert_url="https://sns.eu-west-1.amazonaws.com/c.pem"
                    )
                ).encode()
            )
        )


# ---------------------------------------------------------------- the envelope itself


def signed_fields() -> dict[str, str]:
    return {
        **notification("hello"),
        "SignatureVersion": "1",
        "Signature": "AAAA",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/c.pem",
    }


def test_an_envelope_keeps_its_string_fields_only() -> None:
    body = {**signed_fields(), "MessageAttributes": {"k": {"Type": "String", "Value": "v"}}}
    parsed = parse_envelope(json.dumps(body).encode())
    assert "MessageAttributes" not in parsed
    assert parsed["Message"] == "hello"


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "expected a JSON object"),
        (b'"text"', "expected a JSON object"),
        (b"{}", "unknown Type"),
        (b'{"Type": "Other"}', "unknown Type"),
        (b"x" * (256 * 1024 + 1), "larger than"),
        (b'{"Type": "Notification"\x00}', "NUL"),
        (b"[" * 200_000, "nested too deeply"),
    ],
)
def test_a_malformed_body_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_envelope(body)


@pytest.mark.parametrize("name", ["Message", "MessageId", "Timestamp", "TopicArn"])
def test_a_missing_field_is_refused(name: str) -> None:
    body = signed_fields()
    del body[name]
    with pytest.raises(ValueError, match=f"{name} missing"):
        parse_envelope(json.dumps(body).encode())


@pytest.mark.parametrize("name", ["Signature", "SignatureVersion", "SigningCertURL"])
def test_an_unsigned_envelope_is_a_signature_error(name: str) -> None:
    body = signed_fields()
    del body[name]
    with pytest.raises(SignatureError, match=f"{name} missing"):
        parse_envelope(json.dumps(body).encode())


def test_a_confirmation_needs_its_token_and_url() -> None:
    body = {
        **subscription_confirmation(),
        "SignatureVersion": "1",
        "Signature": "AAAA",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/c.pem",
    }
    for name in ("Token", "SubscribeURL"):
        partial = {k: v for k, v in body.items() if k != name}
        with pytest.raises(ValueError, match=f"{name} missing"):
            parse_envelope(json.dumps(partial).encode())


@pytest.mark.parametrize("name", ["Message", "MessageId", "Subject", "Signature", "SigningCertURL"])
@pytest.mark.parametrize("value", [None, 42, ["a"], {"a": "b"}, True])
def test_a_signed_field_that_is_not_a_string_is_refused(name: str, value: object) -> None:
    body: dict[str, object] = {**signed_fields(), name: value}
    with pytest.raises(ValueError, match=f"{name} is not a string"):
        parse_envelope(json.dumps(body).encode())


def test_a_nul_escaped_in_json_is_refused() -> None:
    body = {**signed_fields(), "Message": "a\x00b"}
    with pytest.raises(ValueError, match="NUL"):
        parse_envelope(json.dumps(body).encode())


@pytest.mark.parametrize(
    "timestamp", ["yesterday", "2026-12-06T12:00:00", "2026-13-06T12:00:00Z", "1765000000", ""]
)
def test_a_bad_timestamp_is_refused(timestamp: str) -> None:
    body = {**signed_fields(), "Timestamp": timestamp}
    with pytest.raises(ValueError, match="Timestamp"):
        parse_envelope(json.dumps(body).encode())


def test_both_spellings_of_the_certificate_url_must_agree() -> None:
    body = {**signed_fields(), "SigningCertUrl": "https://evil.example/c.pem"}
    with pytest.raises(ValueError, match="differ"):
        parse_envelope(json.dumps(body).encode())

"""Amazon SES v2 and SNS for tests: moto in server mode, behind a fault-injecting proxy.

- :class:`MotoServer` runs ``moto.server.ThreadedMotoServer`` on 127.0.0.1. What was sent
  is read back from moto's own ``GET /moto-api/data.json`` (SES raw messages appear as
  ``ses.RawMessage``, SMS as ``sns.SMS``), and ``POST /moto-api/reset`` clears it.
- :class:`FaultProxy` sits in front of moto (stdlib ``ThreadingHTTPServer``): it answers the
  next N requests with AWS's real error shapes (SES v2 is REST-JSON: status, JSON
  ``{"message": ...}`` and ``x-amzn-ErrorType``; SNS is the Query API: an XML
  ``ErrorResponse``), optionally with ``Retry-After``, and forwards every other request to
  moto unchanged. It records every request it receives, as sent on the wire: moto does not
  keep an SMS's message attributes, so the SMSType/SenderID attributes are read from there.

Fixtures: ``moto_server`` and ``aws_proxy`` (one each per session) and ``aws`` (both, reset
before each test, with the AWS environment variables pointing boto3 at the proxy). Import
``aws_fixture``, ``aws_proxy_fixture`` and ``moto_server_fixture`` into a test module.
"""

from __future__ import annotations

import email
import email.policy
import http.client
import json
import logging
import threading
import urllib.request
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.smtp_server import free_port

REGION = "eu-west-1"
ACCESS_KEY_ID = "AKIAHERALDTESTKEY000"
SECRET_ACCESS_KEY = "herald-test-secret/NOT+REAL+9f8e7d6c5b4a"

# Hop-by-hop headers are the proxy's own business, never forwarded.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}
)


# ---------------------------------------------------------------- moto


@dataclass(frozen=True)
class SentEmail:
    """One ``ses.RawMessage`` from moto's data.json."""

    id: str
    source: str
    destinations: list[str]
    raw_data: str

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_string(self.raw_data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


@dataclass(frozen=True)
class SentSms:
    """One ``sns.SMS`` from moto's data.json."""

    message_id: str
    phone_number: str
    message: str


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.url = f"http://127.0.0.1:{self.port}"
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def start(self) -> MotoServer:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _call(self, method: str, path: str) -> bytes:
        request = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return bytes(response.read())

    def reset(self) -> None:
        self._call("POST", "/moto-api/reset")

    def data(self) -> dict[str, Any]:
        """Everything moto holds, as its dashboard sees it."""
        result: dict[str, Any] = json.loads(self._call("GET", "/moto-api/data.json"))
        return result

    def sent_emails(self) -> list[SentEmail]:
        return [
            SentEmail(
                id=row["id"],
                source=row["source"],
                destinations=list(row["destinations"]),
                raw_data=row["raw_data"],
            )
            for row in self.data().get("ses", {}).get("RawMessage", [])
        ]

    def sent_sms(self) -> list[SentSms]:
        return [
            SentSms(row["message_id"], row["phone_number"], row["message"])
            for row in self.data().get("sns", {}).get("SMS", [])
        ]

    def client(self, service: str) -> Any:
        """A boto3 client talking to moto directly (test set-up; never faulted), made once."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.url,
                    region_name=REGION,
                    aws_access_key_id=ACCESS_KEY_ID,
                    aws_secret_access_key=SECRET_ACCESS_KEY,
                )
            return self._clients[service]


# ---------------------------------------------------------------- fault proxy


@dataclass(frozen=True)
class Fault:
    status: int
    headers: dict[str, str]
    body: bytes


def ses_error(
    code: str, status: int = 400, message: str = "", retry_after: str | None = None
) -> Fault:
    """SES v2 (REST-JSON): the code in ``x-amzn-ErrorType``, the text in ``message``."""
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": code,
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Fault(status, headers, json.dumps({"message": message}).encode())


def sns_error(
    code: str,
    status: int = 400,
    message: str = "",
    error_type: str = "Sender",
    retry_after: str | None = None,
) -> Fault:
    """SNS (Query API): an XML ``ErrorResponse``."""
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<Error><Type>{escape(error_type)}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": str(uuid.uuid4())}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Fault(status, headers, body.encode())


def http_error(status: int, body: str = "", content_type: str = "text/html") -> Fault:
    """A bare HTTP error, as a load balancer in front of the API would answer it."""
    return Fault(status, {"Content-Type": content_type}, body.encode())


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the client got back
    faulted: bool  # answered by the proxy rather than by moto

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def sns_message_attributes(self) -> dict[str, tuple[str, str]]:
        """``{name: (DataType, StringValue)}`` from a Query-encoded SNS Publish."""
        form = self.form()
        attributes: dict[str, tuple[str, str]] = {}
        index = 1
        while (name := form.get(f"MessageAttributes.entry.{index}.Name")) is not None:
            prefix = f"MessageAttributes.entry.{index}.Value"
            attributes[name] = (form[f"{prefix}.DataType"], form.get(f"{prefix}.StringValue", ""))
            index += 1
        return attributes


@dataclass
class _Scheduled:
    fault: Fault
    times: int


@dataclass
class ProxyState:
    upstream: tuple[str, int]
    scheduled: deque[_Scheduled] = field(default_factory=deque)
    requests: list[ProxiedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self) -> Fault | None:
        with self.lock:
            if not self.scheduled:
                return None
            head = self.scheduled[0]
            head.times -= 1
            if head.times <= 0:
                self.scheduled.popleft()
            return head.fault


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer

    def _handle(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault = state.next_fault()
        if fault is not None:
            status, reply_headers, reply = fault.status, dict(fault.headers), fault.body
        else:
            status, reply_headers, reply = self._forward(state.upstream, body)
        with state.lock:
            state.requests.append(
                ProxiedRequest(self.command, self.path, headers, body, status, fault is not None)
            )
        self.send_response(status)
        for name, value in reply_headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    def _forward(self, upstream: tuple[str, int], body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*upstream, timeout=10)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ProxyState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.state = ProxyState(upstream=("127.0.0.1", upstream_port))
        self.server = _ProxyServer(self.state)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``fault`` (after any already scheduled)."""
        with self.state.lock:
            self.state.scheduled.append(_Scheduled(fault, times))

    @property
    def requests(self) -> list[ProxiedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def reset(self) -> None:
        with self.state.lock:
            self.state.scheduled.clear()
            self.state.requests.clear()


# ---------------------------------------------------------------- fixtures


@dataclass
class Aws:
    moto: MotoServer
    proxy: FaultProxy


@pytest.fixture(scope="session", name="moto_server")
def moto_server_fixture() -> Iterator[MotoServer]:
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)  # no access log for every request
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()
        werkzeug.setLevel(level)


@pytest.fixture(scope="session", name="aws_proxy")
def aws_proxy_fixture(moto_server: MotoServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.port).start()
    yield proxy
    proxy.stop()


def isolate_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS setting of the machine running the tests leaks in; fake credentials."""
    for name in (
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/herald-tests/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/herald-tests/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)


@pytest.fixture(name="aws")
def aws_fixture(
    moto_server: MotoServer, aws_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> Aws:
    """Fresh moto state, no scheduled faults; boto3 clients created now reach the proxy."""
    moto_server.reset()
    aws_proxy.reset()
    isolate_aws_environment(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", aws_proxy.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", aws_proxy.url)
    return Aws(moto_server, aws_proxy)

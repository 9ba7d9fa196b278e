"""A fake of Twilio's Messages API on 127.0.0.1, with Twilio's request and response shapes.

Implements ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: form-encoded ``To``,
``From`` or ``MessagingServiceSid``, ``Body`` or ``ContentSid`` (+ ``ContentVariables``),
HTTP Basic auth ``AccountSid:AuthToken``. Success is ``201 Created`` with a message
resource; failures use Twilio's error JSON (``code``, ``message``, ``more_info``,
``status``) and can be programmed per recipient with :meth:`FakeTwilio.fail`. Every request
is recorded, refused or not.

Fixtures: ``twilio_api_server`` (one server per session) and ``twilio_api`` (the same
server, reset before each test); import ``twilio_api_fixture`` and
``twilio_api_server_fixture`` into a test module (or a conftest) to use them.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from herald.channels.segments import count_sms

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f00dfacecafebabe" * 2
API_VERSION = "2010-04-01"
MESSAGES_PATH = f"/{API_VERSION}/Accounts/{{sid}}/Messages.json"

# Twilio's own wording for the codes it returns without being told to.
DEFAULT_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21602: "Message body is required.",
    21603: "The source 'From' phone number is required to send an SMS",
    21604: "A 'To' phone number is required.",
}


def error_body(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's error JSON (Messages API, 2010-04-01)."""
    return {
        "code": code,
        "message": message if message is not None else DEFAULT_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class ReceivedRequest:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]  # lower-case names
    auth: tuple[str, str] | None  # decoded Basic credentials
    status: int  # what the fake answered
    raw_body: bytes = b""

    @property
    def to(self) -> str | None:
        return self.form.get("To")


@dataclass
class _Failure:
    code: int | None
    status: int
    message: str | None
    times: int | None  # None: for ever
    retry_after: str | None
    problem_details: bool


@dataclass
class FakeTwilio:
    """The fake's state: credentials, programmed failures, and what it received."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    requests: list[ReceivedRequest] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # created message resources
    failures: dict[str, _Failure] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(
        self,
        to: str,
        code: int | None,
        status: int = 400,
        message: str | None = None,
        *,
        times: int | None = None,
        retry_after: float | str | None = None,
        problem_details: bool = False,
    ) -> None:
        """Refuse messages to ``to`` with Twilio error ``code`` and HTTP ``status``, ``times``
        times (or for ever), then accept them. ``to`` matches the ``To`` field as sent or
        without its ``whatsapp:`` prefix. ``retry_after`` adds a ``Retry-After`` header;
        ``code=None`` answers with a non-JSON body (a proxy's error page);
        ``problem_details`` answers in the RFC 9457 shape of Twilio's newer APIs."""
        with self.lock:
            self.failures[to] = _Failure(
                code,
                status,
                message,
                times,
                None if retry_after is None else str(retry_after),
                problem_details,
            )

    def sent_to(self, to: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if to in (m["to"], _bare(m["to"]))]

    def requests_to(self, to: str) -> list[ReceivedRequest]:
        with self.lock:
            return [r for r in self.requests if r.to is not None and to in (r.to, _bare(r.to))]

    def reset(self) -> None:
        with self.lock:
            self.account_sid, self.auth_token = ACCOUNT_SID, AUTH_TOKEN
            self.requests.clear()
            self.messages.clear()
            self.failures.clear()

    def _take_failure(self, to: str) -> _Failure | None:
        """The failure programmed for ``to``, counting one use (lock held)."""
        failure = self.failures.get(to) or self.failures.get(_bare(to))
        if failure is None or (failure.times is not None and failure.times <= 0):
            return None
        if failure.times is not None:
            failure.times -= 1
        return failure


def _bare(to: str) -> str:
    return to.removeprefix("whatsapp:")


def _now() -> str:
    return format_datetime(datetime.now(UTC), usegmt=True).replace("GMT", "+0000")


def message_resource(account_sid: str, form: dict[str, str]) -> dict[str, Any]:
    """A message resource as Twilio returns it on creation."""
    sid = "SM" + secrets.token_hex(16)
    body = form.get("Body", "")
    service = form.get("MessagingServiceSid")
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    now = _now()
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": str(count_sms(body).segments if body else 1),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        # With a Messaging Service, Twilio first answers "accepted", then picks a sender.
        "status": "accepted" if service and not form.get("From") else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form.get("To"),
        "uri": f"{uri}.json",
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(
        self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bool = False
    ) -> None:
        body = payload if raw else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "text/html; charset=utf-8" if raw else "application/json; charset=utf-8"
        )
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _auth(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        return user, password

    def do_GET(self) -> None:
        self._record(b"", {}, None, 404)
        self._send(404, error_body(20404, 404))

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        auth = self._auth()
        status, payload, headers, as_raw = self._answer(fake, form, auth)
        self._record(raw, form, auth, status)
        self._send(status, payload, headers, as_raw)

    def _answer(
        self, fake: FakeTwilio, form: dict[str, str], auth: tuple[str, str] | None
    ) -> tuple[int, Any, dict[str, str], bool]:
        with fake.lock:
            if auth != (fake.account_sid, fake.auth_token):
                return (
                    401,
                    error_body(20003, 401),
                    {"WWW-Authenticate": 'Basic realm="Twilio API"'},
                    False,
                )
            if self.path != MESSAGES_PATH.format(sid=fake.account_sid):
                return 404, error_body(20404, 404), {}, False
            if not form.get("To"):
                return 400, error_body(21604, 400), {}, False
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return 400, error_body(21603, 400), {}, False
            if not form.get("Body") and not form.get("ContentSid") and not form.get("MediaUrl"):
                return 400, error_body(21602, 400), {}, False
            failure = fake._take_failure(form["To"])
            if failure is not None:
                headers = (
                    {} if failure.retry_after is None else {"Retry-After": failure.retry_after}
                )
                if failure.code is None:
                    page = (
                        f"<html><body>{failure.status} {failure.message or 'Error'}</body></html>"
                    )
                    return failure.status, page.encode(), headers, True
                if failure.problem_details:
                    problem = {
                        "type": f"https://www.twilio.com/docs/errors/{failure.code}",
                        "title": failure.message or DEFAULT_MESSAGES.get(failure.code, "Error"),
                        "status": failure.status,
                        "code": failure.code,
                        "detail": f"Refused by the fake for {form['To']}",
                        "instance": self.path,
                    }
                    return failure.status, problem, headers, False
                return (
                    failure.status,
                    error_body(failure.code, failure.status, failure.message),
                    headers,
                    False,
                )
            resource = message_resource(fake.account_sid, form)
            fake.messages.append(resource)
            return 201, resource, {}, False

    def _record(
        self, raw: bytes, form: dict[str, str], auth: tuple[str, str] | None, status: int
    ) -> None:
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fake.lock:
            fake.requests.append(
                ReceivedRequest(self.command, self.path, form, headers, auth, status, raw)
            )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeTwilio) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class FakeTwilioServer:
    """The HTTP server around a :class:`FakeTwilio`, on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.fake = FakeTwilio()
        self._server = _Server(self.fake)
        self.fake.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def start(self) -> FakeTwilioServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# Named through ``name=`` so that test modules can import them without shadowing (F811).
@pytest.fixture(scope="session", name="twilio_api_server")
def twilio_api_server_fixture() -> Iterator[FakeTwilioServer]:
    server = FakeTwilioServer().start()
    yield server
    server.stop()


@pytest.fixture(name="twilio_api")
def twilio_api_fixture(twilio_api_server: FakeTwilioServer) -> FakeTwilio:
    twilio_api_server.fake.reset()
    return twilio_api_server.fake

"""A fake of Meta's WhatsApp Cloud API (Graph API) on 127.0.0.1, speaking the real shapes.

``POST /{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>``:
- a missing or wrong token: HTTP 401, OAuthException code 190;
- an unknown phone number id: HTTP 400, code 100 subcode 33;
- a malformed body (``messaging_product`` not "whatsapp", ``to`` not digits, ``type`` not
  text|template or without its object): HTTP 400, code 100, details naming the parameter;
- otherwise a failure programmed for ``to`` with :meth:`FakeGraph.fail`, if any is left;
- otherwise HTTP 200 with ``contacts`` and a fresh ``wamid.``.

``GET /{version}/{waba_id}/message_templates`` (same token): the templates programmed with
:meth:`FakeGraph.add_template` (``name``, ``language``, ``status``, ``rejected_reason``), a
page of ``limit`` (default 25) at a time with ``paging.next``; an unknown WABA id: code 100.

Every request is recorded (path, headers, parsed JSON), including refused ones.

Use the ``meta_graph`` fixture by importing ``meta_graph_fixture`` into the test module.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.smtp_server import free_port

TOKEN = "EAAG-test-token-0123456789"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
VERSION = "v21.0"


@dataclass
class GraphRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any  # None when the body is not JSON

    @property
    def to(self) -> str | None:
        return self.json.get("to") if isinstance(self.json, dict) else None


@dataclass
class _Failure:
    code: int
    http_status: int
    message: str
    times: int | None  # None: for ever
    retry_after: str | None
    details: str | None
    subcode: int | None
    body: bytes | None  # a raw body instead of Meta's error shape


def error_body(
    code: int,
    message: str,
    *,
    details: str | None = None,
    subcode: int | None = None,
    type_: str = "OAuthException",
) -> dict[str, Any]:
    """Meta's Graph API error shape."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return {"error": error}


def _bad_parameter(details: str) -> tuple[int, dict[str, Any]]:
    return 400, error_body(100, "(#100) Invalid parameter", details=details)


def validate(payload: Any) -> tuple[int, dict[str, Any]] | None:
    """The error answer for a malformed messages payload, or None when it is well formed."""
    if not isinstance(payload, dict):
        return _bad_parameter("The request body must be a JSON object")
    if payload.get("messaging_product") != "whatsapp":
        return _bad_parameter("Param messaging_product must be 'whatsapp'")
    to = payload.get("to")
    if not isinstance(to, str) or not to.isascii() or not to.isdigit():
        return _bad_parameter("Invalid parameter 'to': must be the phone number's digits")
    kind = payload.get("type", "text")
    if kind == "text":
        text = payload.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("body"), str) or not text["body"]:
            return _bad_parameter("Param text['body'] is required")
    elif kind == "template":
        template = payload.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            return _bad_parameter("Param template['name'] is required")
        language = template.get("language")
        if not isinstance(language, dict) or not isinstance(language.get("code"), str):
            return _bad_parameter("Param template['language']['code'] is required")
        for component in template.get("components", []):
            if not isinstance(component, dict) or component.get("type") not in (
                "header",
                "body",
                "button",
            ):
                return _bad_parameter("Param template['components'][0]['type'] is invalid")
            for parameter in component.get("parameters", []):
                if parameter.get("type") == "text" and not isinstance(parameter.get("text"), str):
                    return _bad_parameter(
                        "Param template['components'][0]['parameters'] is invalid"
                    )
    else:
        return _bad_parameter(f"Param type must be one of text, template; got {kind!r}")
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "text/html" if isinstance(body, bytes) else "application/json"
        )
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        graph = self.server.graph
        request = GraphRequest("GET", self.path, dict(self.headers.items()), b"", None)
        with graph.lock:
            graph.requests.append(request)
        status, body = graph.list_templates(request)
        self._answer(status, body)

    def do_POST(self) -> None:
        graph = self.server.graph
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = None
        request = GraphRequest("POST", self.path, dict(self.headers.items()), raw, payload)
        with graph.lock:
            graph.requests.append(request)
        status, body, headers = graph.answer(request)
        self._answer(status, body, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    graph: FakeGraph


@dataclass
class FakeGraph:
    token: str = TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    version: str = VERSION
    requests: list[GraphRequest] = field(default_factory=list)
    failures: dict[str, _Failure] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    waba_id: str = WABA_ID
    templates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.graph = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeGraph:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """The base URL, to use as ``meta_graph_url``."""
        return f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- programming

    def fail(
        self,
        to: str,
        code: int,
        http_status: int = 400,
        message: str | None = None,
        times: int | None = None,
        retry_after: float | str | None = None,
        *,
        details: str | None = None,
        subcode: int | None = None,
        body: bytes | None = None,
    ) -> None:
        """Answer sends to ``to`` (digits, no "+") with Meta error ``code``, ``times`` times
        (or for ever), then succeed. ``body`` replaces Meta's error shape with raw bytes."""
        with self.lock:
            self.failures[to.removeprefix("+")] = _Failure(
                code=code,
                http_status=http_status,
                message=message if message is not None else f"(#{code}) Error {code}",
                times=times,
                retry_after=None if retry_after is None else str(retry_after),
                details=details,
                subcode=subcode,
                body=body,
            )

    def add_template(
        self, name: str, language: str, status: str = "APPROVED", rejected_reason: str = "NONE"
    ) -> None:
        """A message template of the WABA, as Meta lists it."""
        with self.lock:
            self.templates.append(
                {
                    "name": name,
                    "language": language,
                    "status": status,
                    "category": "UTILITY",
                    "rejected_reason": rejected_reason,
                    "id": str(len(self.templates) + 1000),
                }
            )

    def list_templates(self, request: GraphRequest) -> tuple[int, Any]:
        from urllib.parse import parse_qs, urlencode

        path, _, query = request.path.partition("?")
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != self.version or parts[2] != "message_templates":
            return 400, error_body(100, "Unsupported get request.", type_="GraphMethodException")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, error_body(190, "Invalid OAuth access token - Cannot parse access token")
        if parts[1] != self.waba_id:
            return 400, error_body(
                100,
                f"Object with ID '{parts[1]}' does not exist",
                subcode=33,
                type_="GraphMethodException",
            )
        args = {k: v[0] for k, v in parse_qs(query).items()}
        limit, start = int(args.get("limit", 25)), int(args.get("after", 0))
        with self.lock:
            page = self.templates[start : start + limit]
            more = start + limit < len(self.templates)
        body: dict[str, Any] = {"data": page, "paging": {"cursors": {"after": str(start + limit)}}}
        if more:
            args["after"] = str(start + limit)
            body["paging"]["next"] = f"{self.url}{path}?{urlencode(args)}"
        return 200, body

    def to(self, to: str) -> list[GraphRequest]:
        """Every request addressed to ``to`` (digits, no "+")."""
        with self.lock:
            return [r for r in self.requests if r.to == to.removeprefix("+")]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()
            self.templates.clear()

    # ---------------------------------------------------------------- answering

    def answer(self, request: GraphRequest) -> tuple[int, Any, dict[str, str]]:
        parts = request.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 3 or parts[0] != self.version or parts[2] != "messages":
            return (
                400,
                error_body(
                    2500, f"Unknown path components: {request.path}", type_="OAuthException"
                ),
                {},
            )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return (
                401,
                error_body(190, "Invalid OAuth access token - Cannot parse access token"),
                {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'},
            )
        if parts[1] != self.phone_number_id:
            unsupported = (
                f"Unsupported post request. Object with ID '{parts[1]}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation."
            )
            return 400, error_body(100, unsupported, subcode=33, type_="GraphMethodException"), {}
        invalid = validate(request.json)
        if invalid is not None:
            return invalid[0], invalid[1], {}
        to = request.json["to"]
        with self.lock:
            failure = self.failures.get(to)
            if failure is not None and (failure.times is None or failure.times > 0):
                if failure.times is not None:
                    failure.times -= 1
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                if failure.body is not None:
                    return failure.http_status, failure.body, headers
                body = error_body(
                    failure.code,
                    failure.message,
                    details=failure.details if failure.details is not None else failure.message,
                    subcode=failure.subcode,
                )
                return failure.http_status, body, headers
        message: dict[str, str] = {"id": "wamid." + secrets.token_urlsafe(36)}
        if request.json.get("type") == "template":
            message["message_status"] = "accepted"
        success = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [message],
        }
        return 200, success, {}


@pytest.fixture(name="meta_graph")
def meta_graph_fixture() -> Iterator[FakeGraph]:
    """A fresh fake Graph API for one test."""
    graph = FakeGraph().start()
    try:
        yield graph
    finally:
        graph.stop()

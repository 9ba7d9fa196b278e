"""A receiving application: a Starlette app on uvicorn, on its own thread and loop, that
verifies every request with ``standardwebhooks`` and answers as each test tells it; and a
loan desk (time-skipping Temporal, SQLite, SMTP, the workers) whose endpoints point at it."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from herald.contracts import WebhookDeliveryResult, webhook_workflow_id
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk

# Small, so that a test sees an endpoint disabled after a few failures.
DISABLE_AFTER = 3


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def doc(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Hook:
    """One receiving path: its secret and how it answers."""

    secret: str | None = None
    fail_first: int = 0  # answer ``fail_status`` to this many requests, then 200
    fail_status: int = 500
    verified: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why a request failed verification
    answered: list[int] = field(default_factory=list)
    # Called with the number of requests verified so far, before answering.
    on_request: Callable[[int], None] | None = None


class Receiver:
    def __init__(self) -> None:
        self.hooks: dict[str, Hook] = {}
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/hooks/{name}", self._receive, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> Receiver:
        self.thread.start()
        started = threading.Event()
        while not self.server.started:
            if not self.thread.is_alive():
                raise AssertionError("the receiver could not start")
            started.wait(0.01)
        self.port = int(self.server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def hook(self, name: str, **how: Any) -> Hook:
        with self._lock:
            self.hooks[name] = Hook(**how)
            return self.hooks[name]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    async def _receive(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        headers = dict(request.headers)
        with self._lock:
            hook = self.hooks.get(name)
            if hook is None or hook.secret is None:
                return Response(status_code=404)
            try:
                Webhook(hook.secret).verify(body, headers)
            except WebhookVerificationError as err:
                hook.refused.append(str(err))
                hook.answered.append(401)
                return Response(status_code=401)
            hook.verified.append(Received(name, headers, body))
            if hook.on_request is not None:
                hook.on_request(len(hook.verified))
            status = hook.fail_status if len(hook.verified) <= hook.fail_first else 200
            hook.answered.append(status)
        return Response(status_code=status)


@pytest.fixture(scope="session")
def receiver_session() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(receiver_session: Receiver) -> Receiver:
    receiver_session.hooks.clear()
    return receiver_session


@pytest.fixture
async def hooks(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    """A loan desk whose endpoints are disabled after DISABLE_AFTER failures in a row."""
    async with open_desk(ts_env, smtp, tmp_path, webhook_disable_after=DISABLE_AFTER) as desk:
        yield desk


async def add_endpoint(
    desk: Desk, receiver: Receiver, name: str, events: list[str], **how: Any
) -> tuple[str, Hook]:
    """An endpoint of ``desk`` pointing at the receiver's ``name`` path, and that path."""
    hook = receiver.hook(name, **how)
    doc = await desk.herald.add_webhook(receiver.url(name), events=events)
    hook.secret = doc["secret"]
    return doc["id"], hook


async def delivered(desk: Desk, event_id: str) -> WebhookDeliveryResult:
    """The event's workflow result: awaiting it lets the test server skip the backoffs."""
    handle = desk.herald.client.get_workflow_handle(
        webhook_workflow_id(event_id), result_type=WebhookDeliveryResult
    )
    return await handle.result()

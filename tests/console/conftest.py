"""The console on a real uvicorn server: over the desk (time-skipping Temporal, SQLite, the
local SMTP server and the workers) for the pages that send, or over a Herald without
Temporal for sign-in and sessions; and an HTTP client that signs in as a browser would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from starter.client import Herald
from tests.api.conftest import bare_herald, serving
from tests.workflows.conftest import desk  # noqa: F401 - the fixture, for these tests
from tests.workflows.test_loan_workflow import Desk

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    url: str
    herald: Herald
    ops_key: str
    app_key: str

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=60, **kw)


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, secret: str, next_: str = "/") -> httpx.Response:
    """The sign-in form, filled and sent: answers the POST's response (303 when accepted)."""
    form = await http.get("/console/login")
    return await http.post(
        "/console/login", data={"csrf": csrf_of(form), "secret": secret, "next": next_}
    )


async def post_form(
    http: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    """A form of ``page`` sent to ``action``, with the page's CSRF token."""
    shown = await http.get(page)
    assert shown.status_code == 200, shown.text[:500]
    return await http.post(action, data={"csrf": csrf_of(shown), **fields})


def keys(herald: Herald) -> tuple[str, str]:
    store = ApiKeys(herald.store)
    return store.create("console-ops", "ops").key, store.create("shop", "app").key


@pytest.fixture
async def bare_console(tmp_path: Path) -> AsyncIterator[Console]:
    """The console over a Herald without Temporal, with a password and keys."""
    herald = bare_herald(tmp_path, console_password=PASSWORD)
    ops, app = keys(herald)
    async with serving(create_app(herald, ready_timeout=60)) as url:
        yield Console(url, herald, ops, app)
    herald.close()


@pytest.fixture
async def desk_console(desk: Desk) -> AsyncIterator[Console]:  # noqa: F811 - the fixture
    ops, app = keys(desk.herald)
    async with serving(create_app(desk.herald, ready_timeout=60)) as url:
        yield Console(url, desk.herald, ops, app)

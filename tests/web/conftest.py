"""The browser's doors on real servers: Herald's API (uvicorn, 127.0.0.1, an OS-picked port)
and, on another origin, the application's page that embeds the bell the way the README
shows: one module script and one ``<herald-inbox>`` tag, with a token the application
minted server-side through Herald's API with its own API key (never sent to the browser)."""

from __future__ import annotations

import html
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.http_client import HttpHerald
from herald.subscriber_tokens import mint
from starter.client import Herald
from tests.api.conftest import bare_herald, serving

SECRET = SecretStr("test-subscriber-token-secret-0123456789abcdef")


@dataclass
class Stack:
    """Herald's API and the application's page, each on its own origin."""

    herald: Herald
    api_url: str
    app_url: str  # the application's origin, allowed by HERALD_CORS_ORIGINS
    api_key: str  # the application's key: used by its server only
    shared: dict[str, Any]

    async def token(self, subscriber_id: str, ttl: int = 3600) -> str:
        async with HttpHerald(self.api_url, self.api_key, timeout=60) as app_side:
            return (await app_side.mint_subscriber_token(subscriber_id, ttl=ttl)).token

    def page(self, subscriber_id: str) -> str:
        """The application's page for a person signed in as ``subscriber_id``."""
        return f"{self.app_url}/?as={subscriber_id}"

    def renewing_page(self, subscriber_id: str) -> str:
        """The same page, its element fetching tokens from the application as needed."""
        return f"{self.app_url}/?as={subscriber_id}&renew=1"

    def minted(self) -> int:
        """How many tokens the application's /herald-token handed out."""
        return int(self.shared.get("minted", 0))

    def preferences(self, token: str) -> str:
        return f"{self.api_url}/ui/preferences#token={token}"


HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tool library</title>
  <link rel="stylesheet" href="/app.css">
  <script type="module" src="{herald}/ui/herald-inbox.js"></script>
</head>
<body>
  <header>
    <strong>Tool library</strong>
    <nav><a href="#">Loans</a><a href="#">Items</a></nav>
    <herald-inbox {auth}></herald-inbox>
  </header>
  <main><h1>Good morning</h1><p>Your loans and their due dates.</p></main>
</body>
</html>
"""
# The application's own look: a header bar with the bell on its right.
APP_CSS = """
body { margin: 0; font-family: system-ui, sans-serif; background: #f6f7f9; color: #1f2933; }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px;
         background: #fff; border-bottom: 1px solid #e4e7eb; }
header nav { display: flex; gap: 16px; flex: 1; }
header nav a { color: #52606d; text-decoration: none; }
main { padding: 24px; max-width: 860px; }
@media (max-width: 480px) { header { padding: 8px 12px; gap: 12px; } header nav { display: none; }
  header strong { flex: 1; } }
"""


def application(shared: dict[str, Any]) -> Starlette:
    """The host application: it mints the person's token server-side, per page view."""

    async def page(request: Request) -> HTMLResponse:
        stack: Stack = shared["stack"]
        who = request.query_params["as"]
        if "renew" in request.query_params:  # the element asks /herald-token when it must
            auth = f'token-url="/herald-token?as={html.escape(who)}"'
        else:
            auth = f'token="{html.escape(await stack.token(who))}"'
        return HTMLResponse(HOST_PAGE.format(herald=html.escape(stack.api_url), auth=auth))

    async def token(request: Request) -> JSONResponse:
        """A fresh token for the signed-in person; the first one expires within seconds."""
        stack: Stack = shared["stack"]
        who = request.query_params["as"]
        shared["minted"] = shared.get("minted", 0) + 1
        if shared["minted"] == 1:
            soon = mint(
                SECRET.get_secret_value().encode(), who, timedelta(minutes=1), now=time.time() - 57
            )
            return JSONResponse({"token": soon.token})
        return JSONResponse({"token": await stack.token(who)})

    async def css(_: Request) -> Response:
        return Response(APP_CSS, media_type="text/css")

    return Starlette(
        routes=[Route("/", page), Route("/app.css", css), Route("/herald-token", token)]
    )


@asynccontextmanager
async def stack_over(herald: Herald) -> AsyncIterator[Stack]:
    """Serve the application's page, then Herald's API allowing that page's origin."""
    shared: dict[str, Any] = {}
    async with serving(application(shared)) as app_url:
        settings = herald.settings.model_copy(update={"cors_origins": [app_url]})
        key = ApiKeys(herald.store).create("tool-library").key
        async with serving(create_app(herald, settings, ready_timeout=60)) as api_url:
            stack = Stack(herald, api_url, app_url, key, shared)
            shared["stack"] = stack
            yield stack


def web_herald(tmp_path: Path, **overrides: Any) -> Herald:
    """A Herald without Temporal, able to mint subscriber tokens."""
    return bare_herald(tmp_path, subscriber_token_secret=SECRET, **overrides)

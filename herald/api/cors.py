"""CORS for the browser's doors only: the pages that embed the bell or the preferences
(``HERALD_CORS_ORIGINS``) may load ``/ui/`` (module scripts are fetched with CORS) and call
``/v1/me/``; every other route stays closed to other origins. Credentials are never
allowed: the browser sends a subscriber token in a header, not a cookie."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware

from herald.api.gate import ASGIApp, Receive, Scope, Send

# A preflight answer is cached by the browser this long (seconds).
PREFLIGHT_MAX_AGE = 600


class BrowserCors:
    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = (
            CORSMiddleware(
                app,
                allow_origins=origins,
                allow_methods=["GET", "POST", "PUT"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,
                max_age=PREFLIGHT_MAX_AGE,
            )
            if origins
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.cors is not None and scope["type"] == "http" and _browser_path(path):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _browser_path(path: str) -> bool:
    return path.startswith(("/ui/", "/v1/me/"))

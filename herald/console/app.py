"""The ops console's application, mounted by the HTTP API under ``/console``: its session
and CSRF layer, its sign-in, language and sign-out routes, the registered pages
(:mod:`herald.console.pages`), the stylesheet, and the HTML error pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from herald.api.keys import ApiKeys
from herald.console import i18n
from herald.console.auth import COOKIE, Auth, Session
from herald.console.pages import ConsolePage, load_pages
from herald.settings import Settings

if TYPE_CHECKING:
    from starter.client import Herald

log = logging.getLogger("herald.console")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HERE = Path(__file__).resolve().parent
FLASH_PARAM_LIMIT = 400
# Every page: only this console's own styles, no script at all, framed only by itself.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "SAMEORIGIN",
    "cache-control": "no-store",
}


class LoginRequired(Exception):
    """The page needs a signed-in session."""


class Console:
    """What every page shares: the service layer, the settings, the session layer and the
    renderer."""

    def __init__(self, herald: Herald, settings: Settings) -> None:
        self.herald = herald
        self.settings = settings
        self.auth = Auth(settings, ApiKeys(herald.store))
        self.pages: list[ConsolePage] = load_pages()
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates = Jinja2Templates(env=env)

    # ------------------------------------------------------------------ helpers for pages

    @staticmethod
    def session(request: Request) -> Session:
        session = request.state.session
        assert isinstance(session, Session)
        return session

    @staticmethod
    def base(request: Request) -> str:
        """The console's own address (``/console``, behind any root path)."""
        return str(request.scope.get("root_path", "")).rstrip("/")

    def texts(self, request: Request) -> i18n.Texts:
        session = self.session(request)
        lang = session.lang or i18n.negotiate(request.headers.get("accept-language"))
        return i18n.Texts(lang, self.settings.default_timezone)

    def signed_in(self, request: Request) -> Session:
        """The signed-in session; else the sign-in page (then back here)."""
        session = self.session(request)
        if not session.signed_in:
            raise LoginRequired
        return session

    def flash(self, request: Request, level: str, key: str, **params: object) -> None:
        """A message for the next page (shown once)."""
        bounded = {k: str(v)[:FLASH_PARAM_LIMIT] for k, v in params.items()}
        self.session(request).add_flash(level, key, **bounded)

    def redirect(self, request: Request, path: str) -> RedirectResponse:
        """303 to ``path`` under the console (after a POST: the page to show)."""
        return RedirectResponse(self.base(request) + path, status_code=303)

    def who(self, session: Session, t: i18n.Texts) -> str:
        if session.who is None:
            return ""
        if session.who.startswith("key:"):
            return t("login.who_key", name=session.who[4:])
        return t("login.who_password")

    def actor(self, session: Session) -> str:
        """Who did it, for the delivery log (a resend's note)."""
        return f"console ({session.who})"

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        session = self.session(request)
        t = self.texts(request)
        base = self.base(request)
        here = str(request.scope.get("path", ""))
        current = here[len(base) :] if here.startswith(base) else here
        nav = [
            {
                "title": t(page.title_key),
                "url": base + page.path,
                "active": current == page.path
                or (page.path != "/" and current.startswith(page.path + "/")),
            }
            for page in self.pages
        ]
        flashes = [
            {"level": f.get("level", "info"), "text": t(f["key"], **f.get("params", {}))}
            for f in session.take_flash()
            if isinstance(f.get("key"), str) and t.has(f["key"])
        ]
        query = request.url.query
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "t": t,
                "lang": t.lang,
                "other_lang": "fr" if t.lang == "en" else "en",
                "base": base,
                "nav": nav,
                "csrf": session.csrf,
                "who": self.who(session, t),
                "flashes": flashes,
                "brand": self.settings.brand_name,
                "here": current + (f"?{query}" if query else ""),
                **context,
            },
            status_code=status_code,
        )

    def error_page(self, request: Request, status: int, title: str, text: str) -> HTMLResponse:
        t = self.texts(request)
        return self.render(
            request, "console/error.html", status_code=status, title=t(title), message=t(text)
        )

    def safe_next(self, request: Request, target: object) -> str:
        """Where to go after a form: a page of this console, else the dashboard."""
        if (
            isinstance(target, str)
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
            and len(target) <= 1000
            and target.isprintable()
        ):
            return target
        return "/"


class SessionLayer:
    """Reads the session cookie into ``request.state.session``, refuses every POST whose
    form lacks the session's CSRF token, writes the cookie back when the session changed,
    and adds the console's security headers."""

    def __init__(self, app: Any, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        base = str(scope.get("root_path", "")).rstrip("/")
        path = str(scope.get("path", ""))
        if path.startswith(base + "/static/"):
            await self.app(scope, receive, send)
            return
        auth = self.console.auth
        # A key's session reads the key table: off the event loop.
        session = await asyncio.to_thread(auth.read, request.cookies.get(COOKIE))
        state = scope.setdefault("state", {})
        state["session"] = session
        secure = auth.secure(request.url.scheme, request.url.hostname)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(k).lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                current = state.get("session")
                if isinstance(current, Session) and current.changed:
                    headers.append((b"set-cookie", self._cookie(current, base, secure)))
                message["headers"] = headers
            await send(message)

        if scope["method"] == "POST":
            body = await _read_body(receive)
            if not auth.csrf_ok(session, _form_value(scope, body, "csrf")):
                log.warning("console: POST %s refused: missing or wrong CSRF token", path)
                response = self.console.error_page(request, 403, "error.csrf_title", "error.csrf")
                await response(scope, receive, send_with_cookie)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, session: Session, base: str, secure: bool) -> bytes:
        auth = self.console.auth
        parts = [
            f"{COOKIE}={auth.dump(session)}",
            f"Path={base or '/'}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if session.signed_in:
            parts.append(f"Max-Age={int(auth.lifetime)}")
        if secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _form_value(scope: Scope, body: bytes, name: str) -> str | None:
    """One field of a url-encoded form (the console's forms are all url-encoded)."""
    content_type = ""
    for key, value in scope.get("headers", []):
        if bytes(key).lower() == b"content-type":
            content_type = bytes(value).decode("latin-1").lower()
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    try:
        values = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        return None
    found = values.get(name)
    return found[0] if found and len(found) == 1 else None


def build_console(herald: Herald, settings: Settings | None = None) -> SessionLayer:
    """The console as an application of its own, to mount under ``/console``."""
    console = Console(herald, settings or herald.settings)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console
    from herald.console import session_routes

    app.include_router(session_routes.build_router(console))
    for page in console.pages:
        app.include_router(page.build(console))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> Response:
        here = str(request.scope.get("path", ""))
        query = f"?{request.url.query}" if request.url.query else ""
        base = console.base(request)
        target = here[len(base) :] if here.startswith(base) else "/"
        return RedirectResponse(
            f"{base}/login?next={quote(target + query, safe='/')}", status_code=303
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, err: RequestValidationError) -> Response:
        first: dict[str, Any] = dict(next(iter(err.errors()), {}))
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        t = console.texts(request)
        return console.render(
            request,
            "console/error.html",
            status_code=400,
            title=t("error.generic_title"),
            message=t("error.invalid", reason=f"{where}: {first.get('msg', 'invalid')}"),
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, err: StarletteHTTPException) -> Response:
        if err.status_code == 404:
            return console.error_page(request, 404, "error.not_found_title", "error.not_found")
        return console.render(
            request,
            "console/error.html",
            status_code=err.status_code,
            title=console.texts(request)("error.generic_title"),
            message=str(err.detail),
        )

    @app.exception_handler(Exception)
    async def on_error(request: Request, err: Exception) -> Response:
        # Logged by the API's gate, which the exception reaches after this page is sent.
        t = console.texts(request)
        return console.render(
            request,
            "console/error.html",
            status_code=500,
            title=t("error.generic_title"),
            message=type(err).__name__,
        )

    return SessionLayer(app, console)

"""Signing in and out of the console, and its language (every POST's CSRF token is checked
before these run, by :class:`herald.console.app.SessionLayer`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.console.i18n import LANGUAGES

if TYPE_CHECKING:
    from herald.console.app import Console

SECRET_LIMIT = 1000


def build_router(console: Console) -> APIRouter:
    r = APIRouter()
    auth = console.auth

    async def login_page(
        request: Request, next_: str, *, error: str | None = None, status: int = 200, **kw: object
    ) -> Response:
        t = console.texts(request)
        can_sign_in = await asyncio.to_thread(auth.can_sign_in)
        return console.render(
            request,
            "console/login.html",
            status_code=status,
            next=next_,
            error=t(error, **kw) if error else None,
            can_sign_in=can_sign_in,
        )

    @r.get("/login")
    async def login_form(request: Request, next: str = "/") -> Response:
        session = console.session(request)
        target = console.safe_next(request, next)
        if session.signed_in:
            return console.redirect(request, target)
        session.changed = True  # an anonymous session: the form's CSRF token
        return await login_page(request, target)

    @r.post("/login")
    async def login(
        request: Request,
        secret: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        target = console.safe_next(request, next)
        address = request.client.host if request.client else "?"
        wait = auth.throttle.locked_for(address)
        if wait:
            minutes = max(1, int(-(-wait // 60)))
            return await login_page(
                request, target, error="login.locked", status=429, minutes=minutes
            )
        outcome = (
            "login.refused"
            if not secret or len(secret) > SECRET_LIMIT
            else await asyncio.to_thread(auth.check_secret, secret.strip())
        )
        if isinstance(outcome, str):
            auth.throttle.failed(address)
            return await login_page(request, target, error=outcome, status=401)
        auth.throttle.succeeded(address)
        who, key_id = outcome
        request.state.session = auth.signed_in(console.session(request), who, key_id)
        return console.redirect(request, target)

    @r.post("/logout")
    async def logout(request: Request) -> Response:
        request.state.session = auth.sign_out(console.session(request))
        return console.redirect(request, "/login")

    @r.post("/lang")
    async def language(
        request: Request,
        lang: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        session = console.session(request)
        if lang in LANGUAGES:
            session.lang = lang
            session.changed = True
        return console.redirect(request, console.safe_next(request, next))

    return r

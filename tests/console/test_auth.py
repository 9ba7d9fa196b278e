"""Signing in to the console, its session cookie and CSRF protection, over HTTP on a real
server: the password and ops keys let in, anything else does not; the cookie is
HttpOnly, SameSite=Strict, scoped to /console and Secure off the loopback; every POST
without the session's token is refused before anything is done; signing out, a revoked key
or an expired cookie end the session."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from starlette.routing import Mount

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.console.auth import COOKIE, MAX_FAILURES, SALT
from tests.api.conftest import bare_herald, serving
from tests.console.conftest import PASSWORD, Console, csrf_of, post_form, sign_in


def post_routes(routes: list[Any]) -> list[str]:
    """The paths of every POST route, in included routers too."""
    found: list[str] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += post_routes(inner.routes)
        elif "POST" in (getattr(route, "methods", None) or ()):
            found.append(route.path)
    return found


def cookie_attributes(response: httpx.Response) -> dict[str, str | bool]:
    """The console cookie's attributes as the response set them."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}="):
            parts = [p.strip() for p in header.split(";")]
            found: dict[str, str | bool] = {"value": parts[0].split("=", 1)[1]}
            for part in parts[1:]:
                name, sep, value = part.partition("=")
                found[name.lower()] = value if sep else True
            return found
    raise AssertionError(f"no {COOKIE} cookie set: {response.headers}")


async def test_the_pages_need_a_session_and_send_to_the_sign_in_page(
    bare_console: Console,
) -> None:
    async with bare_console.client() as http:
        for path in ("/", "/failures", "/test-send", "/templates", "/objects", "/health"):
            page = await http.get(f"/console{path}?a=1")
            assert page.status_code == 303, path
            assert page.headers["location"] == f"/console/login?next={path}%3Fa%3D1"
        assert (await http.get("/console/templates/kinds/loan.created/frame")).status_code == 303
        assert (await http.get("/console/objects/loan/L-1")).status_code == 303
        form = await http.get("/console/login")
    assert form.status_code == 200
    assert 'type="password"' in form.text and "Sign in" in form.text
    assert form.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in form.headers["content-security-policy"]
    assert "script-src" not in form.headers["content-security-policy"]


async def test_the_password_and_an_ops_key_let_in_and_nothing_else(
    bare_console: Console,
) -> None:
    for secret in (PASSWORD, bare_console.ops_key):
        async with bare_console.client() as http:
            answer = await sign_in(http, secret, next_="/failures")
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/failures"
            page = await http.get("/console/failures")
            assert page.status_code == 200 and "Failed for good" in page.text
    # A destination off the console is not followed.
    async with bare_console.client() as http:
        answer = await sign_in(http, PASSWORD, next_="//evil.example/x")
        assert answer.headers["location"] == "/console/"
    async with bare_console.client() as http:
        page = await http.get("/console/")
        assert page.status_code == 303
        for wrong in ("not the password", PASSWORD.upper(), "hrld_00000000_nope", ""):
            refused = await sign_in(http, wrong)
            assert refused.status_code == 401
            assert "was not accepted" in refused.text
        app_key = await sign_in(http, bare_console.app_key)
        assert app_key.status_code == 401 and "scope app" in app_key.text
        assert (await http.get("/console/")).status_code == 303


async def test_the_cookie_is_http_only_strict_scoped_and_secure_off_the_loopback(
    bare_console: Console,
) -> None:
    async with bare_console.client() as http:
        form = await http.get("/console/login")
        anonymous = cookie_attributes(form)
        assert anonymous["httponly"] is True
        assert anonymous["samesite"] == "Strict"
        assert anonymous["path"] == "/console"
        assert "secure" not in anonymous  # http on the loopback: a browser would drop it
        answer = await http.post(
            "/console/login", data={"csrf": csrf_of(form), "secret": PASSWORD, "next": "/"}
        )
        signed_in = cookie_attributes(answer)
        assert signed_in["value"] != anonymous["value"]
        assert signed_in["max-age"] == str(8 * 3600)
        assert signed_in["httponly"] is True and signed_in["samesite"] == "Strict"
        # Nothing secret in it: the signed document says who, not with what.
        for secret in (PASSWORD, bare_console.ops_key):
            assert secret not in str(signed_in["value"])
    # Reached by another name than the loopback's (behind a proxy): Secure.
    async with bare_console.client(headers={"Host": "ops.example.org"}) as http:
        assert cookie_attributes(await http.get("/console/login"))["secure"] is True


async def test_the_secure_flag_and_the_signing_key_follow_the_settings(tmp_path: Path) -> None:
    herald = bare_herald(
        tmp_path,
        console_password=PASSWORD,
        console_secure_cookie=True,
        console_secret="a fixed secret for every process",
    )
    try:
        async with serving(create_app(herald)) as url, httpx.AsyncClient(base_url=url) as http:
            first = cookie_attributes(await http.get("/console/login"))
            assert first["secure"] is True
        # Another process with the same secret reads the same cookie (sent by hand: a
        # client keeps a Secure cookie for https).
        async with serving(create_app(herald)) as url, httpx.AsyncClient(base_url=url) as http:
            form = await http.get("/console/login")
            anonymous = str(cookie_attributes(form)["value"])
            async with httpx.AsyncClient(base_url=url, cookies={COOKIE: anonymous}) as browser:
                answer = await browser.post(
                    "/console/login", data={"csrf": csrf_of(form), "secret": PASSWORD}
                )
            assert answer.status_code == 303
            cookie = str(cookie_attributes(answer)["value"])
        async with (
            serving(create_app(herald)) as url,
            httpx.AsyncClient(base_url=url, cookies={COOKIE: cookie}) as http,
        ):
            assert (await http.get("/console/")).status_code == 200
    finally:
        herald.close()


async def test_every_post_without_the_sessions_token_is_refused(bare_console: Console) -> None:
    app = create_app(bare_console.herald)
    console = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/console")
    routes = post_routes(console.app.app.routes)  # type: ignore[attr-defined]
    assert {
        "/login",
        "/logout",
        "/lang",
        "/test-send",
        "/templates/admin",
        "/failures/{delivery_id}/resend",
        "/objects/{kind}/{object_id}/send-now",
    } <= set(routes)
    assert len(routes) == 8, routes
    # Every path parameter filled with a value the route would take.
    samples = {"delivery_id": "1", "kind": "loan", "object_id": "L-1"}
    posts = [re.sub(r"{(\w+)}", lambda m: samples.get(m.group(1), "x"), p) for p in routes]
    async with bare_console.client() as http:
        await sign_in(http, PASSWORD)
        token = csrf_of(await http.get("/console/"))
        for path in posts:
            for data in ({}, {"csrf": ""}, {"csrf": token + "x"}, {"csrf": [token, token]}):
                refused = await http.post(f"/console{path}", data=data)
                assert refused.status_code == 403, (path, data, refused.text[:300])
                assert "This form cannot be accepted" in refused.text
            # The right token in JSON is no form either.
            refused = await http.post(f"/console{path}", json={"csrf": token})
            assert refused.status_code == 403
        # Nothing was done: still signed in, no template saved.
        assert (await http.get("/console/")).status_code == 200
        assert await bare_console.herald.templates() == []
    # Another session's token does not do either.
    async with bare_console.client() as other:
        await sign_in(other, PASSWORD)
        async with bare_console.client() as http:
            await sign_in(http, PASSWORD)
            theirs = csrf_of(await other.get("/console/"))
            refused = await http.post("/console/logout", data={"csrf": theirs})
            assert refused.status_code == 403


async def test_signing_out_ends_the_session_even_for_a_kept_cookie(
    bare_console: Console,
) -> None:
    async with bare_console.client() as http:
        await sign_in(http, bare_console.ops_key)
        kept = http.cookies[COOKIE]
        out = await post_form(http, "/console/", "/console/logout")
        assert out.status_code == 303 and out.headers["location"] == "/console/login"
        page = await http.get("/console/login")
        assert "You are signed out." in page.text
        assert (await http.get("/console/")).status_code == 303
    async with bare_console.client(cookies={COOKIE: kept}) as replayed:
        assert (await replayed.get("/console/")).status_code == 303


async def test_revoking_the_key_ends_its_sessions(bare_console: Console) -> None:
    async with bare_console.client() as http:
        await sign_in(http, bare_console.ops_key)
        assert (await http.get("/console/")).status_code == 200
        ApiKeys(bare_console.herald.store).revoke("console-ops")
        assert (await http.get("/console/")).status_code == 303
        assert "Your session has ended" in (await http.get("/console/login")).text


async def test_a_forged_tampered_or_expired_cookie_is_no_session(tmp_path: Path) -> None:
    secret = "the console's signing key"
    herald = bare_herald(tmp_path, console_password=PASSWORD, console_secret=secret)
    signer = URLSafeTimedSerializer(secret, salt=SALT)
    doc = {"sid": "s", "csrf": "c", "who": "password", "key": None, "lang": None, "flash": []}
    try:
        async with serving(create_app(herald)) as url:
            valid = signer.dumps({**doc, "exp": time.time() + 3600})
            async with httpx.AsyncClient(base_url=url, cookies={COOKIE: valid}) as http:
                assert (await http.get("/console/")).status_code == 200
            for cookie in (
                signer.dumps({**doc, "exp": time.time() - 1}),  # past its sign-in's lifetime
                URLSafeTimedSerializer("another key", salt=SALT).dumps(
                    {**doc, "exp": time.time() + 3600}
                ),
                valid[:-2] + ("AA" if not valid.endswith("AA") else "BB"),
                "x" * 5000,
            ):
                async with httpx.AsyncClient(base_url=url, cookies={COOKIE: cookie}) as http:
                    assert (await http.get("/console/")).status_code == 303
    finally:
        herald.close()


async def test_repeated_failures_lock_the_address_out_even_with_the_password(
    bare_console: Console,
) -> None:
    async with bare_console.client() as http:
        for _ in range(MAX_FAILURES):
            assert (await sign_in(http, "guess")).status_code == 401
        locked = await sign_in(http, PASSWORD)
        assert locked.status_code == 429
        assert "Too many failed attempts" in locked.text and "15 min" in locked.text
        assert (await http.get("/console/")).status_code == 303


async def test_nothing_configured_says_how_to_get_in(tmp_path: Path) -> None:
    herald = bare_herald(tmp_path)
    try:
        async with serving(create_app(herald)) as url, httpx.AsyncClient(base_url=url) as http:
            page = await http.get("/console/login")
            assert "herald api-key create NAME --scope ops" in page.text
            assert (await sign_in(http, "")).status_code == 401
    finally:
        herald.close()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("fr-FR,fr;q=0.9,en;q=0.5", "Connexion"), ("de-DE,en;q=0.4", "Sign in"), ("", "Sign in")],
)
async def test_the_language_follows_the_browser_then_the_switch(
    bare_console: Console, accept: str, expected: str
) -> None:
    async with bare_console.client(headers={"Accept-Language": accept}) as http:
        page = await http.get("/console/login")
        assert f"<h1>{expected}</h1>" in page.text
        assert page.text.count('lang="fr"' if expected == "Connexion" else 'lang="en"') >= 1
        other = "en" if expected == "Connexion" else "fr"
        switched = await http.post(
            "/console/lang",
            data={"csrf": csrf_of(page), "lang": other, "next": "/login"},
        )
        assert switched.headers["location"] == "/console/login"
        again = await http.get("/console/login")
        assert f'<html lang="{other}">' in again.text

"""The browser's doors over HTTP, no browser needed: subscriber tokens (minted by the
application with its API key, or by the application itself with the shared secret), a
person's routes that serve that person only, CORS for the configured origins on /ui/ and
/v1/me/ only, the live unread stream, and the pages' headers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import event

from herald.errors import InvalidInput, NotFound, Unavailable
from herald.settings import Settings
from herald.subscriber_tokens import AUDIENCE, mint
from starter.cli import EXIT_INVALID, main
from starter.client import Herald
from tests.api.conftest import bare_herald
from tests.web.conftest import SECRET, Stack, stack_over, web_herald

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = SECRET.get_secret_value().encode()


def add(herald: Herald, who: str, title: str, key: str | None = None) -> int:
    return herald.store.add_inbox(
        delivery_key=key or f"{who}-{title}",
        subscriber_id=who,
        kind="loan.reminder_j1",
        title=title,
        body="…",
        priority="high",
        link=None,
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    herald = web_herald(tmp_path)
    for who in ("ana", "ben"):
        herald.store.upsert_subscriber(who, name=who.title(), email=f"{who}@example.org")
    async with stack_over(herald) as s:
        yield s
    herald.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_serves_its_person_only(stack: Stack) -> None:
    ana_note = add(stack.herald, "ana", "Ana's drill")
    ben_note = add(stack.herald, "ben", "Ben's ladder")
    ana = bearer(await stack.token("ana"))
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        listed = (await http.get("/v1/me/inbox", headers=ana)).json()
        assert [n["title"] for n in listed] == ["Ana's drill"]
        assert (await http.get("/v1/me/profile", headers=ana)).json()["subscriber_id"] == "ana"

        # Ben's notification through Ana's token: nothing changes for Ben.
        done = await http.post(
            "/v1/me/inbox/read", headers=ana, json={"notification_ids": [ben_note]}
        )
        assert done.json() == {"subscriber_id": "ana", "marked_read": 0}
        done = await http.post(
            "/v1/me/inbox/archive", headers=ana, json={"notification_ids": [ben_note]}
        )
        assert done.json() == {"subscriber_id": "ana", "changed": 0, "unknown": [ben_note]}
        stack.herald.store.mark_read("ben")
        done = await http.post(
            "/v1/me/inbox/unread", headers=ana, json={"notification_ids": [ben_note]}
        )
        assert done.json()["unknown"] == [ben_note]
        assert await stack.herald.inbox("ben", read=True) != []  # still read
        assert (await stack.herald.inbox("ben"))[0]["archived"] is False

        # "Mark all" and "archive all" are Ana's all.
        await http.post("/v1/me/inbox/read", headers=ana, json={"notification_ids": None})
        assert await stack.herald.unread_count("ana") == 0
        await http.post("/v1/me/inbox/unread", headers=ana, json={"notification_ids": [ana_note]})
        assert (await http.get("/v1/me/inbox/unread-count", headers=ana)).json()["unread"] == 1
        await http.post("/v1/me/inbox/archive", headers=ana, json={"notification_ids": None})
        assert (await http.get("/v1/me/inbox", headers=ana)).json() == []
        assert len(await stack.herald.inbox("ben")) == 1

        # The archived view, and restoring: Ana's own only.
        archived = await http.get("/v1/me/inbox", headers=ana, params={"archived": True})
        assert [n["id"] for n in archived.json()] == [ana_note]
        await stack.herald.archive("ben", [ben_note])
        done = await http.post(
            "/v1/me/inbox/unarchive", headers=ana, json={"notification_ids": [ben_note]}
        )
        assert done.json() == {"subscriber_id": "ana", "changed": 0, "unknown": [ben_note]}
        assert await stack.herald.inbox("ben") == []  # still archived
        done = await http.post(
            "/v1/me/inbox/unarchive", headers=ana, json={"notification_ids": None}
        )
        assert done.json() == {"subscriber_id": "ana", "changed": 1, "unknown": []}
        listed = (await http.get("/v1/me/inbox", headers=ana)).json()
        assert [n["id"] for n in listed] == [ana_note]
        assert (await http.get("/v1/me/inbox/unread-count", headers=ana)).json()["unread"] == 1

        # A query naming someone else changes nothing: there is no person in these paths.
        await stack.herald.unarchive("ben", [ben_note])
        sneaky = await http.get("/v1/me/inbox", headers=ana, params={"subscriber_id": "ben"})
        assert [n["id"] for n in sneaky.json()] == [ana_note]
        # Preferences too.
        await http.put("/v1/me/preferences", headers=ana, json={"sms": True})
        assert (await stack.herald.get_preferences("ana")).sms is True
        assert (await stack.herald.get_preferences("ben")).sms is None


ME_ROUTES = [
    ("GET", "/v1/me/profile", None),
    ("GET", "/v1/me/inbox", None),
    ("GET", "/v1/me/inbox/unread-count", None),
    ("POST", "/v1/me/inbox/read", {"notification_ids": None}),
    ("POST", "/v1/me/inbox/unread", {"notification_ids": [1]}),
    ("POST", "/v1/me/inbox/archive", {"notification_ids": None}),
    ("POST", "/v1/me/inbox/unarchive", {"notification_ids": None}),
    ("GET", "/v1/me/inbox/stream", None),
    ("GET", "/v1/me/preferences", None),
    ("PUT", "/v1/me/preferences", {"sms": True}),
]


def forged_tokens() -> dict[str, str]:
    now = time.time()
    other = b"another-secret-another-secret-another-secret"
    claims = {"sub": "ana", "aud": AUDIENCE, "iat": int(now), "exp": int(now) + 600}
    return {
        "other secret": jwt.encode(claims, other, algorithm="HS256"),
        "expired": mint(KEY, "ana", timedelta(hours=1), now=now - 7200).token,
        "no signature": jwt.encode(claims, None, algorithm="none"),
        "another audience": jwt.encode({**claims, "aud": "billing"}, KEY, algorithm="HS256"),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, KEY),
        "a week long": jwt.encode({**claims, "exp": int(now) + 7 * 86400}, KEY),
        "hostile subject": jwt.encode({**claims, "sub": "../ben"}, KEY),
        "subject with a newline": jwt.encode({**claims, "sub": "ana\n"}, KEY),
        "issued tomorrow": jwt.encode({**claims, "iat": int(now) + 86400}, KEY),
        "not a token": "hrld_notatoken",
        "too long": "a" * 5000,
    }


async def test_every_me_route_refuses_a_missing_forged_expired_or_foreign_token(
    stack: Stack,
) -> None:
    api_key = bearer(stack.api_key)  # the application's key is no subscriber token
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        for method, path, body in ME_ROUTES:
            cases: dict[str, dict[str, str]] = {"none": {}, "API key": api_key}
            cases |= {name: bearer(token) for name, token in forged_tokens().items()}
            cases["basic scheme"] = {"Authorization": "Basic YW5hOmFuYQ=="}
            for name, headers in cases.items():
                answer = await http.request(method, path, headers=headers, json=body)
                assert answer.status_code == 401, (method, path, name, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert "\n" not in answer.json()["detail"]
        # The stream's query token is checked the same way.
        for name, token in forged_tokens().items():
            answer = await http.get("/v1/me/inbox/stream", params={"token": token})
            assert answer.status_code == 401, name
        # A token is accepted in the query on the stream only.
        good = await stack.token("ana")
        answer = await http.get("/v1/me/inbox", params={"token": good})
        assert answer.status_code == 401


async def test_minting_needs_the_applications_key_and_refuses_what_it_must(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        refused = await http.post("/v1/subscribers/ana/token", json={})
        assert refused.status_code == 401  # no API key: the gate
        minted = await http.post(
            "/v1/subscribers/ana/token", headers=bearer(stack.api_key), json={"ttl": 120}
        )
        assert minted.status_code == 200
        assert minted.headers["cache-control"] == "no-store"
        doc = minted.json()
        claims = jwt.decode(doc["token"], KEY, algorithms=["HS256"], audience=AUDIENCE)
        assert claims["sub"] == "ana" and claims["exp"] - claims["iat"] == 120
        for body, status, message in (
            ({"ttl": 10}, 422, "60 to 86400 seconds"),
            ({"ttl": 86401}, 422, "60 to 86400 seconds"),
        ):
            answer = await http.post(
                "/v1/subscribers/ana/token", headers=bearer(stack.api_key), json=body
            )
            assert answer.status_code == status and message in answer.json()["detail"]
        unknown = await http.post("/v1/subscribers/nobody/token", headers=bearer(stack.api_key))
        assert unknown.status_code == 404
        hostile = await http.post("/v1/subscribers/ana%0Aben/token", headers=bearer(stack.api_key))
        assert hostile.status_code == 422 and "invalid subscriber id" in hostile.json()["detail"]

    # The same refusals from the service layer, and a person removed since their token.
    with pytest.raises(NotFound):
        await stack.herald.mint_subscriber_token("nobody")
    with pytest.raises(InvalidInput, match="lifetime"):
        await stack.herald.mint_subscriber_token("ana", ttl=True)  # type: ignore[arg-type]


async def test_without_a_secret_a_deployment_mints_nothing_and_an_embedded_stack_makes_one(
    tmp_path: Path,
) -> None:
    deployed = bare_herald(tmp_path)  # HERALD_DATABASE_URL set, no secret
    deployed.store.upsert_subscriber("ana")
    with pytest.raises(Unavailable, match="HERALD_SUBSCRIBER_TOKEN_SECRET"):
        await deployed.mint_subscriber_token("ana")
    with pytest.raises(Unavailable, match="not set up"):
        deployed.subscriber_for_token("whatever")
    deployed.close()

    with pytest.raises(ValueError, match="at least 32 characters"):
        Settings(subscriber_token_secret="short")

    data = tmp_path / "stack"
    data.mkdir()
    embedded = Herald(
        None, deployed.store.from_url(f"sqlite:///{tmp_path / 'api.db'}"), Settings(data_dir=data)
    )
    token = (await embedded.mint_subscriber_token("ana")).token
    key_file = data / "subscriber-token.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert embedded.subscriber_for_token(token).subscriber_id == "ana"
    embedded.close()


async def test_the_readme_snippet_mints_a_token_herald_accepts(stack: Stack) -> None:
    """An application may sign tokens itself: the README's snippet, run as written."""
    text = README.read_text()
    snippet = re.search(r"<!-- app-side token -->\s*```python\n(.*?)```", text, re.S)
    assert snippet, "the README's app-side token snippet is missing"
    scope: dict[str, Any] = {}
    os.environ["HERALD_SUBSCRIBER_TOKEN_SECRET"] = SECRET.get_secret_value()
    try:
        exec(snippet.group(1), scope)  # noqa: S102 - the README's own code
        token = scope["subscriber_token"]("ana", ttl=600)
    finally:
        del os.environ["HERALD_SUBSCRIBER_TOKEN_SECRET"]
    assert stack.herald.subscriber_for_token(token).subscriber_id == "ana"
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        answer = await http.get("/v1/me/profile", headers=bearer(token))
        assert answer.status_code == 200 and answer.json()["name"] == "Ana"


async def test_cors_answers_configured_origins_on_the_browsers_doors_only(stack: Stack) -> None:
    def preflight(origin: str, method: str = "GET") -> dict[str, str]:
        return {
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        }

    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        ok = await http.options("/v1/me/inbox/read", headers=preflight(stack.app_url, "POST"))
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == stack.app_url
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in ok.headers

        stranger = await http.options("/v1/me/inbox", headers=preflight("https://evil.example"))
        assert "access-control-allow-origin" not in stranger.headers
        script = await http.get("/ui/herald-inbox.js", headers={"Origin": stack.app_url})
        assert script.headers["access-control-allow-origin"] == stack.app_url
        script = await http.get("/ui/herald-inbox.js", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in script.headers

        # The rest of the API is not for browsers: no CORS, even for the allowed origin.
        for path in ("/v1/subscribers/ana", "/v1/subscribers/ana/token", "/healthz"):
            answer = await http.options(path, headers=preflight(stack.app_url, "POST"))
            assert "access-control-allow-origin" not in answer.headers, path


class Events:
    """A stream's events as they come (pings skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, count: int = 1) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        name = None
        async for line in self.lines:
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                found.append((name, json.loads(line.split(":", 1)[1])))
                name = None
                if len(found) == count:
                    return found
        raise AssertionError(f"the stream ended after {found}")


async def test_the_stream_pushes_each_persons_count_from_one_shared_query(stack: Stack) -> None:
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: Any) -> None:
        statements.append((sql, params))

    event.listen(stack.herald.store.engine, "before_cursor_execute", seen)
    ana, ben = await stack.token("ana"), await stack.token("ben")
    guard = 60  # a hang guard only: each wait ends on an event
    async with (
        httpx.AsyncClient(base_url=stack.api_url, timeout=guard) as http,
        http.stream("GET", "/v1/me/inbox/stream", params={"token": ana}) as a1,
        http.stream("GET", "/v1/me/inbox/stream", headers=bearer(ana)) as a2,
        http.stream("GET", "/v1/me/inbox/stream", params={"token": ben}) as b1,
    ):
        assert a1.headers["content-type"].startswith("text/event-stream")
        assert a1.headers["cache-control"] == "no-store"
        e1, e2, f1 = Events(a1), Events(a2), Events(b1)
        first = await asyncio.gather(e1.next(), e2.next(), f1.next())
        assert first == [[("unread", {"unread": 0})]] * 3

        statements.clear()
        add(stack.herald, "ana", "a new reminder")  # as the worker would, elsewhere
        pushed = await asyncio.wait_for(asyncio.gather(e1.next(), e2.next()), guard)
        assert pushed == [[("unread", {"unread": 1})]] * 2

        # Ana marks it read in one tab: both of her streams hear at once; Ben's
        # stream, whose count never changed, got nothing meanwhile.
        await http.post("/v1/me/inbox/read", headers=bearer(ana), json={"notification_ids": None})
        pushed = await asyncio.wait_for(asyncio.gather(e1.next(), e2.next()), guard)
        assert pushed == [[("unread", {"unread": 0})]] * 2
        add(stack.herald, "ben", "Ben's turn")
        assert await asyncio.wait_for(f1.next(), guard) == [("unread", {"unread": 1})]

        # Ben archives his unread notice in one tab, restores it: his stream follows.
        for route, count in (("archive", 0), ("unarchive", 1)):
            await http.post(
                f"/v1/me/inbox/{route}", headers=bearer(ben), json={"notification_ids": None}
            )
            assert await asyncio.wait_for(f1.next(), guard) == [("unread", {"unread": count})]

    event.remove(stack.herald.store.engine, "before_cursor_execute", seen)
    counting = [(sql, p) for sql, p in statements if "count(" in sql.lower() and "inbox" in sql]
    # Every count while the streams were open was the shared, grouped one, for both people.
    assert counting and all("GROUP BY" in sql for sql, _ in counting), counting
    assert all({"ana", "ben"} <= set(map(str, p)) for _, p in counting)


async def test_open_streams_count_against_herald_apis_connection_limit(tmp_path: Path) -> None:
    """Each open bell holds a connection of ``herald api``: HERALD_API_MAX_CONNECTIONS
    sizes how many it holds at once; beyond, a request is answered 503 until one closes."""
    from herald.api.server import ApiServer

    assert Settings().api_max_connections == 200
    herald = web_herald(tmp_path, api_max_connections=3)
    herald.store.upsert_subscriber("ana", name="Ana")
    server = ApiServer(herald, "127.0.0.1", 0, handle_signals=False)
    serving = asyncio.create_task(server.serve())
    token = (await herald.mint_subscriber_token("ana")).token
    guard = 60  # a hang guard only: each wait ends on an answer or an event

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=server.url, timeout=guard)

    try:
        async with (
            client() as http,
            client() as other,
            client() as third,
            http.stream("GET", "/v1/me/inbox/stream", params={"token": token}) as one,
        ):
            first = Events(one)
            assert await first.next() == [("unread", {"unread": 0})]
            async with other.stream("GET", "/v1/me/inbox/stream", params={"token": token}) as two:
                second = Events(two)
                assert await second.next() == [("unread", {"unread": 0})]
                # Two bells and this request: the third connection is one too many.
                assert (await third.get("/healthz")).status_code == 503
            # One bell closed: there is room again, once the server has seen it go.
            for _ in range(guard * 10):
                answer = await third.get("/healthz")
                if answer.status_code != 503:
                    break
                await asyncio.sleep(0.1)
            assert answer.status_code == 200
    finally:
        server.stop()
        await asyncio.wait_for(serving, guard)
        herald.close()


async def test_the_stream_says_when_its_token_expires_and_ends(stack: Stack) -> None:
    # Signed 58 s ago for a minute: it expires two seconds from now.
    token = mint(KEY, "ana", timedelta(minutes=1), now=time.time() - 58).token
    async with (
        httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http,
        http.stream("GET", "/v1/me/inbox/stream", params={"token": token}) as stream,
    ):
        events = await Events(stream).next(2)
    assert events == [("unread", {"unread": 0}), ("expired", {})]


async def test_preferences_refusals_are_the_clis_word_for_word(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HERALD_DATABASE_URL", stack.herald.settings.resolved_database_url)
    ana = bearer(await stack.token("ana"))
    cases = [
        (["--quiet-hours", "22:00-22:00"], {"quiet_hours": "22:00-22:00"}),
        (["--quiet-hours", "25:00-07:00"], {"quiet_hours": "25:00-07:00"}),
        (["--digest-at", "noon"], {"digest_at": "noon"}),
        (["--digest-day", "someday"], {"digest_weekday": "someday"}),
        (["--category", "gossip=off"], {"categories": {"gossip": False}}),
        (["--category", "leads=pigeon"], {"categories": {"leads": ["pigeon"]}}),
    ]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        for argv, body in cases:
            code = await asyncio.to_thread(main, ["prefs", "set", "ana", *argv])
            assert code == EXIT_INVALID
            cli = capsys.readouterr().err.strip()
            answer = await http.put("/v1/me/preferences", headers=ana, json=body)
            assert answer.status_code == 422, answer.text
            assert cli.endswith(answer.json()["detail"]), (cli, answer.json())
        saved = await http.put(
            "/v1/me/preferences",
            headers=ana,
            json={"quiet_hours": "21:30-07:00", "digest": "weekly", "digest_weekday": "friday"},
        )
        doc = saved.json()
        assert doc["preferences"]["quiet_start"] == "21:30:00"
        assert (
            doc["preferences"]["digest"] == "weekly" and doc["preferences"]["digest_weekday"] == 4
        )
        assert doc["addresses"]["email"] == "ana@example.org"
        assert "loan.reminder_j1" in [k["name"] for k in doc["choices"]["kinds"]]
        assert "loan.overdue" not in [k["name"] for k in doc["choices"]["kinds"]]  # mandatory


async def test_the_pages_are_served_with_their_headers(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        page = await http.get("/ui/preferences")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert f"frame-ancestors 'self' {stack.app_url}" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert '<script type="module" src="herald-preferences.js">' in page.text
        assert "<script>" not in page.text  # no inline script

        script = await http.get("/ui/herald-inbox.js")
        assert script.headers["content-type"].startswith("text/javascript")
        again = await http.get(
            "/ui/herald-inbox.js", headers={"If-None-Match": script.headers["etag"]}
        )
        assert again.status_code == 304
        theme = await http.get("/ui/herald-theme.css")
        assert stack.herald.settings.brand_color in theme.text
        missing = await http.get("/ui/secrets.txt")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


async def test_the_cli_prints_a_token_the_api_accepts(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HERALD_DATABASE_URL", stack.herald.settings.resolved_database_url)
    monkeypatch.setenv("HERALD_SUBSCRIBER_TOKEN_SECRET", SECRET.get_secret_value())
    assert (
        await asyncio.to_thread(main, ["subscriber", "token", "ana", "--ttl", "300", "--json"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["subscriber_id"] == "ana" and doc["expires_at"]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        answer = await http.get("/v1/me/profile", headers=bearer(doc["token"]))
        assert answer.json()["subscriber_id"] == "ana"
    assert (
        await asyncio.to_thread(main, ["subscriber", "token", "ana", "--ttl", "5"]) == EXIT_INVALID
    )
    assert "60 to 86400 seconds" in capsys.readouterr().err

"""The webhook routes (ops keys), the HTTP client and ``herald webhook …``: the same
service, the secret shown once, bad input refused with a one-line reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.errors import InvalidInput, NotFound
from herald.http_client import HttpHerald
from starter.cli import EXIT_INVALID, EXIT_OK, main
from tests.api.conftest import serving
from tests.webhooks_out.conftest import Receiver, delivered
from tests.workflows.test_loan_workflow import Desk

BAD_URLS = [
    ("ftp://app.example.org/hook", "use an http:// or https:// URL"),
    ("https://user:pw@app.example.org/hook", "user name or password"),
    ("https://app.example.org/ho\nok", "must be one line"),
    ("https://app.example.org/\x00", "control character"),
    ("https:///nohost", "no host"),
    ("https://app.example.org/" + "a" * 2000, "the limit is 2000"),
]


@pytest.fixture
async def api(hooks: Desk) -> AsyncIterator[tuple[str, str, str]]:
    """The API over the desk: its URL, an ops key and an app key."""
    keys = ApiKeys(hooks.store)
    ops, app = keys.create("ops-team", "ops").key, keys.create("shop", "app").key
    async with serving(create_app(hooks.herald, ready_timeout=60)) as url:
        yield url, ops, app


async def test_the_routes_need_an_ops_key_and_show_the_secret_once(
    hooks: Desk, receiver: Receiver, api: tuple[str, str, str]
) -> None:
    url, ops_key, app_key = api
    async with HttpHerald(url, app_key) as app:
        with pytest.raises(Exception, match="scope app"):
            await app.webhooks()
    hook = receiver.hook("api")
    async with HttpHerald(url, ops_key) as h:
        created = await h.add_webhook(
            receiver.url("api"), events=["webhook.test", "loan.overdue"], description="Shop"
        )
        secret = created["secret"]
        assert secret.startswith("whsec_") and created["id"].startswith("ep_")
        assert created["events"] == ["webhook.test", "loan.overdue"] and created["enabled"]
        hook.secret = secret
        (listed,) = await h.webhooks()
        assert "secret" not in listed and listed["id"] == created["id"]

        tested = await h.test_webhook(created["id"])
        await delivered(hooks, tested["event_id"])
        (got,) = hook.verified
        assert got.doc["type"] == "webhook.test"
        assert got.doc["data"]["endpoint_id"] == created["id"]
        (attempt,) = await h.webhook_attempts(created["id"], limit=10)
        assert attempt["status_code"] == 200 and attempt["event_id"] == tested["event_id"]

        rotated = await h.rotate_webhook_secret(created["id"])
        assert rotated["secret"] != secret
        hook.secret = rotated["secret"]
        await delivered(hooks, (await h.test_webhook(created["id"]))["event_id"])
        assert len(hook.verified) == 2 and hook.refused == []

        assert not (await h.disable_webhook(created["id"]))["enabled"]
        with pytest.raises(InvalidInput, match="is disabled"):
            await h.test_webhook(created["id"])
        assert (await h.enable_webhook(created["id"]))["consecutive_failures"] == 0
        await h.remove_webhook(created["id"])
        assert await h.webhooks() == []
        with pytest.raises(NotFound, match="no webhook endpoint"):
            await h.enable_webhook(created["id"])
        with pytest.raises(InvalidInput, match="invalid webhook endpoint id"):
            await h.webhook_attempts("nope")

    async with hooks_http(url, ops_key) as raw:
        # The secret is never kept for an Idempotency-Key replay.
        body = {"url": receiver.url("api"), "events": ["*"]}
        first = await raw.post("/v1/webhooks", json=body, headers={"Idempotency-Key": "k1"})
        assert first.status_code == 201 and first.headers["cache-control"] == "no-store"
        assert first.headers["location"] == f"/v1/webhooks/{first.json()['id']}"
        again = await raw.post("/v1/webhooks", json=body, headers={"Idempotency-Key": "k1"})
        assert "idempotent-replayed" not in again.headers
        with hooks.store.session() as s:
            stored = s.execute(text("SELECT response_body FROM idempotency_keys")).all()
        assert all(first.json()["secret"].encode() not in (r[0] or b"") for r in stored)
        assert (await raw.delete(f"/v1/webhooks/{first.json()['id']}")).status_code == 204


def hooks_http(url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


@pytest.mark.parametrize(("bad", "reason"), BAD_URLS)
async def test_a_bad_url_is_a_422_with_its_reason(
    api: tuple[str, str, str], bad: str, reason: str
) -> None:
    url, ops_key, _ = api
    async with hooks_http(url, ops_key) as raw:
        response = await raw.post("/v1/webhooks", json={"url": bad, "events": ["*"]})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert reason in detail and "\n" not in detail


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([], "at least one event type"),
        (["delivery.nope"], "unknown event type"),
        ("*", "valid list"),
    ],
)
async def test_unknown_events_are_a_422(
    api: tuple[str, str, str], events: object, reason: str
) -> None:
    url, ops_key, _ = api
    async with hooks_http(url, ops_key) as raw:
        response = await raw.post(
            "/v1/webhooks", json={"url": "https://app.example.org/h", "events": events}
        )
    assert response.status_code == 422 and reason in response.json()["detail"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # refused by the parser, as from a shell
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


async def test_the_cli_commands(
    hooks: Desk,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = hooks.herald.settings
    monkeypatch.setenv("HERALD_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HERALD_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("TEMPORAL_ADDRESS", hooks.env.client.service_client.config.target_host)

    def cli(*argv: str) -> tuple[int, str, str]:
        return run_cli(capsys, *argv)

    hook = receiver.hook("cli")

    async def in_thread(*argv: str) -> tuple[int, str, str]:
        # The CLI runs its own event loop: beside this test's, as from a shell.
        return await asyncio.to_thread(cli, *argv)

    code, out, err = await in_thread(
        "webhook", "add", receiver.url("cli"), "--events", "delivery.sent,loan.overdue"
    )
    assert code == EXIT_OK, err
    secret, note = out.splitlines()
    assert secret.startswith("whsec_") and "shown only now" in note
    endpoint_id = note.split()[2]
    hook.secret = secret

    code, out, _ = await in_thread("webhook", "list")
    assert code == EXIT_OK and endpoint_id in out and secret not in out
    code, out, _ = await in_thread("webhook", "list", "--json")
    (doc,) = json.loads(out)
    assert doc["events"] == ["delivery.sent", "loan.overdue"] and secret not in out

    code, out, err = await in_thread("webhook", "test", endpoint_id)
    assert code == EXIT_OK, err
    event_id = out.split()[2]
    await delivered(hooks, event_id)
    assert [r.doc["type"] for r in hook.verified] == ["webhook.test"]
    code, out, _ = await in_thread("webhook", "attempts", endpoint_id, "--json")
    assert code == EXIT_OK and json.loads(out)[0]["status_code"] == 200

    code, out, _ = await in_thread("webhook", "disable", endpoint_id)
    assert code == EXIT_OK and "disabled" in out
    code, out, _ = await in_thread("webhook", "enable", endpoint_id, "--json")
    assert code == EXIT_OK and json.loads(out)["enabled"] is True
    code, out, _ = await in_thread("webhook", "rotate-secret", endpoint_id)
    assert code == EXIT_OK and out.splitlines()[0].startswith("whsec_")
    assert out.splitlines()[0] != secret

    for argv, reason in (
        (["add", "https://u:p@x.example/h", "--events", "*"], "user name or password"),
        (["add", "https://x.example/h", "--events", "loan.nope"], "unknown event type"),
        (["add", "https://x.example/h"], "--events"),
        (["enable", "ep_aaaaaaaaaaaaaaaaaaaaaaaa"], "no webhook endpoint"),
        (["attempts", "bad-id"], "invalid webhook endpoint id"),
    ):
        code, out, err = await in_thread("webhook", *argv)
        assert code == EXIT_INVALID, (argv, out, err)
        assert reason in err and len(err.strip().splitlines()) == 1, err

    code, out, _ = await in_thread("webhook", "remove", endpoint_id)
    assert code == EXIT_OK and "removed" in out
    code, out, _ = await in_thread("webhook", "list", "--json")
    assert json.loads(out) == []

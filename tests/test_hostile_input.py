"""A hostile corpus, thrown at the CLI and at the Python client, on SQLite and PostgreSQL.

Every input must be refused with :class:`InvalidInput` (exit 2 and one line from the CLI),
and afterwards Temporal and the database must hold nothing more than before: no workflow on
the desk's task queue, not one row changed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from herald.errors import InvalidInput
from herald.search_attributes import ALL_KEYS
from herald.settings import Settings
from herald.store import Store, migrate
from herald.temporal import DATA_CONVERTER
from herald.validation import LIMITS
from starter import cli
from starter.client import Herald
from tests.conftest import installed_binary

HERALD = str(Path(installed_binary("python")).parent / "herald")
FUTURE = datetime.now(UTC) + timedelta(days=3)
LONG = "x" * 201
LONG_ID = "a" * (LIMITS["id"] + 1)


@dataclass(frozen=True)
class Case:
    label: str
    reason: str  # a part of the one-line refusal
    argv: list[str] | None  # the CLI call (None: the CLI cannot express it)
    call: Callable[[Herald], Awaitable[Any]] | None  # the client call (None: CLI only)


def loan(h: Herald, loan_id: str = "L1", **kw: Any) -> Awaitable[Any]:
    args: dict[str, Any] = {"borrower_id": "bob", "item": "Drill", "due_at": FUTURE, **kw}
    return h.start_loan(loan_id, **args)


def loan_argv(loan_id: str = "L1", *extra: str, **kw: str) -> list[str]:
    opts = {"--borrower": "bob", "--item": "Drill", "--due": FUTURE.isoformat()}
    opts.update({f"--{k.replace('_', '-')}": v for k, v in kw.items()})
    return ["loan", "start", loan_id, *[x for kv in opts.items() for x in kv], *extra]


CORPUS = [
    # ids matched as a whole: a trailing newline is not part of any id
    Case("loan id + newline", "invalid loan id", loan_argv("L1\n"), lambda h: loan(h, "L1\n")),
    Case(
        "subscriber id + newline",
        "invalid subscriber id",
        ["subscriber", "upsert", "u1\n", "--email", "u1@example.org"],
        lambda h: h.upsert_subscriber("u1\n", email="u1@example.org"),
    ),
    Case(
        "group + newline",
        "invalid group name",
        ["group", "create", "staff\n"],
        lambda h: h.create_group("staff\n"),
    ),
    Case(
        "template + newline",
        "invalid template name",
        ["template", "set", "t2\n", "--subject", "s", "--body", "b"],
        lambda h: h.set_template("t2\n", locale="fr", subject="s", body="b"),
    ),
    Case(
        "event id + newline",
        "invalid event id",
        ["lead", "event", "LD1", "created", "--event-id", "e1\n", "--assignee", "bob"],
        lambda h: h.lead_event("LD1", "created", event_id="e1\n", assignee_id="bob"),
    ),
    Case(
        "request id + newline",
        "invalid request id",
        ["notify", "t1", "--user", "bob", "--request-id", "r1\n"],
        lambda h: h.notify("t1", user_ids=["bob"], request_id="r1\n"),
    ),
    Case(
        "repair id + newline",
        "invalid repair id",
        ["repair", "start", "R1\n", "--title", "Screen", "--customer", "bob"],
        lambda h: h.start_repair("R1\n", title="Screen", customer_id="bob"),
    ),
    Case(
        "follow-up id + newline",
        "invalid follow-up id",
        [
            "followup",
            "start",
            "F1\n",
            "--title",
            "Call",
            "--assignee",
            "bob",
            "--due",
            FUTURE.isoformat(),
        ],
        lambda h: h.start_followup("F1\n", title="Call", assignee_id="bob", due_at=FUTURE),
    ),
    Case(
        "link + newline",
        "one line",
        [
            "repair",
            "start",
            "R1",
            "--title",
            "Screen",
            "--customer",
            "bob",
            "--link",
            "https://desk.example/\n",
        ],
        lambda h: h.start_repair(
            "R1", title="Screen", customer_id="bob", link="https://desk.example/\n"
        ),
    ),
    # text longer than what will hold it
    Case("id too long", "invalid loan id", loan_argv(LONG_ID), lambda h: loan(h, LONG_ID)),
    Case("item too long", "the limit is 200", loan_argv(item=LONG), lambda h: loan(h, item=LONG)),
    Case(
        "name too long",
        "the limit is 200",
        ["subscriber", "upsert", "u1", "--name", LONG, "--email", "u1@example.org"],
        lambda h: h.upsert_subscriber("u1", name=LONG, email="u1@example.org"),
    ),
    Case(
        "title too long",
        "the limit is 200",
        ["repair", "start", "R1", "--title", LONG, "--customer", "bob"],
        lambda h: h.start_repair("R1", title=LONG, customer_id="bob"),
    ),
    Case(
        "link too long",
        "the limit is 1000",
        [
            "repair",
            "start",
            "R1",
            "--title",
            "Screen",
            "--customer",
            "bob",
            "--link",
            "https://desk.example/" + "a" * 1000,
        ],
        lambda h: h.start_repair(
            "R1", title="Screen", customer_id="bob", link="https://desk.example/" + "a" * 1000
        ),
    ),
    Case(
        "lead name too long",
        "the limit is 200",
        ["lead", "event", "LD1", "created", "--assignee", "bob", "--name", LONG],
        lambda h: h.lead_event("LD1", "created", assignee_id="bob", name=LONG),
    ),
    Case(
        "group description too long",
        "the limit is 400",
        ["group", "create", "g2", "--description", "d" * 401],
        lambda h: h.create_group("g2", "d" * 401),
    ),
    # NUL, lone surrogates (undecodable bytes on a command line)
    Case("NUL in item", "control character", None, lambda h: loan(h, item="Drill\x00")),
    Case(
        "NUL in name",
        "control character",
        None,
        lambda h: h.upsert_subscriber("u1", name="A\x00", email="u1@example.org"),
    ),
    Case(
        "surrogate in item",
        "not valid UTF-8",
        loan_argv(item="Dr\udcffill"),
        lambda h: loan(h, item="Dr\udcffill"),
    ),
    Case(
        "NUL in the context",
        "control character",
        ["notify", "t1", "--user", "bob", "--context", '{"a": "x\\u0000y"}'],
        lambda h: h.notify("t1", user_ids=["bob"], context={"a": "x\x00y"}),
    ),
    Case(
        "escape sequence in a reason",
        "control character",
        None,
        lambda h: h.repair_event("R0", "denied", reason="no\x1b[2J"),
    ),
    # time far ahead: planning would overflow
    Case(
        "due in year 9999",
        "within 5 years",
        loan_argv(due="9999-12-31T23:00:00+00:00"),
        lambda h: loan(h, due_at=datetime(9999, 12, 31, 23, tzinfo=UTC)),
    ),
    Case(
        "follow-up due in year 9999",
        "within 5 years",
        [
            "followup",
            "start",
            "F1",
            "--title",
            "Call",
            "--assignee",
            "bob",
            "--due",
            "9999-12-31T23:59:59-12:00",
        ],
        lambda h: h.start_followup(
            "F1", title="Call", assignee_id="bob", due_at=datetime(9999, 1, 1, tzinfo=UTC)
        ),
    ),
    Case(
        "borrowed in year 1",
        "within 5 years",
        loan_argv(borrowed_at="0001-01-01T00:00:00+00:00"),
        lambda h: loan(h, borrowed_at=datetime(1, 1, 1, tzinfo=UTC)),
    ),
    # host-dependent or pseudo time zones
    *[
        Case(
            f"time zone {zone}",
            "unknown time zone",
            ["subscriber", "upsert", "u1", "--email", "u1@example.org", "--timezone", zone],
            lambda h, zone=zone: h.upsert_subscriber("u1", email="u1@example.org", timezone=zone),
        )
        for zone in ("localtime", "posixrules", "Factory", "right/Europe/Paris")
    ],
    # numbers that are not a person's
    *[
        Case(
            f"{kind} number",
            f"a {kind} number",
            ["subscriber", "upsert", "u1", f"--{field}", number],
            lambda h, field=field, number=number: h.upsert_subscriber("u1", **{field: number}),
        )
        for field, number, kind in (
            ("phone", "0899 12 34 56", "premium-rate"),
            ("whatsapp", "0800 12 34 56", "toll-free"),
            ("phone", "01 42 68 53 00", "fixed-line"),
        )
    ],
    # links with credentials before the host
    Case(
        "link with credentials",
        "user name or password",
        ["notify", "t1", "--user", "bob", "--link", "https://bank.example@evil.example/"],
        lambda h: h.notify("t1", user_ids=["bob"], link="https://bank.example@evil.example/"),
    ),
    Case(
        "link that is script",
        "http",
        [
            "followup",
            "start",
            "F1",
            "--title",
            "Call",
            "--assignee",
            "bob",
            "--due",
            FUTURE.isoformat(),
            "--link",
            "javascript:alert(1)",
        ],
        lambda h: h.start_followup(
            "F1", title="Call", assignee_id="bob", due_at=FUTURE, link="javascript:alert(1)"
        ),
    ),
    # addresses the sending path cannot carry
    Case(
        "UTF-8 local part",
        "SMTPUTF8",
        ["subscriber", "upsert", "u1", "--email", "José@example.org"],
        lambda h: h.upsert_subscriber("u1", email="José@example.org"),
    ),
    Case(
        "header injection in an address",
        "e-mail",
        ["subscriber", "upsert", "u1", "--email", "u1@example.org\nBcc: all@example.org"],
        lambda h: h.upsert_subscriber("u1", email="u1@example.org\nBcc: all@example.org"),
    ),
    # ids that combine into a workflow id must still be valid ids each
    Case(
        "event id with a slash",
        "invalid event id",
        ["lead", "event", "A", "created", "--event-id", "B/event-C", "--assignee", "bob"],
        lambda h: h.lead_event("A", "created", event_id="B/event-C", assignee_id="bob"),
    ),
    # integers too large for their column, oversized and deeply nested contexts
    Case(
        "reward points too large",
        "whole number",
        ["repair", "event", "R0", "reward_redeemed", "--reward", "Mug", "--points", str(2**31)],
        lambda h: h.repair_event("R0", "reward_redeemed", reward_name="Mug", reward_points=2**31),
    ),
    Case(
        "batch size too large",
        "whole number",
        [
            "repair",
            "event",
            "R0",
            "batch_approved",
            "--batch-id",
            "B1",
            "--batch-size",
            str(10**12),
        ],
        lambda h: h.repair_event("R0", "batch_approved", batch_id="B1", batch_size=10**12),
    ),
    Case(
        "inbox page too large",
        "whole number",
        ["inbox", "list", "bob", "--page", str(10**20)],
        lambda h: h.inbox("bob", page=10**20),
    ),
    Case(
        "notification id too large",
        "whole number",
        ["inbox", "read", "bob", "--notification", str(2**40)],
        lambda h: h.mark_read("bob", [2**40]),
    ),
    Case(
        "context too large",
        "the limit is 32768",
        ["notify", "t1", "--user", "bob", "--context", '{"a": "' + "x" * 40_000 + '"}'],
        lambda h: h.notify("t1", user_ids=["bob"], context={"a": "x" * 40_000}),
    ),
    Case(
        "context nested too deep",
        "nested deeper than 8",
        ["template", "preview", "t1", "--context", '{"a": ' + "[" * 20 + "]" * 20 + "}"],
        lambda h: h.preview_template("t1", context={"a": [[[[[[[[[["x"]]]]]]]]]]}),
    ),
    Case(
        "context deeper than Python's stack",
        "nested deeper than 8",
        ["notify", "t1", "--user", "bob", "--context", "[" * 15_000 + "]" * 15_000],
        None,
    ),
    # an ops search box: never a part of the visibility query's syntax
    Case(
        "search with a quote",
        "invalid search",
        ["loan", "list", "--search", "L1' OR WorkflowType = 'RepairWorkflow"],
        lambda h: h.objects("loan", search="L1' OR WorkflowType = 'RepairWorkflow"),
    ),
    Case(
        "search with NUL",
        "invalid search",
        ["repair", "list", "--search", "R1\x00"],
        lambda h: h.objects("repair", search="R1\x00"),
    ),
]


@pytest.fixture(scope="module")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server: its visibility store lists every workflow ever started."""
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=ALL_KEYS,
    )
    yield env
    await env.shutdown()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'herald.db'}"
    return str(request.getfixturevalue("postgres_url"))


def settings_for(database_url: str, queue: str, env: WorkflowEnvironment) -> Settings:
    return Settings(
        database_url=database_url,
        task_queue=queue,
        temporal_address=env.client.service_client.config.target_host,
    )


async def prepared(database_url: str, env: WorkflowEnvironment, queue: str) -> Herald:
    """A desk with one reachable person, a group and a template, and no workflow."""
    store = Store.from_url(database_url)
    migrate(store.engine)
    herald = Herald(env.client, store, settings_for(database_url, queue, env))
    await herald.upsert_subscriber("bob", name="Bob", email="bob@example.org", phone="+33612345678")
    await herald.create_group("staff")
    await herald.add_to_group("staff", ["bob"])
    await herald.set_template("t1", locale="fr", subject="Hello", body="Hi {{ recipient.name }}")
    return herald


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table: sorted(map(tuple, conn.execute(sa.text(f"SELECT * FROM {table}"))), key=repr)
                for table in sa.inspect(engine).get_table_names()
                if table != "alembic_version"
            }
    finally:
        engine.dispose()


async def workflows_on(client: Client, queue: str, *, once_listed: str) -> list[str]:
    """The workflows ever started on ``queue``, once ``once_listed`` (started after all the
    refused calls) shows: visibility is written after the start, in order."""
    await eventually_async(lambda: listed(client, queue, once_listed))
    return [w.id async for w in client.list_workflows(f"TaskQueue = '{queue}'")]


async def listed(client: Client, queue: str, workflow_id: str) -> bool:
    return workflow_id in [w.id async for w in client.list_workflows(f"TaskQueue = '{queue}'")]


async def eventually_async(check: Callable[[], Awaitable[bool]], attempts: int = 600) -> None:
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the valid start never became visible")


async def test_the_client_refuses_every_hostile_input_and_keeps_nothing(
    dev_server: WorkflowEnvironment, database_url: str
) -> None:
    queue = f"hostile-{uuid.uuid4().hex[:8]}"
    herald = await prepared(database_url, dev_server, queue)
    before = snapshot(database_url)
    wrong: list[str] = []
    for case in CORPUS:
        if case.call is None:
            continue
        try:
            await case.call(herald)
        except InvalidInput as err:
            message = str(err)
            if case.reason not in message or "\n" in message or len(message) > 500:
                wrong.append(f"{case.label}: refused as {message!r}")
        except Exception as err:  # noqa: BLE001 - reported below
            wrong.append(f"{case.label}: raised {type(err).__name__}: {str(err)[:200]}")
        else:
            wrong.append(f"{case.label}: accepted")
    assert wrong == []
    assert snapshot(database_url) == before
    # Nothing was started: after a valid loan on the same queue, it is the only workflow.
    ok = f"L-ok-{queue}"
    await loan(herald, ok)
    assert await workflows_on(dev_server.client, queue, once_listed=f"loan-{ok}") == [f"loan-{ok}"]
    await dev_server.client.get_workflow_handle(f"loan-{ok}").terminate()  # no worker runs
    herald.close()


def test_the_cli_refuses_every_hostile_input_in_one_line(
    dev_server: WorkflowEnvironment,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue = f"hostile-cli-{uuid.uuid4().hex[:8]}"
    settings = settings_for(database_url, queue, dev_server)
    monkeypatch.setenv("TEMPORAL_ADDRESS", settings.temporal_address)
    monkeypatch.setenv("HERALD_DATABASE_URL", database_url)
    monkeypatch.setenv("HERALD_TASK_QUEUE", queue)
    assert cli.main(["migrate"]) == 0
    assert cli.main(["subscriber", "upsert", "bob", "--email", "bob@example.org"]) == 0
    assert cli.main(["template", "set", "t1", "--subject", "Hello", "--body", "Hi"]) == 0
    capsys.readouterr()
    before = snapshot(database_url)
    wrong: list[str] = []
    for case in CORPUS:
        if case.argv is None:
            continue
        code = cli.main(case.argv)
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        if code != 2 or len(lines) != 1 or case.reason not in err or out:
            wrong.append(f"{case.label}: exit {code}, stdout {out[:100]!r}, stderr {err[:300]!r}")
    assert wrong == []
    assert snapshot(database_url) == before
    ok = f"L-ok-{queue}"
    assert cli.main(loan_argv(ok)) == 0

    async def listing() -> list[str]:
        client = await Client.connect(settings.temporal_address, data_converter=DATA_CONVERTER)
        found = await workflows_on(client, queue, once_listed=f"loan-{ok}")
        await client.get_workflow_handle(f"loan-{ok}").terminate()  # no worker runs
        return found

    assert asyncio.run(listing()) == [f"loan-{ok}"]


def test_undecodable_bytes_on_the_command_line_are_refused_in_one_line(tmp_path: Path) -> None:
    """The operating system hands Python bytes; an invalid UTF-8 one must not crash a write."""
    env = {**os.environ, "HERALD_DATABASE_URL": f"sqlite:///{tmp_path / 'herald.db'}"}
    assert subprocess.run([HERALD, "migrate"], env=env, capture_output=True).returncode == 0
    proc = subprocess.run(
        [
            HERALD.encode(),
            b"subscriber",
            b"upsert",
            b"u1",
            b"--name",
            b"Jos\xe9",
            b"--email",
            b"u1@example.org",
        ],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.decode("utf-8")
    assert len(err.strip().splitlines()) == 1
    assert "name" in err and "not valid UTF-8" in err
    shown = subprocess.run(
        [HERALD, "subscriber", "show", "u1"], env=env, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 2 and "unknown subscriber" in shown.stderr

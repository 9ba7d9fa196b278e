"""End to end on the real Temporal dev server: a ``herald worker`` process, the ``herald`` CLI,
a real SMTP server (aiosmtpd) and each database backend (SQLite file and PostgreSQL).

The policy is a JSON file with offsets in seconds; ops change the policy the same way,
without touching code.

Nothing here depends on how fast the machine is. Each wait polls a condition (the SMTP
server, the delivery log, a workflow query) under a hang guard of minutes. A point the
test waits for is planned tens of seconds after the command that plans it, so a slow CLI
call cannot make it "already past when planned"; a step that must come before a deadline
(a reassignment before the overdue alert) happens while that deadline is an hour away,
and the deadline is brought near only afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from herald.search_attributes import ALL_KEYS
from herald.temporal import DATA_CONVERTER
from tests.conftest import installed_binary
from tests.e2e.waiting import GUARD, until
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

HERALD = str(Path(sys.executable).parent / "herald")

# A loan due LOAN_DUE_IN after the test starts it: J-1 20 s after the start, the 2 h
# reminder 10 s later, the overdue alerts 2 s and 12 s after the due time. The gaps are
# wide enough that no point is past when planned nor two due at one wake-up (which would
# send only the latest) unless a single step stalls for ten seconds or more.
LOAN_DUE_IN = timedelta(seconds=40)
FAST_POLICY = {
    "name": "e2e",
    "classes": [
        {
            "name": "fast",
            "reminders": [
                {"kind": "loan.reminder_j1", "before": "PT20S"},
                {"kind": "loan.reminder_2h", "before": "PT10S"},
            ],
        }
    ],
    "overdue": {
        "kind": "loan.overdue",
        "first_after": "PT2S",
        "repeat_at_local": None,
        "repeat_every": "PT10S",
        "max_alerts": 2,
        "manager_copy_from": 2,
    },
}


@pytest.fixture(scope="module")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
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


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HERALD, *args], env=self.env, capture_output=True, text=True, timeout=GUARD
        )

    def ok(self, *args: str) -> str:
        proc = self.run(*args)
        assert proc.returncode == 0, f"herald {' '.join(args)} → {proc.returncode}: {proc.stderr}"
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def stack(
    dev_server: WorkflowEnvironment, database_url: str, smtp: SmtpServer, tmp_path: Path
) -> Iterator[Cli]:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(FAST_POLICY))
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
        "HERALD_TASK_QUEUE": f"e2e-{uuid.uuid4().hex[:8]}",
        "HERALD_DATABASE_URL": database_url,
        "HERALD_DATA_DIR": str(tmp_path / "data"),
        "HERALD_EMAIL_PROVIDER": "smtp",
        "HERALD_SMTP_HOST": "127.0.0.1",
        "HERALD_SMTP_PORT": str(smtp.port),
        "HERALD_SMTP_STARTTLS": "false",
        "HERALD_EMAIL_FROM": "Prêts <prets@example.org>",
        "HERALD_POLICY": str(policy),
        "HERALD_BRAND_NAME": "Médiathèque",
    }
    cli = Cli(env)
    cli.ok("migrate")
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen([HERALD, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield cli
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            assert worker.wait(timeout=GUARD) == 0, (tmp_path / "worker.log").read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
            log.close()


async def test_loan_life_through_cli_and_worker_process(stack: Cli, smtp: SmtpServer) -> None:
    borrower, manager = "alice@example.org", "boss@example.com"
    stack.ok(
        "subscriber",
        "upsert",
        "alice",
        "--name",
        "Alice Durand",
        "--email",
        borrower,
        "--locale",
        "fr",
        "--timezone",
        "Europe/Paris",
    )
    stack.ok(
        "subscriber",
        "upsert",
        "boss",
        "--name",
        "Jo Boss",
        "--email",
        manager,
        "--locale",
        "en",
        "--timezone",
        "America/New_York",
    )
    loan = f"E1-{uuid.uuid4().hex[:6]}"
    due = datetime.now(UTC) + LOAN_DUE_IN
    started = stack.json(
        "loan",
        "start",
        loan,
        "--borrower",
        "alice",
        "--item",
        "Caméra 📷",
        "--due",
        due.isoformat(),
        "--manager",
        "boss",
    )
    assert started["workflow_id"] == f"loan-{loan}" and started["created"] is True
    again = stack.json(
        "loan",
        "start",
        loan,
        "--borrower",
        "alice",
        "--item",
        "Caméra 📷",
        "--due",
        due.isoformat(),
    )
    assert again["created"] is False

    # created, J-1, 2 h, overdue #1 and #2 to the borrower; the manager's copy of #2.
    await until(lambda: len(smtp.handler.to(borrower)) >= 5 and smtp.handler.to(manager))
    status = stack.json("loan", "status", loan)
    assert status["state"] == "OVERDUE"
    assert status["next_reminder"] is None
    kinds = [n["kind"] for n in status["notifications"] if n["role"] == "borrower"]
    assert kinds == [
        "loan.created",
        "loan.reminder_j1",
        "loan.reminder_2h",
        "loan.overdue",
        "loan.overdue",
    ]
    assert not [n for n in status["notifications"] if n["skipped_reason"]], status

    final = stack.json("loan", "return", loan)
    assert final["state"] == "RETURNED" and final["late_by_seconds"] > 0
    await until(lambda: len(smtp.handler.to(borrower)) == 6)

    mails = smtp.handler.to(borrower)
    for m in mails:
        assert m.message.get_content_type() == "multipart/alternative"
        assert "Caméra 📷" in m.part("plain") and "Caméra 📷" in m.part("html")
    assert "retard" in mails[-1].part("plain")
    copy = smtp.handler.to(manager)
    assert len(copy) == 1 and "Alice Durand" in copy[0].part("plain")
    assert copy[0].subject != [m for m in mails if "RETARD" in m.subject.upper()][-1].subject

    rows = stack.json("deliveries", "--loan", loan)
    email_rows = [r for r in rows if r["channel"] == "email"]
    assert len(email_rows) == 7
    for r in email_rows:
        assert {
            "loan_id",
            "kind",
            "channel",
            "status",
            "recipient",
            "scheduled_at",
            "sent_at",
            "attempts",
            "error",
        } <= r.keys()
        assert r["loan_id"] == loan and r["status"] == "sent" and r["attempts"] == 1
        assert r["sent_at"] >= r["scheduled_at"][:19]
    assert {r["recipient"] for r in email_rows} == {borrower, manager}
    sms = [r for r in rows if r["channel"] == "sms"]
    assert sms and {r["status"] for r in sms} == {"skipped"}

    # The in-app inbox got every notice too: newest first, all unread, then read.
    inbox = stack.json("inbox", "list", "alice")
    assert [n["kind"] for n in inbox][:2] == ["loan.returned", "loan.overdue"]
    assert len(inbox) == 6 and not any(n["read"] for n in inbox)
    assert stack.json("inbox", "count", "alice") == {"subscriber_id": "alice", "unread": 6}
    stack.json("inbox", "read", "alice", "--notification", str(inbox[0]["id"]))
    assert (
        stack.json("inbox", "list", "alice", "--unread", "--page-size", "10")[0]["id"]
        == inbox[1]["id"]
    )
    assert stack.json("inbox", "read", "alice", "--all") == {
        "subscriber_id": "alice",
        "marked_read": 5,
    }
    assert stack.json("inbox", "count", "alice")["unread"] == 0

    # Ended loans refuse changes with a clear reason.
    proc = stack.run(
        "loan", "extend", loan, "--due", (datetime.now(UTC) + timedelta(days=1)).isoformat()
    )
    assert proc.returncode == 2 and "no longer running" in proc.stderr


async def test_cli_refuses_bad_input_and_starts_nothing(stack: Cli) -> None:
    stack.ok("subscriber", "upsert", "bob", "--email", "bob@example.org")
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    bad: list[tuple[list[str], str]] = [
        (
            [
                "loan",
                "start",
                "B1",
                "--borrower",
                "bob",
                "--item",
                "x",
                "--due",
                "2020-01-01T00:00:00Z",
            ],
            "in the past",
        ),
        (
            [
                "loan",
                "start",
                "B1",
                "--borrower",
                "bob",
                "--item",
                "x",
                "--due",
                "2031-01-01T10:00",
            ],
            "no time zone",
        ),
        (
            ["loan", "start", "B1", "--borrower", "bob", "--item", "x", "--due", "tomorrow"],
            "ISO 8601",
        ),
        (
            ["loan", "start", "B1", "--borrower", "ghost", "--item", "x", "--due", future],
            "unknown borrower",
        ),
        (
            ["loan", "start", "B 1", "--borrower", "bob", "--item", "x", "--due", future],
            "invalid loan id",
        ),
        (["subscriber", "upsert", "carl", "--email", "not-an-email"], "invalid e-mail"),
        (["subscriber", "upsert", "carl", "--phone", "12"], "invalid phone"),
        (["subscriber", "upsert", "carl", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["prefs", "set", "bob", "--reminder", "loan.overdue=off"], "cannot be switched off"),
        (["prefs", "set", "bob", "--reminder", "loan.bogus=off"], "unknown reminder"),
        (["prefs", "set", "bob", "--sms", "maybe"], "invalid choice"),
        (["loan", "status", "B1"], "no loan"),
        (["loan", "frobnicate"], "invalid choice"),
    ]
    for args, reason in bad:
        proc = stack.run(*args)
        assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
        assert reason in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stdout == ""
    assert stack.json("deliveries", "--loan", "B1") == []
    assert "carl" not in stack.run("subscriber", "show", "carl").stdout


def test_herald_dev_runs_the_stack_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """The README's main command: one process tree, file-persisted, clean Ctrl-C."""
    from tests.smtp_server import free_port

    port, ui_port, api_port = free_port(), free_port(), free_port()
    env = {**os.environ, "HERALD_DATA_DIR": str(tmp_path / ".herald")}
    for key in (
        "TEMPORAL_ADDRESS",
        "HERALD_DATABASE_URL",
        "HERALD_EMAIL_PROVIDER",
        "HERALD_TASK_QUEUE",
    ):
        env.pop(key, None)
    proc = subprocess.Popen(
        [
            HERALD,
            "dev",
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--api-port",
            str(api_port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner: list[str] = []
        assert proc.stdout is not None
        deadline = time.monotonic() + GUARD  # a hang guard: the loop ends on the banner
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            banner.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(banner)
        assert f"http://127.0.0.1:{ui_port}/" in text and "Outbox:" in text, text
        api = f"http://127.0.0.1:{api_port}"
        assert f"HTTP API:      {api} (docs {api}/docs)" in text, text
        cli = Cli({**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "HERALD_API_URL": api})
        doctor = cli.run("doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "search attributes registered" in doctor.stdout
        assert f"ok: HTTP API at {api} ready" in doctor.stdout
        cli.ok("subscriber", "upsert", "dana", "--email", "dana@example.org")
        # The loan goes in over the HTTP API (loopback, no key needed).
        due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        started = httpx.post(
            f"{api}/v1/loans",
            json={"loan_id": "D1", "borrower_id": "dana", "item": "Projecteur", "due_at": due},
            headers={"Idempotency-Key": "dev-D1"},
            timeout=GUARD,
        )
        assert started.status_code == 201, started.text
        assert started.json()["workflow_id"] == "loan-D1"
        outbox = tmp_path / ".herald" / "outbox"
        deadline = time.monotonic() + GUARD  # a hang guard: the loop ends on the file
        while time.monotonic() < deadline and not list(outbox.glob("*-email-*.eml")):
            time.sleep(0.2)
        assert len(list(outbox.glob("*-email-dana@example.org-*.eml"))) == 1
        assert (tmp_path / ".herald" / "temporal.db").exists()
        assert (tmp_path / ".herald" / "temporal.db-wal").exists()  # WAL pragma in force
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, out
    assert "Herald dev stack stopped." in out
    # Nothing left listening on the Temporal port.
    import socket

    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0

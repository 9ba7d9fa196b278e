"""The personal daily summary end to end: the ``herald`` CLI, a ``herald worker`` process on
the real Temporal dev server, aiosmtpd, and each database backend.

The summary's hour is the next whole minute at least half a minute after the command that
chooses it, in the person's own zone (India, half an hour off UTC): the wait is real time,
a minute or two, and the margin keeps a slow CLI call from making it already past.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_loan_e2e import (  # noqa: F401 - the fixtures, for this module
    Cli,
    database_url,
    dev_server,
    stack,
)
from tests.e2e.waiting import until
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

KOLKATA = ZoneInfo("Asia/Kolkata")


def next_minute(after: datetime) -> datetime:
    """The first whole minute at or after ``after``."""
    seconds = math.ceil(after.timestamp() / 60) * 60
    return datetime.fromtimestamp(seconds, UTC)


async def test_daily_summary_through_cli_and_worker_process(
    stack: Cli,  # noqa: F811 - the imported fixture
    smtp: SmtpServer,
) -> None:
    tag = uuid.uuid4().hex[:6]
    ana = f"ana-{tag}"
    mail = f"{ana}@example.org"
    stack.ok("subscriber", "upsert", ana, "--name", "Ana Costa", "--email", mail,
             "--locale", "en", "--timezone", "Asia/Kolkata")  # fmt: skip
    stack.ok("subscriber", "upsert", f"chef-{tag}", "--email", f"chef-{tag}@example.org")

    # A follow-up due in 20 s (overdue by the summary's hour), a lead given to Ana.
    due = datetime.now(UTC) + timedelta(seconds=20)
    stack.ok("followup", "start", f"F-{tag}", "--title", "Call ACME back", "--assignee", ana,
             "--customer", "ACME", "--due", due.isoformat(), "--manager", f"chef-{tag}")  # fmt: skip
    stack.ok("lead", "event", f"LD-{tag}", "created", "--event-id", f"e-{tag}",
             "--name", "40 laptops", "--assignee", ana, "--manager", f"chef-{tag}")  # fmt: skip

    wrong = stack.run("summary", "set", ana, "--at", "7h")
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1
    assert "'7h' is not a time of day like 08:00" in wrong.stderr
    assert f"{ana}: no daily summary" in stack.ok("summary", "show", ana)

    fire = next_minute(max(datetime.now(UTC) + timedelta(seconds=30), due + timedelta(seconds=10)))
    hour = f"{fire.astimezone(KOLKATA):%H:%M}"
    chosen = stack.json("summary", "set", ana, "--at", hour)
    assert (chosen["at"], chosen["timezone"], chosen["running"]) == (hour, "Asia/Kolkata", True)

    async def planned() -> object:
        shown = stack.json("summary", "show", ana)
        return shown["next_at"] and datetime.fromisoformat(shown["next_at"]) == fire

    await until(planned, interval=1.0)

    await until(lambda: [m for m in smtp.handler.to(mail) if m.subject.startswith("Your day")])
    [summary] = [m for m in smtp.handler.to(mail) if m.subject.startswith("Your day")]
    assert summary.subject == "Your day: 1 overdue, 1 new lead"
    text = summary.part("plain")
    assert "Call ACME back (ACME)" in text and "40 laptops" in text
    rows = stack.json("deliveries", "--subscriber", ana, "--kind", "crm.daily_summary")
    assert {(r["channel"], r["status"]) for r in rows} >= {("email", "sent")}

    async def counted() -> object:
        return stack.json("summary", "show", ana)["sent"] == 1

    await until(counted, interval=1.0)
    assert "1 sent" in stack.ok("summary", "show", ana)
    assert f"{ana}: no daily summary" in stack.ok("summary", "set", ana, "--at", "off")
    stack.ok("followup", "cancel", f"F-{tag}")

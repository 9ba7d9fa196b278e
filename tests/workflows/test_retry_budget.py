"""A channel's retry budget on the time-skipping server: a transient failure stops after
the configured attempts, and the row says so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, open_desk, start


async def test_a_transient_failure_stops_after_the_configured_attempts(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> None:
    async with open_desk(ts_env, smtp, tmp_path, retry_email="attempts:3") as desk:
        desk.smtp.handler.refuse(BORROWER_EMAIL, "451 4.3.0 Try again later", times=20)
        await start(desk, "L-budget", timedelta(hours=10))
        await eventually(lambda: desk.smtp.handler.rcpt_attempts.get(BORROWER_EMAIL, 0) >= 1)
        await desk.env.sleep(timedelta(minutes=5))
        rows = await eventually(
            lambda: [
                r
                for r in desk.rows("L-budget")
                if r["kind"] == "loan.created" and r["status"] == "permanently_failed"
            ]
        )
        assert rows[0]["attempts"] == 3
        assert rows[0]["error"].startswith("gave up after 3 attempts")
        assert desk.smtp.handler.rcpt_attempts[BORROWER_EMAIL] == 3
        status = await desk.status("L-budget")
        assert status.notifications[0].channels["email"] == "permanently_failed"
        await desk.cancel("L-budget")

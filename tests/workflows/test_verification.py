"""Contact verification (RS Systems) on the time-skipping server: a code by SMS, a link by
e-mail, expiry, limited tries, a resend after its cool-down, the result on the contact, and
routing that skips an unverified address when the deployment requires it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from herald.api.app import create_app
from herald.errors import Conflict
from herald.store import delivery_as_dict
from tests.api.conftest import serving
from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk

PHONE = "+33611111111"
EMAIL = "ana@example.org"


@pytest.fixture
async def verifying(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    async with open_desk(
        ts_env,
        smtp,
        tmp_path,
        sms_provider="outbox",
        outbox_dir=tmp_path / "outbox",
        public_base_url="https://herald.example.org",
        require_verified=["sms"],
    ) as desk:
        await desk.herald.upsert_subscriber("ana", name="Ana", email=EMAIL, phone=PHONE)
        for locale in ("fr", "en"):
            await desk.herald.set_template("t", locale=locale, subject="S", body="B", short="B")
        yield desk


def sms_codes(tmp_path: Path) -> list[str]:
    """The codes sent so far, oldest first."""
    files = sorted((tmp_path / "outbox").glob("*-sms-*.txt"), key=lambda p: p.stat().st_mtime_ns)
    texts = [p.read_text() for p in files]
    return [m.group(1) for t in texts if (m := re.search(r"\b(\d{6})\b", t))]


async def codes(tmp_path: Path, count: int) -> list[str]:
    """Once ``count`` codes were sent (the workflow sends them after the start answers)."""
    await eventually(lambda: len(sms_codes(tmp_path)) >= count, timeout=60)
    return sms_codes(tmp_path)


async def test_a_phone_is_verified_by_the_code_sent_to_it(verifying: Desk, tmp_path: Path) -> None:
    h = verifying.herald
    started = await h.start_verification("ana", channel="sms")
    assert started["status"] == "pending" and started["address"] == PHONE
    [code] = await codes(tmp_path, 1)
    wrong = "000000" if code != "000000" else "111111"
    assert (await h.confirm_verification(started["id"], code=wrong))["status"] == "pending"
    done = await h.confirm_verification(started["id"], code=code)
    assert done["status"] == "verified" and done["attempts"] == 2
    assert (await h.get_subscriber("ana")).phone_verified_at is not None
    # Only the hash was kept, and a new number is not the verified one.
    assert code not in str(verifying.store.engine.url)
    await h.upsert_subscriber("ana", phone="+33622222222")
    assert (await h.get_subscriber("ana")).phone_verified_at is None


async def test_an_unverified_phone_is_skipped_when_verification_is_required(
    verifying: Desk, tmp_path: Path
) -> None:
    h = verifying.herald

    async def alert() -> dict[str, object]:
        rid, _ = await h.notify("t", user_ids=["ana"], channels=["sms"], wait=True)
        return next(
            delivery_as_dict(r)
            for r in verifying.store.list_deliveries(subject_type="staff")
            if r.channel == "sms" and rid in r.workflow_id
        )

    before = await alert()
    assert before["status"] == "skipped"
    assert "sms address not verified" in str(before["error"])
    started = await h.start_verification("ana", channel="sms")
    await h.confirm_verification(started["id"], code=(await codes(tmp_path, 1))[-1])
    assert (await alert())["status"] == "sent"


async def test_a_code_expires_and_tries_are_limited(verifying: Desk, tmp_path: Path) -> None:
    h = verifying.herald
    first = await h.start_verification("ana", channel="sms")
    await codes(tmp_path, 1)
    await verifying.env.sleep(timedelta(minutes=11))
    handle = h.client.get_workflow_handle(f"verify-{first['id']}")
    await handle.result()
    assert (await h.verification(first["id"]))["status"] == "expired"
    with pytest.raises(Conflict):
        await h.confirm_verification(first["id"], code=(await codes(tmp_path, 1))[-1])

    second = await h.start_verification("ana", channel="sms")
    for _ in range(5):
        state = await h.confirm_verification(second["id"], code="999999x")
    assert state["status"] == "failed" and state["attempts"] == 5
    assert (await h.get_subscriber("ana")).phone_verified_at is None


async def test_a_new_code_waits_for_the_cool_down_and_replaces_the_old(
    verifying: Desk, tmp_path: Path
) -> None:
    h = verifying.herald
    started = await h.start_verification("ana", channel="sms")
    with pytest.raises(Conflict, match="ask again in"):
        await h.resend_verification(started["id"])
    await verifying.env.sleep(timedelta(seconds=61))
    await codes(tmp_path, 1)
    again = await h.resend_verification(started["id"])
    assert again["sends"] == 2
    old, new = (await codes(tmp_path, 2))[-2:]
    if old != new:
        assert (await h.confirm_verification(started["id"], code=old))["status"] == "pending"
    assert (await h.confirm_verification(started["id"], code=new))["status"] == "verified"


async def test_an_email_is_verified_by_the_link_it_receives(
    verifying: Desk, smtp: SmtpServer
) -> None:
    h = verifying.herald
    before = len(smtp.handler.to(EMAIL))  # the SMTP server serves the whole session
    started = await h.start_verification("ana", channel="email")
    await eventually(lambda: len(smtp.handler.to(EMAIL)) > before, timeout=60)
    mail = smtp.handler.to(EMAIL)[-1]
    body = mail.part("plain")
    link = re.search(r"https://herald\.example\.org(/v1/verifications/confirm\?token=\S+)", body)
    assert link is not None, body
    async with (
        serving(create_app(h, ready_timeout=60)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        tampered = await http.get(link.group(1)[:-2] + "xx")
        assert tampered.status_code == 200 and "incorrect" in tampered.text.lower()
        page = await http.get(link.group(1))
        assert page.status_code == 200 and "vérifiée" in page.text
        again = await http.get("/v1/verifications/confirm", params={"token": "nonsense"})
        assert again.status_code == 400
    assert (await h.verification(started["id"]))["status"] == "verified"
    assert (await h.get_subscriber("ana")).email_verified_at is not None

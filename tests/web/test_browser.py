"""The bell and the preferences page in headless Chromium, on the desk: a real loan on the
time-skipping server, its reminders delivered by the worker into the in-app inbox, Herald's
API on one origin and the application's page (one module script, one ``<herald-inbox>``)
on another."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.browser import context, launched, screenshot
from tests.conftest import eventually
from tests.smtp_server import SmtpServer
from tests.web.conftest import SECRET, Stack, stack_over
from tests.workflows.test_loan_workflow import Desk, local_afternoon, open_desk


@dataclass
class WebDesk:
    desk: Desk
    stack: Stack


@pytest.fixture
async def web_desk(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[WebDesk]:
    async with open_desk(ts_env, smtp, tmp_path, subscriber_token_secret=SECRET) as desk:
        h = desk.herald
        await h.upsert_subscriber(
            "ana", name="Ana Costa", email="ana@example.org", locale="en", timezone="Europe/Paris"
        )
        await h.upsert_subscriber("ben", name="Ben Roy", email="ben@example.org", locale="en")
        async with stack_over(h) as stack:
            yield WebDesk(desk, stack)


async def start_loan(desk: Desk, loan_id: str, borrower: str) -> Any:
    """A loan due in two days at 14:00 Paris: its confirmation now, J-1 at 08:00, then 2 h
    before."""
    now = await desk.now()
    due = local_afternoon(now, 2)
    await desk.herald.start_loan(
        loan_id, borrower_id=borrower, item="Bosch drill", due_at=due, borrowed_at=now
    )
    return due


# A hang guard, not a timing assertion: a shared, noisy machine may be slow.
EXPECT_TIMEOUT = 60_000


def rows(desk: Desk, loan_id: str, kind: str) -> dict[str, dict[str, Any]]:
    return {r["channel"]: r for r in desk.rows(loan_id) if r["kind"] == kind}


async def test_the_bell_counts_a_loan_reminder_live_marks_it_read_and_shows_nobody_elses(
    web_desk: WebDesk,
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT)
    desk, stack = web_desk.desk, web_desk.stack
    h = desk.herald
    bens = desk.store.add_inbox(
        delivery_key="ben-secret",
        subscriber_id="ben",
        kind="lead.created",
        title="Ben's private lead",
        body="for Ben only",
        priority="high",
        link=None,
    )
    due = await start_loan(desk, "L-bell", "ana")
    await eventually(lambda: h.unread_count("ana"), timeout=60)  # the confirmation, in-app

    async with launched() as browser, context(browser) as ctx:
        page = await ctx.new_page()
        await page.goto(stack.page("ana"))
        bell = page.locator("herald-inbox button.bell")
        badge = page.locator("herald-inbox .badge")
        await expect(badge).to_have_text("1")
        await expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")

        # Days pass on the server's clock: the J-1 reminder lands while the page is open.
        await desk.env.sleep(due - await desk.now() - timedelta(hours=3))
        await eventually(lambda: rows(desk, "L-bell", "loan.reminder_j1").get("in_app"))
        await expect(badge).to_have_text("2")
        await expect(page.locator("herald-inbox [role=status]")).to_have_text(
            "2 unread notifications"
        )

        await bell.click()
        items = page.locator("herald-inbox li.item")
        await expect(items).to_have_count(2)
        await expect(items.first).to_have_attribute("data-kind", "loan.reminder_j1")
        await expect(items.first).to_have_class("item priority-high unread")
        await expect(items.first.locator("time")).to_have_text("now")  # when it landed
        # The in-app text under the subject: plain, no WhatsApp *bold*, no signature.
        await expect(items.first.locator(".title")).to_contain_text(
            "Urgent reminder: “Bosch drill” is due back tomorrow at"
        )
        await expect(items.first.locator(".body")).to_have_text(
            re.compile(
                r"^“Bosch drill” is due back tomorrow at \d\d:\d\d\. "
                r"Please return it on time: other people are waiting for it\.$"
            )
        )
        assert "Ben" not in await page.locator("herald-inbox section.panel").inner_text()
        await screenshot(page, "bell-live-desktop")

        await items.first.locator("[data-action=read]").click()
        await expect(badge).to_have_text("1")
        await eventually(lambda: _equals(h.unread_count("ana"), 1))
        await expect(items.first).to_have_class("item priority-high")
        # Read filter: the reminder only; Unread: the confirmation only.
        await page.locator("herald-inbox [data-filter=read]").click()
        await expect(items).to_have_count(1)
        await expect(items.first).to_have_attribute("data-kind", "loan.reminder_j1")
        await page.locator("herald-inbox [data-filter=unread]").click()
        await expect(items.first).to_have_attribute("data-kind", "loan.created")
        await page.keyboard.press("Escape")
        await expect(page.locator("herald-inbox section.panel")).to_be_hidden()

        # The page's own token, used by hand against Ben's notification, changes nothing.
        token = await page.locator("herald-inbox").get_attribute("token")
        answer = await page.evaluate(
            """async ([api, token, id]) => {
                const headers = {Authorization: "Bearer " + token, "Content-Type": "application/json"};
                const read = await fetch(api + "/v1/me/inbox/read", {method: "POST", headers,
                    body: JSON.stringify({notification_ids: [id]})});
                const list = await fetch(api + "/v1/me/inbox?page_size=50", {headers});
                return {read: await read.json(), titles: (await list.json()).map(n => n.title)};
            }""",
            [stack.api_url, token, bens],
        )
        assert answer["read"] == {"subscriber_id": "ana", "marked_read": 0}
        assert "Ben's private lead" not in answer["titles"] and len(answer["titles"]) == 2
        assert await h.unread_count("ben") == 1
    await desk.cancel("L-bell")


async def _equals(value: Any, wanted: Any) -> bool:
    return await value == wanted


async def test_the_preferences_page_saves_and_the_next_reminder_honours_it(
    web_desk: WebDesk,
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT)
    desk, stack = web_desk.desk, web_desk.stack
    h = desk.herald
    due = await start_loan(desk, "L-prefs", "camille")  # French, Europe/Paris
    await eventually(lambda: h.unread_count("camille"), timeout=60)

    async with launched() as browser, context(browser, locale="en-GB") as ctx:
        page = await ctx.new_page()
        await page.goto(stack.preferences(await stack.token("camille")))
        form = page.locator("herald-preferences")
        await expect(form.locator("h1")).to_have_text("Préférences de notification")
        await expect(form.locator("label[for=ch-email] .sub")).to_have_text("camille@example.org")

        # A refusal shows Herald's own reason, the CLI's word for word.
        await form.locator("#quiet").check()
        await form.locator("#quiet-from").fill("22:00")
        await form.locator("#quiet-to").fill("22:00")
        await form.locator("button.save").click()
        status = form.locator(".status")
        await expect(status).to_have_text(
            "Non enregistré : quiet hours '22:00-22:00': the start and the end are the same"
        )
        await screenshot(page, "preferences-refused-fr-desktop")
        assert (await h.get_preferences("camille")).quiet_start is None

        # No quiet hours after all; and no more notices in the application.
        await form.locator("#quiet").uncheck()
        await form.locator("#ch-in_app").uncheck()
        await form.locator("button.save").click()
        await expect(status).to_have_text("Préférences enregistrées.")
        prefs = await h.get_preferences("camille")
        assert prefs.in_app is False and prefs.email is None  # only what changed was sent
        await expect(form.locator("#ch-in_app")).not_to_be_checked()

    # The next reminder follows the new choice: by e-mail, not in the inbox.
    await desk.env.sleep(due - await desk.now() - timedelta(hours=3))

    def j1_sent() -> bool:
        found = rows(desk, "L-prefs", "loan.reminder_j1")
        return "in_app" in found and found.get("email", {}).get("status") == "sent"

    await eventually(j1_sent, timeout=60)
    j1 = rows(desk, "L-prefs", "loan.reminder_j1")
    assert j1["in_app"]["status"] == "skipped"
    assert j1["in_app"]["error"] == "in_app switched off in preferences"
    assert await h.unread_count("camille") == 1  # the confirmation only
    await desk.cancel("L-prefs")


async def test_the_bell_renews_its_token_from_the_application_and_stays_live(
    web_desk: WebDesk,
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT)
    desk, stack = web_desk.desk, web_desk.stack
    async with launched() as browser, context(browser) as ctx:
        page = await ctx.new_page()
        # The first token the application hands out expires seconds later: the stream says
        # so, the element asks the application for another and listens again.
        await page.goto(stack.renewing_page("ana"))
        badge = page.locator("herald-inbox .badge")
        await expect(page.locator("herald-inbox button.bell")).to_have_attribute(
            "aria-label", "Notifications, none unread"
        )
        await eventually(lambda: stack.minted() >= 2, timeout=60)
        desk.store.add_inbox(
            delivery_key="ana-after-renewal",
            subscriber_id="ana",
            kind="loan.reminder_2h",
            title="Due in two hours: Bosch drill",
            body="…",
            priority="high",
            link=None,
        )
        await expect(badge).to_have_text("1")
        assert await page.locator("herald-inbox").get_attribute("token") is None

"""The console in headless Chromium, at a desktop's and a phone's width, in English and
French: sign-in to the dashboard, a failed delivery resent from the Failures page, a test
send whose provider's answer is shown and whose mail reaches the local SMTP server, a
kind's preview. Every page is kept as a screenshot (test-artifacts/screenshots/console-*);
``HERALD_README_SHOTS=1`` also writes the README's docs/img/console-dashboard.png."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.browser import DESKTOP, context, launched, screenshot
from tests.conftest import eventually
from tests.console.conftest import Console
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, Desk, start

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
VIEWS = [
    pytest.param("en", False, id="en-desktop"),
    pytest.param("fr", True, id="fr-phone"),
    pytest.param("fr", False, id="fr-desktop"),
    pytest.param("en", True, id="en-phone"),
]
TEXT = {
    "en": {
        "sign_in": "Sign in",
        "dashboard": "Dashboard",
        "failures": "Failures",
        "resend": "Resend",
        "resent": "resent as delivery",
        "test": "Test send",
        "send": "Send the test",
        "sent": "Sent through smtp.",
        "templates": "Templates",
        "html": "E-mail (HTML)",
        "short": "SMS / WhatsApp",
        "switch": "Français",
    },
    "fr": {
        "sign_in": "Se connecter",
        "dashboard": "Tableau de bord",
        "failures": "Échecs",
        "resend": "Renvoyer",
        "resent": "renvoyé comme envoi",
        "test": "Envoi de test",
        "send": "Envoyer le test",
        "sent": "Envoyé par smtp.",
        "templates": "Modèles",
        "html": "E-mail (HTML)",
        "short": "SMS / WhatsApp",
        "switch": "English",
    },
}


def write_history(desk: Desk) -> None:
    """A week of past deliveries, the same every time (a fixed seed), for the README."""
    import random
    from datetime import UTC, datetime

    from herald.db import Delivery

    rnd = random.Random(7)
    kinds = [
        "loan.created",
        "loan.reminder_j1",
        "loan.reminder_j2",
        "loan.overdue",
        "repair.approved",
        "followup.due_tomorrow",
        "loan.returned",
    ]
    addresses = {
        "email": BORROWER_EMAIL,
        "sms": "+33612345678",
        "whatsapp": "+33612345678",
        "in_app": "camille",
    }
    now = datetime.now(UTC)
    with desk.store.session() as s:
        for n in range(360):
            created = now - timedelta(hours=rnd.uniform(20, 6.9 * 24))
            channel = rnd.choices(list(addresses), [6, 2, 1, 3])[0]
            status = rnd.choices(
                ["sent", "delivered", "read", "permanently_failed"], [70, 20, 6, 2]
            )[0]
            s.add(
                Delivery(
                    idempotency_key=f"history-{n}",
                    workflow_id=f"loan-H-{n}",
                    notification_id="history",
                    subject_type="loan",
                    subject_id=f"H-{n}",
                    kind=rnd.choice(kinds),
                    role="borrower",
                    channel=channel,
                    subscriber_id="camille",
                    recipient=addresses[channel],
                    status=status,
                    attempts=1,
                    scheduled_at=created,
                    sent_at=None
                    if status == "permanently_failed"
                    else created + timedelta(seconds=rnd.expovariate(1 / 2)),
                    segments=rnd.choice([1, 1, 2]) if channel == "sms" else None,
                    cost_estimate=0.0795 if channel == "sms" else None,
                    cost_currency="USD" if channel == "sms" else None,
                    created_at=created,
                )
            )
        s.commit()


def no_horizontal_scroll_js() -> str:
    """The page is no wider than the window (tables may scroll inside their own box)."""
    return "document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.parametrize(("lang", "phone"), VIEWS)
async def test_the_console_in_a_browser(
    desk: Desk, desk_console: Console, lang: str, phone: bool
) -> None:
    words = TEXT[lang]
    tag = f"{lang}-{'phone' if phone else 'desktop'}"
    loan = f"L-web-{tag}"
    address = f"ops-{tag}@example.org"
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(desk, loan, timedelta(hours=30))

    def failed() -> int:
        rows = [
            r
            for r in desk.rows(loan)
            if r["channel"] == "email" and r["status"] == "permanently_failed"
        ]
        return int(str(rows[0]["id"])) if rows else 0

    failed_id = await eventually(failed)
    async with launched() as browser:
        locale = "en-GB" if lang == "en" else "fr-FR"
        async with context(browser, locale=locale, phone=phone) as ctx:
            page = await ctx.new_page()
            # Sign in, and land on the dashboard.
            await page.goto(f"{desk_console.url}/console/failures")
            await page.wait_for_selector(f"button:has-text('{words['sign_in']}')")
            await screenshot(page, f"console-login-{tag}")
            await page.fill("#secret", desk_console.ops_key)
            await page.click(f"button:has-text('{words['sign_in']}')")
            await page.wait_for_selector(f"h1:has-text('{words['failures']}')")

            # Failures → resend.
            row = page.locator(f"#delivery-{failed_id}")
            await row.wait_for()
            assert "Mailbox unavailable" in await row.inner_text()
            await screenshot(page, f"console-failures-{tag}")
            await row.locator(f"button:has-text('{words['resend']}')").click()
            await page.wait_for_selector(f".flash-ok:has-text('{words['resent']}')")
            await eventually(lambda: len(desk.smtp.handler.to(BORROWER_EMAIL)) == 1)
            await screenshot(page, f"console-resent-{tag}")

            # The dashboard.
            await page.click(f"nav.tabs >> text={words['dashboard']}")
            await page.wait_for_selector(".kpi")
            assert await page.locator(".chart svg rect").count() >= 1
            assert await page.evaluate(no_horizontal_scroll_js())
            await screenshot(page, f"console-dashboard-{tag}")

            # Test send → the provider's answer, and the mail at the SMTP server.
            await page.click(f"nav.tabs >> text={words['test']}")
            await page.select_option("#channel", "email")
            await page.fill("#address", address)
            await page.click(f"button:has-text('{words['send']}')")
            await page.wait_for_selector(f"#result:has-text('{words['sent']}')")
            (mail,) = await eventually(lambda: desk.smtp.handler.to(address))
            assert (await page.inner_text("#message-id")) == mail.message["Message-ID"]
            assert await page.evaluate(no_horizontal_scroll_js())
            await screenshot(page, f"console-test-send-{tag}")

            # Templates → a kind's preview, as the e-mail and as the SMS.
            await page.click(f"nav.tabs >> text={words['templates']}")
            await page.wait_for_selector("text=loan.overdue")
            assert await page.evaluate(no_horizontal_scroll_js())
            await screenshot(page, f"console-templates-{tag}")
            await page.click("a:has-text('loan.overdue')")
            frame = page.frame_locator("iframe.mail-frame")
            await frame.locator("body").wait_for()
            assert "Trépied" in await frame.locator("body").inner_text()
            await screenshot(page, f"console-preview-{tag}")
            await page.click(f"a:has-text('{words['short']}')")
            body = await page.inner_text("#preview-body")
            assert "Trépied" in body and len(body) < 1600
            await screenshot(page, f"console-preview-short-{tag}")

            # The other language, then out.
            await page.click(f"button:has-text('{words['switch']}')")
            other = "fr" if lang == "en" else "en"
            await page.wait_for_selector(f"html[lang={other}]")
            await page.click("form[action$='/logout'] button")
            await page.wait_for_selector("#secret")
            assert page.url.endswith("/console/login")
    await desk.cancel(loan)


async def test_the_readme_screenshot_of_the_dashboard(desk: Desk, desk_console: Console) -> None:
    """docs/img/console-dashboard.png: today's deliveries of a few loans, beside a week of
    illustrative history written straight into the log (so the chart has days to show)."""
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    for n in range(3):
        await start(desk, f"L-doc-{n}", timedelta(hours=30 + n))
    await eventually(lambda: all(desk.rows(f"L-doc-{n}") for n in range(3)))
    write_history(desk)
    async with launched() as browser, context(browser) as ctx:
        page = await ctx.new_page()
        await page.set_viewport_size(DESKTOP)
        await page.goto(f"{desk_console.url}/console/login")
        await page.fill("#secret", desk_console.ops_key)
        await page.click("button:has-text('Sign in')")
        await page.wait_for_selector(".kpi")
        # The week's history shows as one labelled bar a day with its total on top.
        assert await page.locator("svg text.day").count() == 7
        assert await page.locator("svg text.bar-total").count() >= 6
        await screenshot(page, "console-dashboard-week")
        if os.environ.get("HERALD_README_SHOTS"):  # the README's picture, on request
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(DOCS_IMG / "console-dashboard.png"), full_page=True)
    for n in range(3):
        await desk.cancel(f"L-doc-{n}")

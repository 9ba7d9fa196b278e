"""The console's "Loans, repairs, follow-ups" and "Schedules & health" pages on the real
dev server (Temporal visibility lists nothing on the time-skipping one), one per module,
with Herald's workers: over HTTP (overdue apart from upcoming, sorted and paged, a refused
search shown with its reason, "Send now" making one delivery logged by hand that a reload
does not repeat, the schedule's runs and the doctor's checks), and in Chromium at a
desktop's and a phone's width in English and French, each page kept as a screenshot."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from herald.api.app import create_app
from herald.api.keys import ApiKeys
from herald.console.i18n import Texts
from herald.schedules import HOUSEKEEPING_ID, apply_schedules
from tests.api.conftest import serving
from tests.browser import context, launched, screenshot
from tests.conftest import eventually
from tests.console.conftest import CSRF, PASSWORD, Console, csrf_of, sign_in
from tests.operations.conftest import GUARD, UI, Ops, ops_stack

pytestmark = pytest.mark.e2e

ROW = re.compile(r'<tr id="object-([^"]+)"')
NOTICE = re.compile(r'name="notice" value="([^"]+)"')
PARIS = {"en": Texts("en", "Europe/Paris"), "fr": Texts("fr", "Europe/Paris")}


@dataclass
class Site:
    ops: Ops
    url: str
    key: str

    def client(self, lang: str = "en") -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=60, headers={"Accept-Language": lang})

    def manual_rows(self, subject_id: str) -> list[str]:
        """The notifications of a subject sent by hand ("send now"), each once whatever
        its channels."""
        return sorted(
            {
                r.notification_id
                for r in self.ops.store.list_deliveries(subject_id=subject_id)
                if "@manual-" in r.notification_id
            }
        )


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """The module's one dev server with its workers, and the API (console included) on it."""
    async with ops_stack(tmp_path_factory.mktemp("console-ops")) as ops:
        key = ApiKeys(ops.store).create(f"console-{ops.tag}", "ops").key
        async with serving(create_app(ops.herald, ready_timeout=60)) as url:
            yield Site(ops, url, key)


async def page_until(
    http: httpx.AsyncClient, path: str, ready: Callable[[str], bool], **params: Any
) -> str:
    """The page once ``ready`` holds for it (visibility follows within moments)."""
    last: list[str] = []

    async def check() -> bool:
        page = await http.get(path, params=params)
        assert page.status_code == 200, page.text[:500]
        last[:] = [page.text]
        return ready(page.text)

    try:
        await eventually(check, timeout=GUARD, interval=0.3)
    except AssertionError:
        rows = ROW.findall(last[0]) if last else None
        raise AssertionError(f"{path} {params}: never ready (rows {rows})") from None
    return last[0]


def token_in(page: str) -> str:
    found = CSRF.search(page)
    assert found, "no CSRF token"
    return found.group(1)


def row_html(page: str, object_id: str) -> str:
    found = re.search(rf'<tr id="object-{re.escape(object_id)}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row {object_id}"
    return found.group(1)


def sendable(*ids: str) -> Callable[[str], bool]:
    """The listing shows exactly ``ids``, each with its Send now form (its workflow
    answered with its next notice)."""

    def ready(page: str) -> bool:
        return set(ROW.findall(page)) == set(ids) and all(
            "/send-now" in row_html(page, i) for i in ids
        )

    return ready


def listing_shows(*ids: str) -> Callable[[str], bool]:
    return lambda page: set(ROW.findall(page)) == set(ids)


async def test_overdue_and_upcoming_loans_are_listed_apart_sorted_and_paged(site: Site) -> None:
    ops = site.ops
    late = ops.id("C-late")
    soon, later = ops.id("C-soon"), ops.id("C-later")
    due_late = await ops.start_past_due_loan(late, "camille")
    now = datetime.now(UTC)
    await ops.herald.start_loan(
        later, borrower_id="sam", item="Scie", due_at=now + timedelta(days=6)
    )
    await ops.herald.start_loan(
        soon, borrower_id="ana", item="Scie", due_at=now + timedelta(days=4)
    )
    prefix = ops.id("C-")
    async with site.client() as http:
        await sign_in(http, site.key)
        page = await page_until(
            http,
            "/console/objects",
            listing_shows(late),
            kind="loan",
            state="overdue",
            search=prefix,
        )
        assert 'aria-current="true">Overdue now<' in page and 'aria-current="true">Loans<' in page
        row = row_html(page, late)
        info = await ops.herald.object_info("loan", late)
        assert info.due_at is not None and abs((info.due_at - due_late).total_seconds()) < 0.01
        assert "Overdue</span>" in row and "camille" in row
        assert PARIS["en"].when(info.due_at) in row and " ago</div>" in row
        link = f"{UI}/namespaces/default/workflows/loan-{late}/{info.run_id}/history"
        assert f'href="{link}" target="_blank" rel="noopener"' in row
        assert f'href="/console/objects/loan/{late}"' in row

        # Upcoming: the sooner due first, each with its next notice in the console's zone.
        page = await page_until(
            http,
            "/console/objects",
            sendable(soon, later),
            kind="loan",
            state="upcoming",
            search=prefix,
        )
        assert ROW.findall(page) == [soon, later]
        for loan_id in (soon, later):
            nxt = (await ops.herald.object_info("loan", loan_id)).next_reminder
            assert nxt is not None and nxt.can_send_now
            row = row_html(page, loan_id)
            assert f'<code class="break">{nxt.kind}</code>' in row
            assert PARIS["en"].when(nxt.at) in row and "to the borrower" in row
            assert f'name="notice" value="{nxt.kind}"' in row
            assert "Overdue</span>" not in row
        # All: the overdue one first, then by due time.
        page = await page_until(
            http,
            "/console/objects",
            listing_shows(late, soon, later),
            kind="loan",
            state="all",
            search=prefix,
        )
        assert ROW.findall(page) == [late, soon, later]

        # One row a page, following the Next page links to the end.
        seen: list[str] = []
        path = f"/console/objects?kind=loan&state=all&search={prefix}&limit=1"
        for number in range(5):
            page_doc = await http.get(path)
            assert page_doc.status_code == 200
            seen += ROW.findall(page_doc.text)
            assert ("First page" in page_doc.text) == (number > 0)
            following = re.search(r'href="([^"]+)" rel="next" id="next-page"', page_doc.text)
            if following is None:
                break
            path = html.unescape(following.group(1))
            assert "limit=1" in path and "page_token=" in path
        assert sorted(seen) == sorted([late, soon, later])

    # In French: the same rows, the words and dates in French.
    async with site.client("fr") as http:
        await sign_in(http, site.key)
        page = await page_until(
            http,
            "/console/objects",
            listing_shows(late),
            kind="loan",
            state="overdue",
            search=prefix,
        )
        row = row_html(page, late)
        assert "En retard</span>" in row and PARIS["fr"].when(info.due_at) in row
        assert "il y a " in row
        assert 'aria-current="true">Prêts<' in page


async def test_a_refused_search_shows_the_service_layers_reason(site: Site) -> None:
    ops = site.ops
    async with site.client() as http:
        await sign_in(http, site.key)
        for params, reason in (
            ({"kind": "loan", "search": "x' OR WorkflowType = 'RepairWorkflow"}, "invalid search"),
            ({"kind": "loan", "search": "a" * 201}, "invalid search"),
            ({"kind": "invoice"}, "unknown object kind"),
            ({"kind": "loan", "state": "late"}, "unknown state"),
            ({"kind": "loan", "page_token": "not base64!"}, "invalid page token"),
            ({"kind": "loan", "limit": "0"}, "page size"),
        ):
            page = await http.get("/console/objects", params=params)
            assert page.status_code == 422, params
            refusal = re.search(r'id="refused">([^<]*)<', page.text)
            assert refusal, params
            text = html.unescape(refusal.group(1))
            assert text.startswith("Refused: ") and reason in text and "\n" not in text
            assert 'id="objects"' not in page.text
        # What was typed stays in the box, escaped.
        page = await http.get("/console/objects", params={"search": '"><b>x'})
        assert 'value="&#34;&gt;&lt;b&gt;x"' in page.text and "<b>x" not in page.text
        missing = await http.get(f"/console/objects/loan/{ops.id('C-none')}")
        assert missing.status_code == 404 and "no loan" in missing.text
        bad = await http.get("/console/objects/loan/a%20b")
        assert bad.status_code == 422 and "invalid loan id" in bad.text
    async with site.client("fr") as http:
        await sign_in(http, site.key)
        page = await http.get("/console/objects", params={"search": "a b"})
        assert page.status_code == 422 and "Refusé : invalid search" in page.text


async def test_send_now_makes_one_delivery_by_hand_and_a_reload_sends_nothing(
    site: Site,
) -> None:
    ops = site.ops
    loan_id = ops.id("C-send")
    await ops.herald.start_loan(
        loan_id,
        borrower_id="camille",
        item="Ponceuse",
        due_at=datetime.now(UTC) + timedelta(days=4),
    )
    async with site.client() as http:
        await sign_in(http, site.key)
        page = await page_until(
            http,
            "/console/objects",
            sendable(loan_id),
            kind="loan",
            state="upcoming",
            search=loan_id,
        )
        row = row_html(page, loan_id)
        (notice,) = NOTICE.findall(row)
        here = f"/objects?kind=loan&state=upcoming&search={loan_id}"
        sent = await http.post(
            f"/console/objects/loan/{loan_id}/send-now",
            data={"csrf": token_in(page), "notice": notice, "next": here},
        )
        assert sent.status_code == 303 and sent.headers["location"] == f"/console{here}"
        assert len(site.manual_rows(loan_id)) == 1
        manual = ops.row(loan_id, f"{notice}@manual-1", "email")
        assert manual["status"] == "sent" and manual["recipient"] == "camille@example.org"
        assert str(manual["note"]).startswith("sent by hand")

        result = await http.get(sent.headers["location"])
        assert f"{notice} sent now for {loan_id}." in result.text
        assert f'id="notification-id">{notice}@manual-1<' in result.text
        assert "E\u2011mail · Sent" in result.text
        # A reload shows the page alone, and sends nothing more.
        again = await http.get(sent.headers["location"])
        assert "sent now for" not in again.text and 'id="result"' not in again.text
        assert len(site.manual_rows(loan_id)) == 1

        # From the object's own page: back to it, the second delivery by hand.
        detail = await http.get(f"/console/objects/loan/{loan_id}")
        assert detail.status_code == 200 and f"<code>{loan_id}</code>" in detail.text
        assert f'name="notice" value="{notice}"' in detail.text
        assert f"{UI}/namespaces/default/workflows/loan-{loan_id}/" in detail.text
        sent = await http.post(
            f"/console/objects/loan/{loan_id}/send-now",
            data={"csrf": csrf_of(detail), "notice": notice},
        )
        assert sent.headers["location"] == f"/console/objects/loan/{quote(loan_id)}"
        shown = await http.get(sent.headers["location"])
        assert f'id="notification-id">{notice}@manual-2<' in shown.text
        assert len(site.manual_rows(loan_id)) == 2

        # A loan that ended: the Conflict is shown, nothing sent.
        await ops.herald.cancel_loan(loan_id)
        await ops.herald.client.get_workflow_handle(f"loan-{loan_id}").result()
        refused = await http.post(
            f"/console/objects/loan/{loan_id}/send-now",
            data={"csrf": csrf_of(shown), "notice": notice},
        )
        assert refused.status_code == 303
        ended = await http.get(refused.headers["location"])
        assert f"Not sent for {loan_id}:" in ended.text and "no longer running" in ended.text
        assert "/send-now" not in ended.text  # closed: no button
        # A repair's notices are not sent by hand.
        repair = await http.post(
            f"/console/objects/repair/{ops.id('C-R1')}/send-now",
            data={"csrf": csrf_of(ended), "notice": "repair.unassigned", "next": "/objects"},
        )
        assert repair.headers["location"] == "/console/objects"
        assert "none is sent by hand" in (await http.get(repair.headers["location"])).text
    assert len(site.manual_rows(loan_id)) == 2


async def test_repairs_waiting_for_a_technician_show_their_alert_without_a_button(
    site: Site,
) -> None:
    ops = site.ops
    waiting = ops.id("C-R-wait")
    await ops.herald.start_repair(waiting, title="Écran", customer_id="camille")
    await ops.herald.repair_event(waiting, "approved", event_id="a1")
    async with site.client() as http:
        await sign_in(http, site.key)

        def alert_shown(page: str) -> bool:
            return listing_shows(waiting)(page) and "repair.unassigned" in page

        page = await page_until(
            http, "/console/objects", alert_shown, kind="repair", state="overdue", search=waiting
        )
        row = row_html(page, waiting)
        assert "No technician</span>" in row and "Approved</span>" in row
        assert "to the managers" in row and "/send-now" not in row
        assert '<th scope="col">Customer</th>' in page
        detail = await http.get(f"/console/objects/repair/{waiting}")
        assert "it is not sent by hand" in detail.text and "/send-now" not in detail.text


async def test_the_health_page_shows_the_schedule_its_runs_and_the_checks(site: Site) -> None:
    ops = site.ops
    handle = ops.herald.client.get_schedule_handle(HOUSEKEEPING_ID)
    async with site.client() as http:
        await sign_in(http, site.key)
        # Before herald setup: no schedule, and the top of the page says what to do.
        (info,) = await ops.herald.schedules()
        assert not info.exists
        page = await http.get("/console/health")
        assert page.status_code == 200
        assert 'class="card overall overall-problem"' in page.text
        assert f"Schedule {HOUSEKEEPING_ID} does not exist: run herald setup." in page.text
        assert "Not created</span>" in page.text
        await apply_schedules(ops.herald.client, ops.settings)
        await handle.trigger()

        async def ran() -> bool:
            (now,) = await ops.herald.schedules()
            return bool(now.recent_runs) and all(r.status == "completed" for r in now.recent_runs)

        await eventually(ran, timeout=GUARD, interval=0.3)
        (info,) = await ops.herald.schedules()
        report = await ops.herald.health()
        page = await http.get("/console/health")
        assert page.status_code == 200
        text = page.text
        assert report.ok and 'class="card overall overall-ok"' in text and "All is well" in text
        schedule = re.search(rf'id="schedule-{HOUSEKEEPING_ID}">(.*?)</article>', text, re.S)
        assert schedule
        block = schedule.group(1)
        assert "Active</span>" in block and "<code>HousekeepingWorkflow</code>" in block
        assert "Europe/Paris" in block and len(info.next_runs) == 3
        for when in info.next_runs:
            assert PARIS["en"].when(when) in block
        assert f"{info.runs_total} started; 0 skipped" in block
        run = info.recent_runs[0]
        assert f'href="{run.ui_url}" target="_blank" rel="noopener"' in block
        assert "Completed</span>" in block and run.workflow_id in block
        assert f'href="{info.ui_url}" target="_blank" rel="noopener"' in block
        # Every check, problems first, with its detail (the fix, for a problem).
        checks = re.search(r'id="checks">(.*?)</table>', text, re.S)
        assert checks
        for check in report.checks:
            assert html.escape(check.detail, quote=True) in checks.group(1)
        assert checks.group(1).count('<tr class="check-row-') == len(report.checks)
        assert f'id="metrics-url">{site.url}/metrics<' in text
        assert "HERALD_METRICS_TOKEN is not set" in text

        # Paused with a note: a warning at the top, the note shown.
        await handle.pause(note="paused for the migration")
        try:
            paused = (await http.get("/console/health")).text
            assert 'class="card overall overall-warning"' in paused
            assert (
                "Worth a look: 1" in paused and f"Schedule {HOUSEKEEPING_ID} is paused." in paused
            )
            assert "paused for the migration" in paused
        finally:
            await handle.unpause()
    async with site.client("fr") as http:
        await sign_in(http, site.key)
        page = await http.get("/console/health")
        assert "<h1>Planifications et santé</h1>" in page.text and "Tout va bien" in page.text
        assert "Terminé</span>" in page.text and "Vérifications" in page.text


async def test_without_temporal_both_pages_say_so(bare_console: Console) -> None:
    async with bare_console.client() as http:
        await sign_in(http, PASSWORD)
        page = await http.get("/console/objects")
        assert page.status_code == 503 and "cannot reach Temporal" in page.text
        health = await http.get("/console/health")
        assert health.status_code == 200
        assert 'class="card overall overall-problem"' in health.text
        assert "The schedules cannot be read: cannot reach Temporal" in health.text
        assert "Temporal: Temporal at" in health.text and "unreachable" in health.text
        sent = await http.post(
            "/console/objects/loan/L-1/send-now",
            data={"csrf": csrf_of(health), "notice": "loan.reminder_j1"},
        )
        assert sent.headers["location"] == "/console/objects/loan/L-1"
        flash = await http.get("/console/objects")
        assert "Not sent for L-1: cannot reach Temporal" in flash.text
        one = await http.get("/console/objects/loan/L-1")
        assert one.status_code == 503 and "cannot reach Temporal" in one.text
        # A page to go back to that is not the console's: the object's own instead.
        away = await http.post(
            "/console/objects/loan/L-1/send-now",
            data={"csrf": csrf_of(health), "notice": "loan.reminder_j1", "next": "//evil.example"},
        )
        assert away.headers["location"] == "/console/objects/loan/L-1"


# ---------------------------------------------------------------- in a browser

VIEWS = [
    pytest.param("en", False, id="en-desktop"),
    pytest.param("fr", True, id="fr-phone"),
    pytest.param("fr", False, id="fr-desktop"),
    pytest.param("en", True, id="en-phone"),
]
WORDS = {
    "en": {
        "sign_in": "Sign in",
        "send": "Send now",
        "sent": "sent now for",
        "overdue": "Overdue",
        "health": "Schedules & health",
        "refused": "Refused: invalid search",
        "search": "Search",
    },
    "fr": {
        "sign_in": "Se connecter",
        "send": "Envoyer maintenant",
        "sent": "envoyé maintenant pour",
        "overdue": "En retard",
        "health": "Planifications et santé",
        "refused": "Refusé : invalid search",
        "search": "Chercher",
    },
}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"


async def reload_until(page: Any, ready: Callable[[], Awaitable[bool]]) -> None:
    """Reload the page until ``ready`` (visibility follows within moments)."""

    async def check() -> bool:
        if await ready():
            return True
        await page.reload()
        return False

    await eventually(check, timeout=GUARD, interval=0.3)


@pytest.mark.parametrize(("lang", "phone"), VIEWS)
async def test_the_ops_pages_in_a_browser(site: Site, lang: str, phone: bool) -> None:
    ops = site.ops
    words = WORDS[lang]
    tag = f"{lang}-{'phone' if phone else 'desktop'}"
    prefix = ops.id(f"{lang.upper()}{'P' if phone else 'D'}")
    late, soon, later = f"{prefix}-L-1040", f"{prefix}-L-1041", f"{prefix}-L-1042"
    await ops.start_past_due_loan(late, "camille")
    now = datetime.now(UTC)
    await ops.herald.start_loan(
        soon, borrower_id="ana", item="Scie", due_at=now + timedelta(days=3)
    )
    await ops.herald.start_loan(
        later, borrower_id="sam", item="Niveau", due_at=now + timedelta(days=9)
    )
    await apply_schedules(ops.herald.client, ops.settings)
    async with (
        launched() as browser,
        context(browser, locale="en-GB" if lang == "en" else "fr-FR", phone=phone) as ctx,
    ):
        page = await ctx.new_page()
        await page.goto(f"{site.url}/console/objects?kind=loan&state=all&search={prefix}")
        await page.fill("#secret", site.key)
        await page.click(f"button:has-text('{words['sign_in']}')")
        await page.wait_for_selector("#kinds")

        rows = page.locator("#objects tbody tr")
        send = page.locator(f"#object-{soon} button:has-text('{words['send']}')")

        async def listed() -> bool:
            return await rows.count() == 3 and await send.count() == 1

        await reload_until(page, listed)
        ids = [await r.get_attribute("id") for r in await rows.all()]
        assert ids == [f"object-{late}", f"object-{soon}", f"object-{later}"]
        assert words["overdue"] in await page.locator(f"#object-{late}").inner_text()
        link = page.locator(f"#object-{late} a.ui-link")
        assert await link.get_attribute("target") == "_blank"
        assert await link.get_attribute("rel") == "noopener"
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await screenshot(page, f"console-objects-{tag}")

        # Send now: the result after the redirect, one delivery by hand.
        await send.click()
        await page.wait_for_selector(f"#result:has-text('{words['sent']}')")
        notification = await page.inner_text("#notification-id")
        assert notification.endswith("@manual-1")
        assert len(site.manual_rows(soon)) == 1
        assert ops.row(soon, notification, "email")["status"] == "sent"
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await screenshot(page, f"console-objects-sent-{tag}")
        await page.reload()
        await page.wait_for_selector("#kinds")
        assert await page.locator("#result").count() == 0
        assert len(site.manual_rows(soon)) == 1

        # One loan's page.
        await page.click(f"#object-{late} a:has-text('{late}')")
        await page.wait_for_selector("#facts")
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await screenshot(page, f"console-object-{tag}")

        # A search the service layer refuses.
        await page.goto(f"{site.url}/console/objects?kind=loan&state=overdue")
        await page.fill("#search", "x' OR 1=1")
        await page.click(f"form.search button:has-text('{words['search']}')")
        await page.wait_for_selector(f"#refused:has-text('{words['refused']}')")
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await screenshot(page, f"console-objects-refused-{tag}")

        # Schedules & health; at a phone's width with the schedule paused (a warning).
        schedule = ops.herald.client.get_schedule_handle(HOUSEKEEPING_ID)
        if phone:
            await schedule.pause(note="paused during the stocktake")
        try:
            await page.click(f"nav.tabs >> text={words['health']}")
            await page.wait_for_selector(f"#schedule-{HOUSEKEEPING_ID}")
            overall = await page.get_attribute("#overall", "class")
            assert overall == f"card overall overall-{'warning' if phone else 'ok'}"
            assert await page.locator("#checks tbody tr").count() >= 3
            assert await page.evaluate(NO_SIDEWAYS_SCROLL)
            await screenshot(page, f"console-health-{tag}")
        finally:
            if phone:
                await schedule.unpause()
    for loan_id in (late, soon, later):
        await ops.herald.cancel_loan(loan_id)

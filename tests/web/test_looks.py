"""The bell and the preferences page as people see them: English and French, desktop and
a 390-pixel phone, with a seeded inbox. Screenshots are kept as test artefacts
(tests/browser.py); with HERALD_README_SHOTS=1 the open bell is also saved as the README's
docs/img/bell.png."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from herald.db import InboxNotification, utcnow
from starter.client import Herald
from tests.browser import context, launched, screenshot
from tests.web.conftest import Stack, stack_over, web_herald

README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "bell.png"

# (key, person, kind, title, body, priority, link, age)
SEEDS = {
    "en": [
        (
            "o1",
            "loan.overdue",
            "Overdue: Bosch drill",
            "The Bosch drill was due back yesterday at 6 pm. Please bring it back today.",
            "urgent",
            "https://library.example.org/loans/L-1001",
            timedelta(minutes=3),
        ),
        (
            "j1",
            "loan.reminder_j1",
            "Due tomorrow: projector",
            "The Epson projector is due back tomorrow at 2 pm.",
            "high",
            "https://library.example.org/loans/L-1002",
            timedelta(hours=2),
        ),
        (
            "r1",
            "repair.completed",
            "Repair completed: ladder",
            "Your ladder is repaired and ready to collect.",
            "medium",
            None,
            timedelta(days=1, hours=1),
        ),
        (
            "c1",
            "loan.created",
            "Loan confirmed: camping stove",
            "You borrowed the camping stove until 12 December.",
            "medium",
            None,
            timedelta(days=3),
        ),
        (
            "u1",
            "user.welcome",
            "Welcome to the tool library",
            "Your account is ready.",
            "low",
            None,
            timedelta(days=12),
        ),
    ],
    "fr": [
        (
            "o1",
            "loan.overdue",
            "En retard : perceuse Bosch",
            "La perceuse Bosch devait être rendue hier à 18 h. Merci de la rapporter aujourd’hui.",
            "urgent",
            "https://library.example.org/loans/L-1001",
            timedelta(minutes=3),
        ),
        (
            "j1",
            "loan.reminder_j1",
            "À rendre demain : vidéoprojecteur",
            "Le vidéoprojecteur Epson est à rendre demain à 14 h.",
            "high",
            "https://library.example.org/loans/L-1002",
            timedelta(hours=2),
        ),
        (
            "r1",
            "repair.completed",
            "Réparation terminée : échelle",
            "Votre échelle est réparée et prête à être retirée.",
            "medium",
            None,
            timedelta(days=1, hours=1),
        ),
        (
            "c1",
            "loan.created",
            "Prêt confirmé : réchaud de camping",
            "Vous avez emprunté le réchaud jusqu’au 12 décembre.",
            "medium",
            None,
            timedelta(days=3),
        ),
        (
            "u1",
            "user.welcome",
            "Bienvenue à la bricothèque",
            "Votre compte est prêt.",
            "low",
            None,
            timedelta(days=12),
        ),
    ],
}
PEOPLE = {"en": ("ana", "Ana Costa"), "fr": ("lea", "Léa Dubœuf")}


def seed(herald: Herald) -> None:
    store = herald.store
    for lang, (who, name) in PEOPLE.items():
        store.upsert_subscriber(
            who, name=name, email=f"{who}@example.org", locale=lang, timezone="Europe/Paris"
        )
        now = utcnow()
        for key, kind, title, body, priority, link, age in SEEDS[lang]:
            nid = store.add_inbox(
                delivery_key=f"{who}-{key}",
                subscriber_id=who,
                kind=kind,
                title=title,
                body=body,
                priority=priority,
                link=link,
            )
            with store.session() as s, s.begin():
                s.execute(
                    update(InboxNotification)
                    .where(InboxNotification.id == nid)
                    .values(created_at=now - age)
                )
        # The older ones were read already.
        ids = [n.id for n in store.list_inbox(who, page_size=50)][3:]
        store.mark_read(who, ids)


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[Stack]:
    herald = web_herald(tmp_path)
    seed(herald)
    async with stack_over(herald) as stack:
        yield stack
    herald.close()


async def no_sideways_scroll(page: object) -> None:
    width = await page.evaluate("document.scrollingElement.scrollWidth")  # type: ignore[attr-defined]
    inner = await page.evaluate("window.innerWidth")  # type: ignore[attr-defined]
    if width > inner:
        await screenshot(page, "overflow")  # type: ignore[arg-type]
    assert width <= inner, f"the page scrolls sideways: {width} > {inner}"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_bell_and_the_preferences_in_both_languages_and_widths(
    seeded: Stack, lang: str, phone: bool
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=60_000)  # a hang guard: a shared, noisy machine may be slow
    who, _ = PEOPLE[lang]
    width = "phone" if phone else "desktop"
    async with launched() as browser, context(browser, locale="en-GB", phone=phone) as ctx:
        page = await ctx.new_page()
        await page.goto(seeded.page(who))
        bell = page.locator("herald-inbox").locator("button.bell")
        await expect(bell).to_have_attribute(
            "aria-label", "Notifications, 3 unread" if lang == "en" else "Notifications, 3 non lues"
        )
        await bell.click()
        items = page.locator("herald-inbox").locator("li.item")
        await expect(items).to_have_count(5)
        # Unread first, the urgent one on top, times in the person's language.
        await expect(items.first).to_have_class("item priority-urgent unread")
        first_time = items.first.locator("time")
        await expect(first_time).to_have_text(
            "3 minutes ago" if lang == "en" else "il y a 3 minutes"
        )
        await expect(items.nth(2).locator("time")).to_have_text(
            "yesterday" if lang == "en" else "hier"
        )
        heading = page.locator("herald-inbox").locator("h2")
        await expect(heading).to_have_text("Notifications")
        mark_all = page.locator("herald-inbox").locator("header .text-button")
        await expect(mark_all).to_have_text(
            "Mark all as read" if lang == "en" else "Tout marquer comme lu"
        )
        panel = page.locator("herald-inbox").locator("section.panel")
        box = await panel.bounding_box()
        viewport = page.viewport_size
        assert box is not None and viewport is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        await no_sideways_scroll(page)
        shot = await screenshot(page, f"bell-{lang}-{width}")
        if lang == "en" and not phone and os.environ.get("HERALD_README_SHOTS"):
            clip = {
                "x": max(0, box["x"] - 24),
                "y": 0,
                "width": box["width"] + 48,
                "height": box["y"] + box["height"] + 24,
            }
            README_SHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(README_SHOT), clip=clip)
        assert shot.exists()

        prefs = await ctx.new_page()
        await prefs.goto(seeded.preferences(await seeded.token(who)))
        title = prefs.locator("herald-preferences").locator("h1")
        await expect(title).to_have_text(
            "Notification preferences" if lang == "en" else "Préférences de notification"
        )
        assert "#token" not in prefs.url  # the token leaves the address bar
        assert await prefs.evaluate("document.documentElement.lang") == lang
        await no_sideways_scroll(prefs)
        await screenshot(prefs, f"preferences-{lang}-{width}")


ARCHIVE_WORDS = {
    "en": ("Archived", "Restore", "No archived notifications."),
    "fr": ("Archivées", "Restaurer", "Aucune notification archivée."),
}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_archived_view_shows_what_was_archived_and_restores_it(
    seeded: Stack, lang: str, phone: bool
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=60_000)  # a hang guard: a shared, noisy machine may be slow
    who, _ = PEOPLE[lang]
    label, restore_word, nothing = ARCHIVE_WORDS[lang]
    urgent = SEEDS[lang][0][2]  # the unread, urgent one on top
    async with launched() as browser, context(browser, locale="en-GB", phone=phone) as ctx:
        page = await ctx.new_page()
        await page.goto(seeded.page(who))
        inbox = page.locator("herald-inbox")
        badge = inbox.locator(".badge")
        items = inbox.locator("li.item")
        await expect(badge).to_have_text("3")
        await inbox.locator("button.bell").click()
        await expect(items).to_have_count(5)
        await items.first.locator("[data-action=archive]").click()
        await expect(items).to_have_count(4)
        await expect(badge).to_have_text("2")  # an archived notice is not counted

        archived = inbox.locator("[data-filter=archived]")
        await expect(archived).to_have_text(label)
        await archived.click()
        await expect(archived).to_have_attribute("aria-pressed", "true")
        await expect(items).to_have_count(1)
        await expect(items.first.locator(".title")).to_contain_text(urgent)
        # Here a notice is restored, not archived again; "mark all read" is for the list.
        await expect(items.first.locator("[data-action=archive]")).to_have_count(0)
        await expect(inbox.locator("header .text-button")).to_be_hidden()
        await no_sideways_scroll(page)
        await screenshot(page, f"bell-archived-{lang}-{'phone' if phone else 'desktop'}")

        restore = items.first.locator("[data-action=unarchive]")
        await expect(restore).to_have_attribute("title", restore_word)
        await restore.click()
        await expect(items).to_have_count(0)
        await expect(inbox.locator("p.note")).to_have_text(nothing)
        await expect(badge).to_have_text("3")  # unread, and counted again
        assert await seeded.herald.inbox(who, archived=True) == []
        assert await seeded.herald.unread_count(who) == 3

        await inbox.locator("[data-filter=all]").click()
        await expect(items).to_have_count(5)
        await expect(items.first.locator(".title")).to_contain_text(urgent)
        await expect(inbox.locator("header .text-button")).to_be_visible()

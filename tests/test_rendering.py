"""Rendering of the loan notification templates (herald/templates) through ``Renderer``."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from markupsafe import escape

import herald
from herald.kinds import KINDS
from herald.rendering import (
    Renderer,
    TemplateError,
    format_datetime,
    format_duration,
    format_time,
)

LOCALES = ("fr", "en")
LOAN_KINDS = (
    "loan.created",
    "loan.reminder_2h",
    "loan.reminder_j2",
    "loan.reminder_j1",
    "loan.due_today",
    "loan.overdue",
    "loan.returned",
)
EMOJI = {
    "loan.created": "✅",
    "loan.reminder_2h": "⏰",
    "loan.reminder_j2": "📋",
    "loan.reminder_j1": "🚨",
    "loan.due_today": "🔴",
    "loan.overdue": "⚠️",
    "loan.returned": "✨",
}
TEMPLATES_DIR = Path(herald.__file__).parent / "templates"

TZ = "Europe/Paris"
BORROWED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Friday, 10:00 in Paris
DUE = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Paris
LATE = timedelta(days=2, hours=3)

BORROWER = "Camille Dupré"
MANAGER = "Jean-Luc Mercier"
ITEM = "Trépied Manfrotto 055"
_UNSET: Any = object()


def make_context(
    kind: str,
    locale: str = "fr",
    *,
    role: str = "borrower",
    item: str = ITEM,
    late_by: Any = _UNSET,
    logo_url: str | None = None,
    footer: str = "",
    alert_number: int = 2,
    max_alerts: int = 3,
) -> dict[str, Any]:
    """The context the engine gives a template: dates already formatted for the recipient."""
    if late_by is _UNSET:
        late_by = LATE if kind in ("loan.overdue", "loan.returned") else None
    returned = DUE + (late_by or timedelta(0)) if kind == "loan.returned" else None
    manager_copy = role == "manager"
    return {
        "kind": kind,
        "color": KINDS[kind].color,
        "role": role,
        "recipient": {
            "id": "u-manager" if manager_copy else "u-42",
            "name": MANAGER if manager_copy else BORROWER,
            "locale": locale,
            "timezone": TZ,
        },
        "brand": {
            "name": "Prêts Médiathèque",
            "logo_url": logo_url,
            "color": "#0f766e",
            "footer": footer,
        },
        "loan": {
            "id": "loan-123",
            "item": item,
            "borrower_id": "u-42",
            "borrower_name": BORROWER,
            "borrowed_at": format_datetime(BORROWED, TZ, locale),
            "due_at": format_datetime(DUE, TZ, locale),
            "due_time": format_time(DUE, TZ),
            "returned_at": format_datetime(returned, TZ, locale) if returned else None,
            "late_by": format_duration(late_by, locale) if late_by else None,
            "alert_number": alert_number if kind == "loan.overdue" else None,
            "max_alerts": max_alerts if kind == "loan.overdue" else None,
        },
    }


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


class _TagChecker(HTMLParser):
    """Checks that non-void tags are balanced (a cheap well-formedness test)."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
        else:
            self.stack.pop()


# --------------------------------------------------------------------------- templates


def test_every_kind_and_locale_has_its_four_templates() -> None:
    assert set(LOAN_KINDS) == {k for k in KINDS if k.startswith("loan.")}
    for locale in LOCALES:
        for kind in KINDS:
            for ext in ("html", "txt", "short.txt", "inbox.txt"):
                assert (TEMPLATES_DIR / locale / f"{kind}.{ext}").is_file(), (locale, kind, ext)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", LOAN_KINDS)
def test_renders_every_kind(renderer: Renderer, kind: str, locale: str) -> None:
    out = renderer.render(kind, locale, make_context(kind, locale))

    assert out.subject and "\n" not in out.subject and out.subject == out.subject.strip()
    assert ITEM in out.subject or kind == "loan.overdue"

    assert out.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{locale}">' in out.html
    assert '<meta charset="utf-8">' in out.html
    assert KINDS[kind].color in out.html
    assert ITEM in out.html
    assert f">{escape(out.subject)}</h1>" in out.html  # the header title
    checker = _TagChecker()
    checker.feed(out.html)
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)

    assert ITEM in out.text
    assert BORROWER in out.text
    assert not out.text.startswith(out.subject)  # the subject block stays out of the body
    assert "{{" not in out.text and "{%" not in out.text
    assert "\n-- \nPrêts Médiathèque" in out.text
    assert "\n\n\n" not in out.text

    assert out.short.startswith(EMOJI[kind])
    assert len(out.short) < 320, len(out.short)
    assert ITEM in out.short
    assert "*" in out.short  # WhatsApp bold headline
    assert "\n\n" not in out.short


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", LOAN_KINDS)
def test_in_app_text_is_rendered_only_when_asked_and_plain(
    renderer: Renderer, kind: str, locale: str
) -> None:
    ctx = make_context(kind, locale)
    plain = renderer.render(kind, locale, ctx)
    assert plain.inbox == ""  # an e-mail, an SMS or a WhatsApp message does not render it
    out = renderer.render(kind, locale, ctx, email=False, short=False, inbox=True)
    assert (out.html, out.text, out.short) == ("", "", "")
    assert out.subject == plain.subject
    assert ITEM in out.inbox and "\n" not in out.inbox and "*" not in out.inbox
    assert BORROWER not in out.inbox  # no greeting: the bell is the person's own
    assert "Prêts Médiathèque" not in out.inbox  # no signature
    assert not out.inbox.startswith(EMOJI[kind])
    if kind == "loan.overdue":
        manager = make_context(kind, locale, role="manager")
        copy = renderer.render(kind, locale, manager, email=False, short=False, inbox=True)
        assert BORROWER in copy.inbox and copy.inbox != out.inbox


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ("loan.created", "loan.reminder_j2", "loan.overdue"))
def test_mentions_the_due_date(renderer: Renderer, kind: str, locale: str) -> None:
    ctx = make_context(kind, locale)
    out = renderer.render(kind, locale, ctx, inbox=True)
    for body in (out.html, out.text, out.short, out.inbox):
        assert ctx["loan"]["due_at"] in body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ("loan.reminder_2h", "loan.reminder_j1", "loan.due_today"))
def test_mentions_the_due_time(renderer: Renderer, kind: str, locale: str) -> None:
    out = renderer.render(kind, locale, make_context(kind, locale), inbox=True)
    assert "10:00" in out.subject
    for body in (out.html, out.text, out.short, out.inbox):
        assert "10:00" in body


@pytest.mark.parametrize("locale", LOCALES)
def test_short_text_stays_short_with_long_values(renderer: Renderer, locale: str) -> None:
    item = "Vidéoprojecteur Epson EB-FH52 + câble HDMI"  # a long but plausible name
    for kind in LOAN_KINDS:
        for role in ("borrower", "manager") if kind == "loan.overdue" else ("borrower",):
            ctx = make_context(kind, locale, role=role, item=item)
            out = renderer.render(kind, locale, ctx)
            assert len(out.short) < 320, (kind, role, len(out.short), out.short)


# --------------------------------------------------------------------------- escaping, unicode


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", LOAN_KINDS)
def test_html_is_autoescaped_text_is_not(renderer: Renderer, kind: str, locale: str) -> None:
    evil = "<script>alert(1)</script>"
    out = renderer.render(kind, locale, make_context(kind, locale, item=evil))
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert evil in out.text
    assert evil in out.short
    assert "&lt;" not in out.text and "&lt;" not in out.short


def test_brand_and_names_are_escaped_in_html(renderer: Renderer) -> None:
    ctx = make_context("loan.overdue", "fr", role="manager")
    ctx["brand"]["name"] = "Tom & Jerry <Prêts>"
    ctx["recipient"]["name"] = "O'Brien"
    ctx["loan"]["borrower_name"] = "<b>Bob</b>"
    out = renderer.render("loan.overdue", "fr", ctx)
    assert "Tom &amp; Jerry &lt;Prêts&gt;" in out.html
    assert "&lt;b&gt;Bob&lt;/b&gt;" in out.html and "<b>Bob</b>" not in out.html
    assert "Tom & Jerry <Prêts>" in out.text
    assert "<b>Bob</b>" in out.subject and "<b>Bob</b>" in out.text


@pytest.mark.parametrize("kind", LOAN_KINDS)
def test_accents_and_emoji_survive(renderer: Renderer, kind: str) -> None:
    item = "Caméra 📷 Sony"
    out = renderer.render(kind, "fr", make_context(kind, "fr", item=item))
    for body in (out.html, out.text, out.short):
        assert item in body
        assert "Prêts Médiathèque" in body
        assert "é" in body
    assert "&#" not in out.html.replace("&#39;", "")  # no numeric entities for accents/emoji
    assert "« Caméra 📷 Sony »" in out.text
    assert out.short.startswith(EMOJI[kind])


def test_french_and_english_differ(renderer: Renderer) -> None:
    fr = renderer.render("loan.reminder_j1", "fr", make_context("loan.reminder_j1", "fr"))
    en = renderer.render("loan.reminder_j1", "en", make_context("loan.reminder_j1", "en"))
    assert fr.subject != en.subject
    assert "demain" in fr.subject.lower() and "tomorrow" in en.subject.lower()
    assert "Bonjour" in fr.text and "Hello" in en.text
    assert "mardi 24 novembre 2026 à 10:00" in fr.text
    assert "Tuesday 24 November 2026 at 10:00" in en.text


def test_unknown_locale_falls_back_to_french(renderer: Renderer) -> None:
    out = renderer.render("loan.created", "de", make_context("loan.created", "fr"))
    assert out.text.startswith("Bonjour")


# --------------------------------------------------------------------------- kind specifics


@pytest.mark.parametrize("locale", LOCALES)
def test_overdue_manager_copy(renderer: Renderer, locale: str) -> None:
    borrower = renderer.render("loan.overdue", locale, make_context("loan.overdue", locale))
    manager = renderer.render(
        "loan.overdue", locale, make_context("loan.overdue", locale, role="manager")
    )
    assert manager.subject != borrower.subject
    assert manager.text != borrower.text and manager.short != borrower.short
    for out in (manager.subject, manager.html, manager.text, manager.short):
        assert BORROWER in out
    assert MANAGER in manager.text  # greeted by name
    assert MANAGER not in borrower.text
    late = format_duration(LATE, locale)
    assert late in manager.text and late in manager.short
    if locale == "fr":
        assert "Copie pour information" in manager.text
        assert f"emprunté par {BORROWER} est en retard depuis {late}" in manager.text
        assert "relance 2 sur 3" in borrower.text and "relance 2 sur 3" in borrower.subject
        assert "relance 2 sur 3" in manager.text
        assert "Copie pour information" not in borrower.text
    else:
        assert "For your information" in manager.text
        assert f"borrowed by {BORROWER} is overdue by {late}" in manager.text
        assert "reminder 2 of 3" in borrower.text and "reminder 2 of 3" in borrower.subject
        assert "For your information" not in borrower.text
    assert f"{BORROWER}," in borrower.text  # the borrower is addressed


@pytest.mark.parametrize("locale", LOCALES)
def test_overdue_last_alert_says_so(renderer: Renderer, locale: str) -> None:
    ctx = make_context("loan.overdue", locale, alert_number=3, max_alerts=3)
    out = renderer.render("loan.overdue", locale, ctx)
    assert ("dernière relance" if locale == "fr" else "last reminder") in out.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", ("borrower", "manager"))
def test_overdue_tolerates_missing_counters(renderer: Renderer, locale: str, role: str) -> None:
    ctx = make_context("loan.overdue", locale, role=role)
    ctx["loan"].update(alert_number=None, max_alerts=None, late_by=None)
    out = renderer.render("loan.overdue", locale, ctx)
    for body in (out.subject, out.html, out.text, out.short):
        assert "None" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_returned_late_mentions_lateness(renderer: Renderer, locale: str) -> None:
    ctx = make_context("loan.returned", locale, late_by=LATE)
    out = renderer.render("loan.returned", locale, ctx)
    late = format_duration(LATE, locale)
    phrase = f"rendu avec {late} de retard" if locale == "fr" else f"returned {late} late"
    assert phrase in out.text and phrase in out.short
    assert late in out.html
    assert ctx["loan"]["returned_at"] in out.text
    assert ("Merci" if locale == "fr" else "Thank you") in out.text


@pytest.mark.parametrize("locale", LOCALES)
def test_returned_on_time(renderer: Renderer, locale: str) -> None:
    ctx = make_context("loan.returned", locale, late_by=None)
    assert ctx["loan"]["late_by"] is None
    out = renderer.render("loan.returned", locale, ctx)
    on_time = "à temps" if locale == "fr" else "on time"
    late_word = "de retard" if locale == "fr" else " late."
    for body in (out.html, out.text, out.short):
        assert on_time in body
        assert late_word not in body
        assert "None" not in body
    assert format_duration(LATE, locale) not in out.text


# --------------------------------------------------------------------------- brand


def test_logo_url_gives_an_img(renderer: Renderer) -> None:
    url = "https://cdn.example.org/logo.png?v=2&size=80"
    out = renderer.render("loan.created", "fr", make_context("loan.created", logo_url=url))
    assert "<img" in out.html
    assert 'src="https://cdn.example.org/logo.png?v=2&amp;size=80"' in out.html
    assert 'alt="Prêts Médiathèque"' in out.html


def test_no_logo_shows_brand_name_in_header(renderer: Renderer) -> None:
    out = renderer.render("loan.created", "fr", make_context("loan.created", logo_url=None))
    assert "<img" not in out.html
    header = out.html.split("<h1", 1)[0]
    assert "Prêts Médiathèque" in header.split("<body", 1)[1]


def test_footer_shown_when_set(renderer: Renderer) -> None:
    footer = "Médiathèque de Lyon - 04 72 00 00 00"
    out = renderer.render("loan.due_today", "fr", make_context("loan.due_today", footer=footer))
    assert footer in out.html
    assert out.text.endswith(f"-- \nPrêts Médiathèque\n{footer}")


def test_footer_omitted_when_empty(renderer: Renderer) -> None:
    out = renderer.render("loan.due_today", "en", make_context("loan.due_today", "en"))
    assert out.text.endswith("-- \nPrêts Médiathèque")
    assert "<br>" not in out.html.rsplit("Prêts Médiathèque", 1)[1].split("</td>", 1)[0]


def test_brand_color_used(renderer: Renderer) -> None:
    ctx = make_context("loan.returned", "en")
    ctx["brand"]["color"] = "#123abc"
    out = renderer.render("loan.returned", "en", ctx)
    assert "#123abc" in out.html


# --------------------------------------------------------------------------- errors


def test_missing_variable_names_template_and_variable(renderer: Renderer) -> None:
    ctx = make_context("loan.created")
    del ctx["loan"]
    with pytest.raises(TemplateError) as err:
        renderer.render("loan.created", "fr", ctx)
    assert "fr/loan.created.txt" in str(err.value)
    assert "'loan' is undefined" in str(err.value)


def test_missing_nested_key_is_an_error(renderer: Renderer) -> None:
    ctx = make_context("loan.created", "en")
    del ctx["loan"]["due_at"]
    with pytest.raises(TemplateError) as err:
        renderer.render("loan.created", "en", ctx)
    assert "en/loan.created." in str(err.value)
    assert "due_at" in str(err.value)


def test_missing_subject_variable_in_body_template() -> None:
    loader = jinja2.DictLoader(
        {
            "fr/custom.txt": "{% block subject %}Sujet{% endblock %}Corps {{ subject }}",
            "fr/custom.html": "<p>{{ subject }} {{ nope }}</p>",
            "fr/custom.short.txt": "court",
        }
    )
    with pytest.raises(TemplateError) as err:
        Renderer(loader).render("custom", "fr", {})
    assert "fr/custom.html" in str(err.value)
    assert "nope" in str(err.value)


def test_subject_block_does_not_see_subject() -> None:
    loader = jinja2.DictLoader(
        {
            "fr/k.txt": "{% block subject %}{{ subject }}{% endblock %}x",
            "fr/k.html": "x",
            "fr/k.short.txt": "x",
        }
    )
    with pytest.raises(TemplateError, match="fr/k.txt.*subject"):
        Renderer(loader).render("k", "fr", {})


def test_custom_loader_renders_and_escapes_html_only() -> None:
    loader = jinja2.DictLoader(
        {
            "layout.txt": "{% block body %}{% endblock %}",
            "en/k.txt": (
                '{% extends "layout.txt" %}'
                "{% block subject %}  Hi\n  {{ who }}  {% endblock %}"
                "{% block body %}Text {{ who }}{% endblock %}"
            ),
            "en/k.html": "<p>{{ subject }}</p>",
            "en/k.short.txt": "Short {{ who }}",
        }
    )
    out = Renderer(loader).render("k", "en", {"who": "A&B"})
    assert out.subject == "Hi A&B"
    assert out.html == "<p>Hi A&amp;B</p>"
    assert out.text == "Text A&B"
    assert out.short == "Short A&B"


def test_missing_subject_block_is_an_error() -> None:
    loader = jinja2.DictLoader({"fr/k.txt": "no block", "fr/k.html": "", "fr/k.short.txt": ""})
    with pytest.raises(TemplateError, match="fr/k.txt.*subject"):
        Renderer(loader).render("k", "fr", {})


def test_unknown_kind_names_the_template(renderer: Renderer) -> None:
    with pytest.raises(TemplateError, match=r"fr/loan\.nope\.txt"):
        renderer.render("loan.nope", "fr", make_context("loan.created"))


def test_syntax_error_names_the_template() -> None:
    loader = jinja2.DictLoader(
        {
            "fr/k.txt": "{% block subject %}{{ oops {% endblock %}",
            "fr/k.html": "",
            "fr/k.short.txt": "",
        }
    )
    with pytest.raises(TemplateError, match=r"fr/k\.txt line 1"):
        Renderer(loader).render("k", "fr", {})


def test_context_is_not_mutated(renderer: Renderer) -> None:
    ctx = make_context("loan.overdue", "fr", role="manager")
    before = copy.deepcopy(ctx)
    renderer.render("loan.overdue", "fr", ctx)
    assert ctx == before
    assert "subject" not in ctx


# --------------------------------------------------------------------------- formatting helpers


def test_format_datetime_french_and_english() -> None:
    assert format_datetime(DUE, TZ, "fr") == "mardi 24 novembre 2026 à 10:00"
    assert format_datetime(DUE, TZ, "en") == "Tuesday 24 November 2026 at 10:00"


def test_format_datetime_uses_the_recipient_zone() -> None:
    summer = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # CEST, UTC+2
    assert format_datetime(summer, TZ, "fr") == "mercredi 1er juillet 2026 à 10:00"
    assert format_datetime(summer, "America/Montreal", "en") == "Wednesday 1 July 2026 at 04:00"
    late_evening = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already next year in Paris
    assert format_datetime(late_evening, TZ, "fr") == "vendredi 1er janvier 2027 à 00:30"
    assert format_datetime(DUE, "Asia/Tokyo", "fr") == "mardi 24 novembre 2026 à 18:00"


def test_format_datetime_accents_and_fallback() -> None:
    feb = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
    aug = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)
    dec = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert "février" in format_datetime(feb, TZ, "fr")
    assert "août" in format_datetime(aug, TZ, "fr")
    assert "décembre" in format_datetime(dec, TZ, "fr")
    assert format_datetime(DUE, TZ, "de") == format_datetime(DUE, TZ, "fr")


def test_format_time() -> None:
    assert format_time(DUE, TZ) == "10:00"
    assert format_time(datetime(2026, 7, 1, 6, 5, tzinfo=UTC), TZ) == "08:05"


@pytest.mark.parametrize(
    ("value", "fr", "en"),
    [
        (timedelta(days=2, hours=3), "2 jours et 3 heures", "2 days and 3 hours"),
        (timedelta(days=2, hours=3, minutes=40), "2 jours et 3 heures", "2 days and 3 hours"),
        (timedelta(days=1), "1 jour", "1 day"),
        (timedelta(days=1, hours=1), "1 jour et 1 heure", "1 day and 1 hour"),
        (timedelta(hours=5), "5 heures", "5 hours"),
        (timedelta(hours=1, minutes=1), "1 heure et 1 minute", "1 hour and 1 minute"),
        (timedelta(hours=2, minutes=30), "2 heures et 30 minutes", "2 hours and 30 minutes"),
        (timedelta(minutes=45), "45 minutes", "45 minutes"),
        (timedelta(minutes=1), "1 minute", "1 minute"),
        (timedelta(seconds=119), "1 minute", "1 minute"),
        (timedelta(seconds=10), "1 minute", "1 minute"),  # never "0 minutes"
        (3600, "1 heure", "1 hour"),  # plain seconds
        (90.5, "1 minute", "1 minute"),
    ],
)
def test_format_duration(value: timedelta | int | float, fr: str, en: str) -> None:
    assert format_duration(value, "fr") == fr
    assert format_duration(value, "en") == en


def test_format_duration_unknown_locale_falls_back_to_french() -> None:
    assert format_duration(timedelta(days=3), "es") == "3 jours"

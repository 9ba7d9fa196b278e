"""Rendering of the repair, staff and system templates (herald/templates) through ``Renderer``."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

import herald
from herald.rendering import Renderer, TemplateError

LOCALES = ("fr", "en")
REPAIR_KINDS = (
    "repair.created",
    "repair.approved",
    "repair.denied",
    "repair.assigned",
    "repair.reassigned_away",
    "repair.in_progress",
    "repair.completed",
    "repair.batch_approved",
    "repair.batch_denied",
    "repair.reward_redeemed",
    "repair.unassigned",
)
KINDS = (*REPAIR_KINDS, "staff.notice", "system.delivery_failed")
EMOJI = {
    "repair.created": "🛠️",
    "repair.approved": "✅",
    "repair.denied": "⛔",
    "repair.assigned": "📋",
    "repair.reassigned_away": "↪️",
    "repair.in_progress": "🔧",
    "repair.completed": "🎉",
    "repair.batch_approved": "✅",
    "repair.batch_denied": "⛔",
    "repair.reward_redeemed": "🎁",
    "repair.unassigned": "⏰",
    "system.delivery_failed": "⚠️",
}
ROLES = {
    "repair.created": "customer",
    "repair.in_progress": "customer",
    "repair.completed": "customer",
    "repair.unassigned": "manager",
    "staff.notice": "staff",
    "system.delivery_failed": "staff",
}
BATCH_KINDS = ("repair.batch_approved", "repair.batch_denied")
REASON_KINDS = ("repair.denied", "repair.batch_denied")
TEMPLATES_DIR = Path(herald.__file__).parent / "templates"

COLOR = "#0e7490"  # given by the caller; the templates never hard-code one
BRAND = "RS Systems"
CUSTOMER = "Camille Dupré"
TECH = "Karim Benali"
OLD_TECH = "Léa Martin"
MANAGER = "Jean-Luc Mercier"
ADMIN = "Sam Admin"
REPAIR_ID = "R-2026-0042"
TITLE = "iPhone 13 — écran cassé"
REASON = "Pièce indisponible chez le fournisseur"
BATCH_ID = "LOT-17"
BATCH_SIZE = 12
REWARD = "Bon d'achat 20 €"
POINTS = 150
LINK = "https://rs.example.org/repairs/R-2026-0042?tab=history&x=1"
EVENT_AT = {
    "fr": "mardi 24 novembre 2026 à 14:05",
    "en": "Tuesday 24 November 2026 at 14:05",
}
UNASSIGNED_FOR = {"fr": "4 heures", "en": "4 hours"}
NOTICE_BODY = "Le serveur sera arrêté ce soir.\n\nMerci d'enregistrer votre travail <avant> 18h."
NOTICE_SHORT = "🔔 *Maintenance* ce soir à 18h - RS Systems"
_UNSET: Any = object()


def make_context(
    kind: str,
    locale: str = "fr",
    *,
    title: str = TITLE,
    reason: Any = _UNSET,
    technician_name: Any = _UNSET,
    link: str | None = LINK,
    notice_body: str = NOTICE_BODY,
    provider: str | None = "twilio",
) -> dict[str, Any]:
    """The context the engine gives a template: dates and durations already formatted."""
    role = ROLES.get(kind, "technician")
    name = {"customer": CUSTOMER, "manager": MANAGER, "staff": ADMIN}.get(role, TECH)
    if kind == "repair.reassigned_away":
        name = OLD_TECH
    ctx: dict[str, Any] = {
        "kind": kind,
        "color": COLOR,
        "role": role,
        "recipient": {"id": "u-7", "name": name, "locale": locale, "timezone": "Europe/Paris"},
        "brand": {"name": BRAND, "logo_url": None, "color": "#1e3a8a", "footer": ""},
    }
    if kind.startswith("repair."):
        if reason is _UNSET:
            reason = REASON if kind in REASON_KINDS else None
        if technician_name is _UNSET:
            technician_name = None if kind in ("repair.created", "repair.unassigned") else TECH
        ctx["repair"] = {
            "id": REPAIR_ID,
            "title": title,
            "status": "APPROVED",
            "customer_id": "c-1",
            "customer_name": CUSTOMER,
            "technician_id": "t-1" if technician_name else None,
            "technician_name": technician_name,
            "previous_technician_name": OLD_TECH if kind == "repair.reassigned_away" else None,
            "reason": reason,
            "batch_id": BATCH_ID if kind in BATCH_KINDS else None,
            "batch_size": BATCH_SIZE if kind in BATCH_KINDS else None,
            "reward_name": REWARD if kind == "repair.reward_redeemed" else None,
            "reward_points": POINTS if kind == "repair.reward_redeemed" else None,
            "unassigned_for": UNASSIGNED_FOR[locale] if kind == "repair.unassigned" else None,
            "alert_number": 2 if kind == "repair.unassigned" else None,
            "event_at": EVENT_AT[locale],
            "link": link,
        }
    elif kind == "staff.notice":
        ctx["notice"] = {
            "title": "Maintenance ce soir",
            "body": notice_body,
            "short": NOTICE_SHORT,
            "priority": "high",
            "link": link,
        }
    else:
        ctx["failure"] = {
            "kind": "repair.approved",
            "channel": "whatsapp",
            "recipient_id": "t-1",
            "recipient_name": TECH,
            "provider": provider,
            "error": "63016: outside the 24h window, a template is required",
            "notification_id": "n-9f3c",
            "subject_id": REPAIR_ID,
        }
    return ctx


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


def key_facts(kind: str, locale: str) -> list[str]:
    """What the plain-text e-mail must say for this kind."""
    if kind == "staff.notice":
        return [NOTICE_BODY]
    if kind == "system.delivery_failed":
        return ["repair.approved", "whatsapp", TECH, "t-1", "twilio", "63016", "n-9f3c"]
    if kind in BATCH_KINDS:
        return [BATCH_ID, str(BATCH_SIZE)]
    if kind == "repair.reward_redeemed":
        return [REWARD, str(POINTS)]
    facts = [REPAIR_ID, TITLE]
    if kind in ("repair.approved", "repair.denied", "repair.assigned", "repair.unassigned"):
        facts.append(CUSTOMER)
    if kind in ("repair.reassigned_away", "repair.in_progress", "repair.completed"):
        facts.append(TECH)
    if kind == "repair.unassigned":
        facts.append(UNASSIGNED_FOR[locale])
    return facts


# --------------------------------------------------------------------------- templates


def test_every_kind_and_locale_has_its_three_templates() -> None:
    for locale in LOCALES:
        for kind in KINDS:
            for ext in ("html", "txt", "short.txt"):
                assert (TEMPLATES_DIR / locale / f"{kind}.{ext}").is_file(), (locale, kind, ext)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_renders_every_kind(renderer: Renderer, kind: str, locale: str) -> None:
    ctx = make_context(kind, locale)
    out = renderer.render(kind, locale, ctx)

    assert out.subject and "\n" not in out.subject and out.subject == out.subject.strip()
    for body in (out.subject, out.html, out.text, out.short):
        assert "None" not in body
        assert "{{" not in body and "{%" not in body

    assert out.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{locale}">' in out.html
    assert COLOR in out.html
    assert f">{escape(out.subject)}</h1>" in out.html
    checker = _TagChecker()
    checker.feed(out.html)
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)

    for fact in key_facts(kind, locale):
        assert fact in out.text, (fact, out.text)
    assert not out.text.startswith(out.subject)
    assert f"\n-- \n{BRAND}" in out.text
    assert "\n\n\n" not in out.text

    assert len(out.short) < 320, (len(out.short), out.short)
    assert "\n\n" not in out.short
    if kind == "staff.notice":
        assert out.short == NOTICE_SHORT
    else:
        assert out.short.startswith(EMOJI[kind])
        assert "*" in out.short  # WhatsApp bold headline
        assert out.short.endswith(f"— {BRAND}")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", REPAIR_KINDS)
def test_repair_link_shown_when_set(renderer: Renderer, kind: str, locale: str) -> None:
    with_link = renderer.render(kind, locale, make_context(kind, locale))
    without = renderer.render(kind, locale, make_context(kind, locale, link=None))
    if kind != "repair.reassigned_away":  # the previous technician has nothing left to open
        assert f'href="{escape(LINK)}"' in with_link.html
        assert LINK in with_link.text
    assert "href=" not in without.html.split("<body", 1)[1]
    assert LINK not in without.text and LINK not in without.short
    assert "None" not in without.text and "None" not in without.short


@pytest.mark.parametrize("locale", LOCALES)
def test_french_and_english_differ(renderer: Renderer, locale: str) -> None:
    out = renderer.render("repair.created", locale, make_context("repair.created", locale))
    assert out.text.startswith("Bonjour" if locale == "fr" else "Hello")
    assert EVENT_AT[locale] in out.text
    quoted = f"« {TITLE} »" if locale == "fr" else f"“{TITLE}”"
    assert quoted in out.text


# --------------------------------------------------------------------------- kind specifics


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", REASON_KINDS)
def test_reason_shown_only_when_set(renderer: Renderer, kind: str, locale: str) -> None:
    with_reason = renderer.render(kind, locale, make_context(kind, locale))
    for body in (with_reason.html, with_reason.text, with_reason.short):
        assert REASON in body
    label = "Motif" if locale == "fr" else "Reason"
    without = renderer.render(kind, locale, make_context(kind, locale, reason=None))
    for body in (without.html, without.text, without.short):
        assert REASON not in body
        assert f"{label} :" not in body and f"{label}:" not in body
        assert "None" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_reassigned_away_names_the_new_technician(renderer: Renderer, locale: str) -> None:
    kind = "repair.reassigned_away"
    out = renderer.render(kind, locale, make_context(kind, locale))
    for body in (out.html, out.text, out.short):
        assert TECH in body  # the new one
    assert f"{OLD_TECH}," in out.text and f"{OLD_TECH}," in out.short  # the recipient
    phrase = f"réassignée à {TECH}" if locale == "fr" else f"reassigned to {TECH}"
    assert phrase in out.text and phrase in out.short

    anonymous = renderer.render(kind, locale, make_context(kind, locale, technician_name=None))
    for body in (anonymous.html, anonymous.text, anonymous.short):
        assert "None" not in body and TECH not in body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ("repair.in_progress", "repair.completed"))
def test_customer_kinds_tolerate_no_technician(renderer: Renderer, kind: str, locale: str) -> None:
    out = renderer.render(kind, locale, make_context(kind, locale, technician_name=None))
    for body in (out.subject, out.html, out.text, out.short):
        assert "None" not in body
    assert TITLE in out.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", BATCH_KINDS)
def test_batch_mentions_id_and_size(renderer: Renderer, kind: str, locale: str) -> None:
    out = renderer.render(kind, locale, make_context(kind, locale))
    word = "réparations" if locale == "fr" else "repairs"
    for body in (out.subject, out.text, out.short):
        assert BATCH_ID in body and f"{BATCH_SIZE} {word}" in body
    assert BATCH_ID in out.html

    ctx = make_context(kind, locale)
    ctx["repair"]["batch_size"] = 1
    single = renderer.render(kind, locale, ctx)
    assert f"1 {word[:-1]})" in single.short  # singular

    ctx["repair"]["batch_size"] = None
    unknown = renderer.render(kind, locale, ctx)
    for body in (unknown.subject, unknown.html, unknown.text, unknown.short):
        assert "None" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_reward_mentions_name_and_points(renderer: Renderer, locale: str) -> None:
    kind = "repair.reward_redeemed"
    out = renderer.render(kind, locale, make_context(kind, locale))
    for body in (out.text, out.short):
        assert REWARD in body and f"{POINTS} points" in body
    assert REWARD in out.subject
    assert escape(REWARD) in out.html


@pytest.mark.parametrize("locale", LOCALES)
def test_unassigned_alert(renderer: Renderer, locale: str) -> None:
    kind = "repair.unassigned"
    ctx = make_context(kind, locale)
    out = renderer.render(kind, locale, ctx)
    ago = (
        f"approuvée il y a {UNASSIGNED_FOR[locale]}"
        if locale == "fr"
        else f"approved {UNASSIGNED_FOR[locale]} ago"
    )
    for body in (out.html, out.text, out.short):
        assert ago in body and REPAIR_ID in body
    assert ("alerte 2" if locale == "fr" else "alert 2") in out.subject
    assert MANAGER in out.text

    ctx["repair"].update(unassigned_for=None, alert_number=None)
    bare = renderer.render(kind, locale, ctx)
    for body in (bare.subject, bare.html, bare.text, bare.short):
        assert "None" not in body


# --------------------------------------------------------------------------- staff & system


@pytest.mark.parametrize("locale", LOCALES)
def test_staff_notice_is_the_admins_text(renderer: Renderer, locale: str) -> None:
    out = renderer.render("staff.notice", locale, make_context("staff.notice", locale))
    assert out.subject == "Maintenance ce soir"
    assert out.text.startswith(NOTICE_BODY)  # newlines kept as they are
    assert (
        "Le serveur sera arrêté ce soir.<br><br>Merci d'enregistrer votre travail"
        " &lt;avant&gt; 18h." in out.html.replace("&#39;", "'")
    )
    assert "<avant>" not in out.html
    assert f'href="{escape(LINK)}"' in out.html and LINK in out.text
    assert out.short == NOTICE_SHORT


@pytest.mark.parametrize("locale", LOCALES)
def test_staff_notice_without_link_and_with_crlf(renderer: Renderer, locale: str) -> None:
    ctx = make_context("staff.notice", locale, link=None, notice_body="one\r\ntwo")
    out = renderer.render("staff.notice", locale, ctx)
    assert "one<br>two" in out.html
    assert "href=" not in out.html.split("<body", 1)[1]
    assert "None" not in out.text and "None" not in out.html


@pytest.mark.parametrize("locale", LOCALES)
def test_delivery_failed_without_provider(renderer: Renderer, locale: str) -> None:
    ctx = make_context("system.delivery_failed", locale, provider=None)
    out = renderer.render("system.delivery_failed", locale, ctx)
    for body in (out.subject, out.html, out.text, out.short):
        assert "None" not in body and "twilio" not in body
    assert "n-9f3c" in out.html and "n-9f3c" in out.short


def test_delivery_failed_short_stays_short_with_a_long_error(renderer: Renderer) -> None:
    ctx = make_context("system.delivery_failed", "en")
    ctx["failure"]["error"] = "x" * 2000
    out = renderer.render("system.delivery_failed", "en", ctx)
    assert len(out.short) < 320
    assert "x" * 2000 in out.text  # the e-mail keeps the whole error


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", REPAIR_KINDS)
def test_html_is_autoescaped_text_is_not(renderer: Renderer, kind: str, locale: str) -> None:
    evil = "<script>alert(1)</script>"
    ctx = make_context(kind, locale, title=evil)
    for key in ("batch_id", "reward_name"):
        if ctx["repair"][key] is not None:
            ctx["repair"][key] = evil
    out = renderer.render(kind, locale, ctx)
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert evil in out.text
    assert "&lt;" not in out.text and "&lt;" not in out.short


@pytest.mark.parametrize("locale", LOCALES)
def test_notice_body_is_escaped(renderer: Renderer, locale: str) -> None:
    evil = "Attention\n<script>alert(1)</script>"
    ctx = make_context("staff.notice", locale, notice_body=evil)
    out = renderer.render("staff.notice", locale, ctx)
    assert "<script>" not in out.html
    assert "Attention<br>&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert evil in out.text


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", REPAIR_KINDS)
def test_missing_repair_names_the_template(renderer: Renderer, kind: str, locale: str) -> None:
    ctx = make_context(kind, locale)
    del ctx["repair"]
    with pytest.raises(TemplateError) as err:
        renderer.render(kind, locale, ctx)
    assert f"{locale}/{kind}.txt" in str(err.value)
    assert "'repair' is undefined" in str(err.value)


@pytest.mark.parametrize(
    ("kind", "key"), [("staff.notice", "notice"), ("system.delivery_failed", "failure")]
)
def test_missing_staff_context_names_the_template(renderer: Renderer, kind: str, key: str) -> None:
    ctx = make_context(kind, "en")
    del ctx[key]
    with pytest.raises(TemplateError, match=rf"en/{kind}\.txt.*'{key}' is undefined"):
        renderer.render(kind, "en", ctx)

"""Rendering of the follow-up, lead, user-account and digest templates through ``Renderer``."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

import herald
from herald.rendering import Renderer, TemplateError

LOCALES = ("fr", "en")
FOLLOWUP_KINDS = ("followup.due_tomorrow", "followup.overdue")
LEAD_KINDS = (
    "lead.created",
    "lead.stage_changed",
    "lead.assigned",
    "lead.reassigned_away",
    "lead.fulfilment_changed",
)
USER_KINDS = ("user.welcome", "user.role_changed", "user.activated", "user.deactivated")
DIGEST_KINDS = ("digest.daily", "digest.weekly")
# Listed here, not taken from herald.kinds: the templates come before the catalogue.
KINDS = (*FOLLOWUP_KINDS, *LEAD_KINDS, *USER_KINDS, *DIGEST_KINDS)
# Who each kind goes to; the first role is make_context's default.
ROLES: dict[str, tuple[str, ...]] = {
    "followup.due_tomorrow": ("assignee",),
    "followup.overdue": ("assignee", "manager"),
    "lead.created": ("assignee", "manager"),
    "lead.stage_changed": ("manager", "assignee"),
    "lead.assigned": ("assignee",),
    "lead.reassigned_away": ("previous_assignee",),
    "lead.fulfilment_changed": ("assignee", "manager"),
    **{kind: ("user",) for kind in (*USER_KINDS, *DIGEST_KINDS)},
}
CASES = [(kind, role) for kind in KINDS for role in ROLES[kind]]
EMOJI = {
    "followup.due_tomorrow": "📅",
    "followup.overdue": "⚠️",
    "lead.created": "🆕",
    "lead.stage_changed": "🔄",  # 🎉 when won, 🧾 when the invoice is sent
    "lead.assigned": "📋",
    "lead.reassigned_away": "↪️",
    "lead.fulfilment_changed": "✅",  # ⛔ when not fulfilled, 📦 otherwise
    "user.welcome": "👋",
    "user.role_changed": "🔑",
    "user.activated": "✅",
    "user.deactivated": "🔒",
    "digest.daily": "📬",
    "digest.weekly": "📬",
}
STAGE_LABELS = {
    "fr": {
        "new": "nouveau",
        "qualified": "qualifié",
        "proposal": "proposition",
        "negotiation": "négociation",
        "won": "gagné",
        "lost": "perdu",
        "invoice_sent": "facture envoyée",
    },
    "en": {
        "new": "new",
        "qualified": "qualified",
        "proposal": "proposal",
        "negotiation": "negotiation",
        "won": "won",
        "lost": "lost",
        "invoice_sent": "invoice sent",
    },
}
FULFILMENT_LABELS = {
    "fr": {"fulfilled": "honoré", "not_fulfilled": "non honoré"},
    "en": {"fulfilled": "fulfilled", "not_fulfilled": "not fulfilled"},
}
TEMPLATES_DIR = Path(herald.__file__).parent / "templates"

COLOR = "#7c3aed"  # given by the caller; the templates never hard-code one
BRAND = "RS Systems"
SALES = "Karim Benali"
OLD_SALES = "Léa Martin"
MANAGER = "Jean-Luc Mercier"
ADMIN = "Sam Admin"
USER = "Camille Dupré"
FOLLOWUP_ID = "FU-2026-0107"
FOLLOWUP_TITLE = "Rappeler pour le devis n° 42"
CUSTOMER = "Boulangerie Dupont & Fils"
DUE_TIME = "10:00"
LEAD_ID = "L-2026-0311"
LEAD_NAME = "Renouvellement parc copieurs"
COMPANY = "Imprimerie Martin SARL"
LINK = "https://crm.example.org/leads/L-2026-0311?tab=history&x=1"
DUE_AT = {
    "fr": "mercredi 25 novembre 2026 à 10:00",
    "en": "Wednesday 25 November 2026 at 10:00",
}
EVENT_AT = {
    "fr": "mardi 24 novembre 2026 à 14:05",
    "en": "Tuesday 24 November 2026 at 14:05",
}
OVERDUE_BY = {"fr": "2 jours et 3 heures", "en": "2 days and 3 hours"}
VALUE = {"fr": "12 500 €", "en": "€12,500"}
PERIOD = {
    "fr": ("lundi 23 novembre 2026 à 08:00", "mardi 24 novembre 2026 à 08:00"),
    "en": ("Monday 23 November 2026 at 08:00", "Tuesday 24 November 2026 at 08:00"),
}
_UNSET: Any = object()


def make_items(n: int = 3, locale: str = "fr") -> list[dict[str, Any]]:
    """Notifications collected for a digest, already rendered (the second one has no link)."""
    items = []
    for i in range(1, n + 1):
        link = f"https://crm.example.org/leads/{i}" if i != 2 else None
        if locale == "fr":
            title, subject = "Prospect assigné", f"Prospect assigné : Affaire {i}"
            body, at = f"{USER}, « Affaire {i} » vous a été assigné.", "lundi 23 novembre 2026"
        else:
            title, subject = "Lead assigned to you", f"Lead assigned to you: Deal {i}"
            body, at = f"{USER}, “Deal {i}” has been assigned to you.", "Monday 23 November 2026"
        short = "\n".join(line for line in (f"📋 *{title}*", body, link, f"— {BRAND}") if line)
        items.append(
            {
                "kind": "lead.assigned",
                "subject": subject,
                "short": short,
                "priority": "medium" if i % 2 else "low",
                "at": f"{at} {'à' if locale == 'fr' else 'at'} {9 + i % 10:02d}:{i % 60:02d}",
                "link": link,
            }
        )
    return items


def make_context(
    kind: str, locale: str = "fr", *, to: str | None = None, link: Any = _UNSET, **changes: Any
) -> dict[str, Any]:
    """The context the engine gives a template: dates and durations already formatted.
    ``to`` is the recipient's role (the kind's first one by default); ``changes`` update the kind's own dict (``followup``, ``lead``, ``account``, ``digest``)."""
    role = to or ROLES[kind][0]
    name = {
        "assignee": SALES,
        "manager": MANAGER,
        "previous_assignee": OLD_SALES,
    }.get(role, USER)
    if link is _UNSET:
        link = None if kind.startswith("digest.") else LINK
    ctx: dict[str, Any] = {
        "kind": kind,
        "color": COLOR,
        "role": role,
        "recipient": {"id": "u-7", "name": name, "locale": locale, "timezone": "Europe/Paris"},
        "brand": {"name": BRAND, "logo_url": None, "color": "#1e3a8a", "footer": ""},
    }
    if kind.startswith("followup."):
        overdue = kind == "followup.overdue"
        ctx["followup"] = {
            "id": FOLLOWUP_ID,
            "title": FOLLOWUP_TITLE,
            "customer": CUSTOMER,
            "assignee_name": SALES,
            "due_at": DUE_AT[locale],
            "due_time": DUE_TIME,
            "overdue_by": OVERDUE_BY[locale] if overdue else None,
            "alert_number": 2 if overdue else None,
            "max_alerts": 3 if overdue else None,
            "link": link,
        }
    elif kind.startswith("lead."):
        stage = {"lead.created": "new", "lead.stage_changed": "proposal"}.get(kind, "negotiation")
        moved = kind in ("lead.assigned", "lead.reassigned_away")
        ctx["lead"] = {
            "id": LEAD_ID,
            "name": LEAD_NAME,
            "company": COMPANY,
            "value": VALUE[locale],
            "stage": stage,
            "previous_stage": "qualified" if kind == "lead.stage_changed" else None,
            "fulfilment": "fulfilled" if kind == "lead.fulfilment_changed" else None,
            "assignee_name": SALES,
            "previous_assignee_name": OLD_SALES if moved else None,
            "changed_by_name": ADMIN,
            "event_at": EVENT_AT[locale],
            "link": link,
        }
    elif kind.startswith("user."):
        ctx["account"] = {
            "user_id": "u-7",
            "name": USER,
            "role": "manager" if kind == "user.role_changed" else "salesperson",
            "previous_role": "salesperson" if kind == "user.role_changed" else None,
            "changed_by_name": ADMIN,
            "event_at": EVENT_AT[locale],
            "link": link,
        }
    else:
        items = make_items(locale=locale)
        ctx["digest"] = {
            "period": kind.split(".")[1],
            "period_start": PERIOD[locale][0],
            "period_end": PERIOD[locale][1],
            "count": len(items),
            "items": items,
            "more": 0,
        }
    key = next(k for k in ("followup", "lead", "account", "digest") if k in ctx)
    ctx[key].update(changes)
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


def key_facts(kind: str, locale: str, role: str) -> list[str]:
    """What the plain-text e-mail must say for this kind."""
    if kind.startswith("followup."):
        facts = [FOLLOWUP_ID, FOLLOWUP_TITLE, CUSTOMER, DUE_AT[locale], DUE_TIME]
        if kind == "followup.overdue":
            facts.append(OVERDUE_BY[locale])
            if role == "manager":
                facts.append(SALES)
        return facts
    if kind.startswith("lead."):
        facts = [LEAD_ID, LEAD_NAME, COMPANY, EVENT_AT[locale]]
        labels = STAGE_LABELS[locale]
        if kind != "lead.reassigned_away":
            facts.append(VALUE[locale])
        if kind == "lead.created":
            facts.append(labels["new"])
            if role == "manager":
                facts.append(SALES)
        if kind == "lead.stage_changed":
            facts += [labels["qualified"], labels["proposal"], SALES, ADMIN]
        if kind == "lead.assigned":
            facts += [labels["negotiation"], OLD_SALES, ADMIN]
        if kind == "lead.reassigned_away":
            facts += [SALES, ADMIN]
        if kind == "lead.fulfilment_changed":
            facts.append(FULFILMENT_LABELS[locale]["fulfilled"])
        return facts
    if kind.startswith("user."):
        facts = [USER, EVENT_AT[locale], ADMIN]
        if kind == "user.role_changed":
            facts += ["salesperson", "manager"]
        else:
            facts.append("salesperson")
        if kind == "user.welcome":
            facts.append(BRAND)
        return facts
    facts = list(PERIOD[locale])
    for item in make_items(locale=locale):
        facts += [item["subject"], item["at"]]
    return facts


def render(renderer: Renderer, kind: str, locale: str, **kwargs: Any) -> Any:
    return renderer.render(kind, locale, make_context(kind, locale, **kwargs))


# --------------------------------------------------------------------------- templates


def test_every_kind_and_locale_has_its_three_templates() -> None:
    for locale in LOCALES:
        for kind in KINDS:
            for ext in ("html", "txt", "short.txt"):
                assert (TEMPLATES_DIR / locale / f"{kind}.{ext}").is_file(), (locale, kind, ext)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("kind", "role"), CASES)
def test_renders_every_kind(renderer: Renderer, kind: str, role: str, locale: str) -> None:
    out = render(renderer, kind, locale, to=role)

    assert out.subject and "\n" not in out.subject and out.subject == out.subject.strip()
    for body in (out.subject, out.html, out.text, out.short):
        assert "None" not in body
        assert "{{" not in body and "{%" not in body and "{#" not in body

    assert out.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{locale}">' in out.html
    assert COLOR in out.html
    assert f">{escape(out.subject)}</h1>" in out.html
    checker = _TagChecker()
    checker.feed(out.html)
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)

    for fact in key_facts(kind, locale, role):
        assert fact in out.text, (fact, out.text)
        assert str(escape(fact)) in out.html, fact
    assert out.text.startswith("Bonjour " if locale == "fr" else "Hello ")
    assert f"\n-- \n{BRAND}" in out.text
    assert "\n\n\n" not in out.text

    assert len(out.short) < (1600 if kind.startswith("digest.") else 320), len(out.short)
    assert "\n\n" not in out.short
    assert out.short.startswith(EMOJI[kind])
    assert out.short.split("\n", 1)[0].count("*") == 2  # WhatsApp bold headline
    assert out.short.endswith(f"— {BRAND}")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("kind", "role"), CASES)
def test_optional_values_may_be_none(renderer: Renderer, kind: str, role: str, locale: str) -> None:
    empty: dict[str, Any]
    if kind.startswith("followup."):
        empty = {"customer": None, "overdue_by": None, "alert_number": None, "max_alerts": None}
    elif kind.startswith("lead."):
        empty = dict.fromkeys(
            (
                "company",
                "value",
                "stage",
                "previous_stage",
                "fulfilment",
                "assignee_name",
                "previous_assignee_name",
                "changed_by_name",
            )
        )
    elif kind.startswith("user."):
        empty = {"role": None, "previous_role": None, "changed_by_name": None}
    else:
        empty = {"items": [], "count": 0}
    out = render(renderer, kind, locale, to=role, link=None, **empty)
    for body in (out.subject, out.html, out.text, out.short):
        assert "None" not in body
        assert CUSTOMER not in body and COMPANY not in body and ADMIN not in body
    assert "href=" not in out.html.split("<body", 1)[1]
    assert "\n\n\n" not in out.text and "\n\n" not in out.short


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "kind", [k for k in KINDS if k != "lead.reassigned_away" and not k.startswith("digest.")]
)
def test_link_shown_when_set(renderer: Renderer, kind: str, locale: str) -> None:
    with_link = render(renderer, kind, locale)
    assert f'href="{escape(LINK)}"' in with_link.html
    assert LINK in with_link.text and LINK in with_link.short
    without = render(renderer, kind, locale, link=None)
    assert "href=" not in without.html.split("<body", 1)[1]
    for body in (without.text, without.short):
        assert LINK not in body and "None" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_french_and_english_differ(renderer: Renderer, locale: str) -> None:
    fr, en = (locale == "fr"), (locale == "en")
    followup = render(renderer, "followup.due_tomorrow", locale)
    quoted = f"« {FOLLOWUP_TITLE} »" if fr else f"“{FOLLOWUP_TITLE}”"
    assert quoted in followup.subject and quoted in followup.text
    assert ("demain à 10:00" if fr else "tomorrow at 10:00") in followup.short

    lead = render(renderer, "lead.assigned", locale)
    assert (f"« {LEAD_NAME} »" if fr else f"“{LEAD_NAME}”") in lead.text
    assert ("Référence : " if fr else "Reference: ") + LEAD_ID in lead.text
    assert ("Assigné le : " if fr else "Assigned on: ") + EVENT_AT[locale] in lead.text
    assert en == ("Hello" in lead.text) and fr == ("Bonjour" in lead.text)


# --------------------------------------------------------------------------- follow-ups


@pytest.mark.parametrize("locale", LOCALES)
def test_followup_due_tomorrow_says_when(renderer: Renderer, locale: str) -> None:
    out = render(renderer, "followup.due_tomorrow", locale)
    when = "demain à 10:00" if locale == "fr" else "tomorrow at 10:00"
    for body in (out.subject, out.html, out.short):
        assert when in body
    assert ("DEMAIN à 10:00" if locale == "fr" else "TOMORROW at 10:00") in out.text
    assert escape(CUSTOMER) in out.html and CUSTOMER in out.short


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", ("assignee", "manager"))
def test_followup_overdue_alert_shown_only_when_both_set(
    renderer: Renderer, role: str, locale: str
) -> None:
    word = "alerte" if locale == "fr" else "alert"
    out = render(renderer, "followup.overdue", locale, to=role)
    for body in (out.html, out.text, out.short):
        assert "2/3" in body
    if role == "assignee":
        assert f"{word} 2/3" in out.subject and f"{word} 2/3" in out.short
    assert f"border:2px solid {COLOR}" in out.html  # the urgent line is a callout

    for missing in ({"max_alerts": None}, {"alert_number": None}):
        bare = render(renderer, "followup.overdue", locale, to=role, **missing)
        for body in (bare.subject, bare.html, bare.text, bare.short):
            assert "2/" not in body and "/3" not in body and "None" not in body
            assert f"{word} 2" not in body.lower()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", ("assignee", "manager"))
def test_followup_overdue_last_alert(renderer: Renderer, role: str, locale: str) -> None:
    out = render(renderer, "followup.overdue", locale, to=role, alert_number=3)
    if role == "manager":
        last = "la suite est entre vos mains" if locale == "fr" else "it is now up to you"
    else:
        last = "la dernière alerte (3/3)" if locale == "fr" else "the last alert (3/3)"
    assert last in out.text and last in out.html.replace("&#39;", "'")
    assert last not in render(renderer, "followup.overdue", locale, to=role).text


@pytest.mark.parametrize("locale", LOCALES)
def test_followup_overdue_manager_copy_names_the_salesperson(
    renderer: Renderer, locale: str
) -> None:
    manager = render(renderer, "followup.overdue", locale, to="manager")
    assigned = f"assignée à {SALES}" if locale == "fr" else f"assigned to {SALES}"
    for body in (manager.html, manager.text, manager.short):
        assert assigned in body
    assert SALES in manager.subject
    assert manager.text.startswith(f"{'Bonjour' if locale == 'fr' else 'Hello'} {MANAGER},")
    assert ("(copie)" if locale == "fr" else "(copy)") in manager.short

    own = render(renderer, "followup.overdue", locale)
    assert assigned not in own.text and SALES in own.text.split("\n", 1)[0]  # the greeting
    assert ("Votre relance" if locale == "fr" else "Your follow-up") in own.text
    assert OVERDUE_BY[locale] in own.short


# --------------------------------------------------------------------------- leads


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("code", list(STAGE_LABELS["fr"]))
def test_stage_codes_are_shown_as_labels(renderer: Renderer, code: str, locale: str) -> None:
    label = STAGE_LABELS[locale][code]
    out = render(renderer, "lead.assigned", locale, stage=code)
    assert ("Étape : " if locale == "fr" else "Stage: ") + label in out.text
    assert f">{escape(label)}</td>" in out.html

    moved = render(renderer, "lead.stage_changed", locale, stage=code, previous_stage="new")
    new = "Nouvelle étape : " if locale == "fr" else "New stage: "
    old = "Étape précédente : " if locale == "fr" else "Previous stage: "
    assert new + label in moved.text and old + STAGE_LABELS[locale]["new"] in moved.text
    if label != code:  # never the raw code
        assert f" {code}\n" not in moved.text and f"« {code} »" not in moved.text


@pytest.mark.parametrize("locale", LOCALES)
def test_unknown_codes_are_shown_as_they_are(renderer: Renderer, locale: str) -> None:
    out = render(renderer, "lead.stage_changed", locale, stage="on_hold", previous_stage="triage")
    for body in (out.subject, out.html, out.text, out.short):
        assert "on_hold" in body
    assert "triage" in out.text and "triage" in out.short

    kind = "lead.fulfilment_changed"
    partial = render(renderer, kind, locale, fulfilment="partially_done")
    for body in (partial.subject, partial.html, partial.text, partial.short):
        assert "partially_done" in body
    assert partial.short.startswith("📦")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", ("assignee", "manager"))
def test_fulfilment_labels(renderer: Renderer, role: str, locale: str) -> None:
    kind = "lead.fulfilment_changed"
    for code, emoji in (("fulfilled", "✅"), ("not_fulfilled", "⛔")):
        label = FULFILMENT_LABELS[locale][code]
        out = render(renderer, kind, locale, to=role, fulfilment=code)
        quoted = f"« {label} »" if locale == "fr" else f"“{label}”"
        for body in (out.text, out.short):
            assert quoted in body and "_fulfilled" not in body  # never the raw code
        assert label in out.subject and escape(label) in out.html
        assert out.short.startswith(emoji)
    manager = render(renderer, kind, locale, to=role)
    handled = f"suivi par {SALES}" if locale == "fr" else f"handled by {SALES}"
    assert (handled in manager.text) == (role == "manager")
    assert (handled in manager.short) == (role == "manager")


@pytest.mark.parametrize("locale", LOCALES)
def test_stage_changed_tone(renderer: Renderer, locale: str) -> None:
    kind = "lead.stage_changed"
    cheers = "Félicitations" if locale == "fr" else "Congratulations"

    won = render(renderer, kind, locale, stage="won", previous_stage="negotiation")
    assert won.subject == (
        f"Prospect gagné : {LEAD_NAME}" if locale == "fr" else f"Lead won: {LEAD_NAME}"
    )
    for body in (won.html, won.text, won.short):
        assert cheers in body and SALES in body and VALUE[locale] in body
    assert won.short.startswith("🎉")

    lost = render(renderer, kind, locale, stage="lost", previous_stage="negotiation")
    assert lost.subject == (
        f"Prospect perdu : {LEAD_NAME}" if locale == "fr" else f"Lead lost: {LEAD_NAME}"
    )
    assert ("« perdu »" if locale == "fr" else "“lost”") in lost.text
    good_news = "Bonne nouvelle" if locale == "fr" else "Good news"
    for body in (lost.html, lost.text, lost.short):  # neutral
        assert cheers not in body and good_news not in body
    assert lost.short.startswith("🔄")

    sent = render(renderer, kind, locale, stage="invoice_sent", previous_stage="won")
    invoice = "Facture envoyée" if locale == "fr" else "Invoice sent"
    assert sent.subject.startswith(invoice) and sent.short.startswith("🧾")
    assert ("La facture" if locale == "fr" else "The invoice") in sent.text

    first = render(renderer, kind, locale, previous_stage=None)
    moved_from = "de l'étape" if locale == "fr" else "from the"
    assert moved_from not in first.text and STAGE_LABELS[locale]["proposal"] in first.subject


@pytest.mark.parametrize("locale", LOCALES)
def test_lead_created_for_assignee_and_manager(renderer: Renderer, locale: str) -> None:
    kind = "lead.created"
    mine = render(renderer, kind, locale)
    assert ("vous a été assigné" if locale == "fr" else "assigned to you") in mine.text
    assert ("vous a été assigné" if locale == "fr" else "assigned to you") in mine.short

    manager = render(renderer, kind, locale, to="manager")
    for body in (manager.html, manager.text, manager.short):
        assert SALES in body
    unassigned = render(renderer, kind, locale, to="manager", assignee_name=None)
    nobody = "pas encore assigné" if locale == "fr" else "not yet assigned"
    for body in (unassigned.html, unassigned.text, unassigned.short):
        assert nobody in body and SALES not in body and "None" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_lead_assigned_names_previous_assignee_and_author(renderer: Renderer, locale: str) -> None:
    out = render(renderer, "lead.assigned", locale)
    for body in (out.html, out.text):
        assert OLD_SALES in body and ADMIN in body
    assert OLD_SALES in out.short and ADMIN in out.short
    bare = render(
        renderer, "lead.assigned", locale, previous_assignee_name=None, changed_by_name=None
    )
    for body in (bare.html, bare.text, bare.short):
        assert OLD_SALES not in body and ADMIN not in body and "None" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_reassigned_away_names_the_new_salesperson(renderer: Renderer, locale: str) -> None:
    kind = "lead.reassigned_away"
    out = render(renderer, kind, locale)
    phrase = f"réassigné à {SALES}" if locale == "fr" else f"reassigned to {SALES}"
    assert phrase in out.text and phrase in out.short
    assert f"{OLD_SALES}," in out.text and f"{OLD_SALES}," in out.short  # the recipient
    assert "href=" not in out.html.split("<body", 1)[1]  # nothing left to open
    assert LINK not in out.text

    anonymous = render(renderer, kind, locale, assignee_name=None)
    someone = "un autre commercial" if locale == "fr" else "another salesperson"
    for body in (anonymous.html, anonymous.text, anonymous.short):
        assert someone in body and SALES not in body and "None" not in body


# --------------------------------------------------------------------------- user accounts


@pytest.mark.parametrize("locale", LOCALES)
def test_welcome_tells_where_to_sign_in(renderer: Renderer, locale: str) -> None:
    out = render(renderer, "user.welcome", locale)
    assert BRAND in out.subject and BRAND in out.short.split("\n", 1)[0]
    sign_in = "Se connecter" if locale == "fr" else "Sign in"
    assert f"{sign_in}</a>" in out.html
    bare = render(renderer, "user.welcome", locale, link=None)
    later = "vous connecter à l'application" if locale == "fr" else "sign in to the application"
    assert later in bare.text and later in bare.html.replace("&#39;", "'")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("role", "previous", "expected"),
    [
        (
            "manager",
            "salesperson",
            ("de « salesperson » à « manager »", "from “salesperson” to “manager”"),
        ),
        ("manager", None, ("désormais « manager »", "now “manager”")),
        (
            None,
            "salesperson",
            ("« salesperson » vous a été retiré", "“salesperson” has been removed"),
        ),
        (None, None, ("Votre rôle a été modifié", "Your role has been changed")),
    ],
)
def test_role_changed_wording(
    renderer: Renderer, role: Any, previous: Any, expected: tuple[str, str], locale: str
) -> None:
    out = render(renderer, "user.role_changed", locale, role=role, previous_role=previous)
    phrase = expected[0] if locale == "fr" else expected[1]
    assert phrase in out.text and phrase.lower() in out.short.lower()
    assert ("manager" in out.subject) == (role is not None)
    for body in (out.subject, out.html, out.text, out.short):
        assert "None" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_activation_and_deactivation(renderer: Renderer, locale: str) -> None:
    on = render(renderer, "user.activated", locale)
    assert ("activé" if locale == "fr" else "activated") in on.text
    off = render(renderer, "user.deactivated", locale)
    admin = "administrateur" if locale == "fr" else "administrator"
    for body in (off.subject, off.text, off.short):
        assert ("désactivé" if locale == "fr" else "deactivated") in body
    assert admin in off.text and admin in off.short and admin in off.html
    assert f"border:2px solid {COLOR}" in off.html


# --------------------------------------------------------------------------- digests


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", DIGEST_KINDS)
def test_digest_subject_counts(renderer: Renderer, kind: str, locale: str) -> None:
    weekly = kind == "digest.weekly"
    if locale == "fr":
        head = "Votre résumé de la semaine" if weekly else "Votre résumé du jour"
        expected = {1: f"{head} : 1 notification", 3: f"{head} : 3 notifications"}
    else:
        head = "Your weekly digest" if weekly else "Your daily digest"
        expected = {1: f"{head}: 1 notification", 3: f"{head}: 3 notifications"}
    for count, subject in expected.items():
        out = render(renderer, kind, locale, count=count, items=make_items(count, locale))
        assert out.subject == subject
        assert f"*{subject}*" in out.short


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", DIGEST_KINDS)
def test_digest_lists_every_item(renderer: Renderer, kind: str, locale: str) -> None:
    out = render(renderer, kind, locale)
    items = make_items(locale=locale)
    for item in items:
        assert item["subject"] in out.text and item["at"] in out.text
        assert f"• {item['subject']}" in out.short
        assert escape(item["at"]) in out.html
        line = item["short"].splitlines()[1]  # the body line of the item's own short text
        assert f"  {line}" in out.text and str(escape(line)) in out.html
        if item["link"]:
            assert out.text.count(item["link"]) == 1  # not again from the item's short text
            assert f'<a href="{item["link"]}"' in out.html
        else:
            assert f">{escape(item['subject'])}</div>" in out.html  # no anchor
    assert out.html.count("<a href=") == sum(1 for i in items if i["link"])
    assert f"— {BRAND}" not in out.text  # the items' signatures are dropped
    assert "…" not in out.text and "…" not in out.short  # nothing more


@pytest.mark.parametrize("locale", LOCALES)
def test_digest_item_without_short_text(renderer: Renderer, locale: str) -> None:
    """The engine gives an empty short text for a notice it could not render."""
    items = make_items(2, locale)
    items[0]["short"] = ""
    out = render(renderer, "digest.daily", locale, items=items, count=2)
    assert items[0]["subject"] in out.text and escape(items[0]["subject"]) in out.html
    assert "\n\n\n" not in out.text
    checker = _TagChecker()
    checker.feed(out.html)
    assert not checker.errors and not checker.stack


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", DIGEST_KINDS)
def test_digest_mentions_the_rest(renderer: Renderer, kind: str, locale: str) -> None:
    out = render(renderer, kind, locale, count=8, more=5)
    rest = (
        "… et 5 autres dans l'application" if locale == "fr" else "… and 5 more in the application"
    )
    assert rest in out.text and rest in out.short and rest in out.html.replace("&#39;", "'")

    one = render(renderer, kind, locale, count=4, more=1)
    rest = (
        "… et 1 autre dans l'application" if locale == "fr" else "… and 1 more in the application"
    )
    assert rest in one.text and rest in one.short


@pytest.mark.parametrize("locale", LOCALES)
def test_digest_short_stays_short(renderer: Renderer, locale: str) -> None:
    items = make_items(40, locale)
    for item in items:
        item["subject"] = item["subject"] + " — " + "x" * 300
    out = render(renderer, "digest.weekly", locale, items=items, count=65, more=25)
    assert len(out.short) < 1600, len(out.short)
    rest = "… et 55 autres" if locale == "fr" else "… and 55 more"
    assert rest in out.short and out.short.endswith(f"— {BRAND}")
    assert "x" * 300 in out.text  # the e-mail keeps every subject whole


# --------------------------------------------------------------------------- escaping


EVIL = "<script>alert(1)</script>"
EVIL_CHANGES = {
    "followup": {"title": EVIL, "customer": EVIL},
    "lead": {"name": EVIL, "company": EVIL, "stage": EVIL, "fulfilment": EVIL},
    "account": {"name": EVIL, "role": EVIL, "previous_role": EVIL},
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("kind", "role"), CASES)
def test_html_is_autoescaped_text_is_not(
    renderer: Renderer, kind: str, role: str, locale: str
) -> None:
    if kind.startswith("digest."):
        items = make_items(locale=locale)
        items[0].update(subject=EVIL, short=f"{EVIL}\nsecond <b>line</b>")
        changes: dict[str, Any] = {"items": items}
    else:
        changes = EVIL_CHANGES[{"user": "account"}.get(kind.split(".")[0], kind.split(".")[0])]
    out = render(renderer, kind, locale, to=role, **changes)
    assert "<script>" not in out.html and "<b>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert EVIL in out.text
    assert "&lt;" not in out.text and "&lt;" not in out.short


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kind", KINDS)
def test_missing_context_names_the_template(renderer: Renderer, kind: str) -> None:
    ctx = make_context(kind, "en")
    key = next(k for k in ("followup", "lead", "account", "digest") if k in ctx)
    del ctx[key]
    with pytest.raises(TemplateError) as err:
        renderer.render(kind, "en", ctx)
    assert f"en/{kind}." in str(err.value)  # the subject may not need it: then the e-mail
    assert f"'{key}' is undefined" in str(err.value)

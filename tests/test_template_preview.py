"""Built-in kinds previewed with sample facts, and HERALD_TEMPLATES_DIR: a folder of
templates found before the package's own, by the previews and by the worker alike."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from activities.delivery import DeliveryActivities
from herald.errors import InvalidInput
from herald.kinds import KINDS
from herald.rendering import Renderer, TemplateError
from herald.service import Herald
from herald.settings import Settings
from herald.store import Store, migrate
from herald.template_samples import sample_request
from starter.cli import EXIT_INVALID, EXIT_OK, main

FORMATS = ("html", "text", "short", "inbox")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path / 'preview.db'}"
    s = Store.from_url(url)
    migrate(s.engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    monkeypatch.delenv("HERALD_TEMPLATES_DIR", raising=False)
    return s


def herald_with(store: Store, tmp_path: Path, templates_dir: Path | None = None) -> Herald:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'preview.db'}",
        templates_dir=templates_dir,
        brand_name="Médiathèque de Lyon",
    )
    return Herald(None, store, settings)


@pytest.fixture
def overrides(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    (folder / "en").mkdir(parents=True)
    (folder / "en" / "loan.overdue.short.txt").write_text(
        "LATE: {{ loan.item }} was due {{ loan.due_at }}. {{ brand.name }}\n"
    )
    return folder


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_every_built_in_kind_previews_in_both_locales_and_all_formats(
    store: Store, tmp_path: Path, kind: str
) -> None:
    herald = herald_with(store, tmp_path)
    for locale in ("fr", "en"):
        for fmt in FORMATS:
            doc = await herald.preview_kind(kind, locale=locale, format=fmt)
            assert doc["kind"] == kind and doc["locale"] == locale and doc["format"] == fmt
            assert doc["subject"].strip() and doc["body"].strip(), (kind, locale, fmt)
            assert doc["overridden"] is False
            if fmt == "html":
                assert doc["body"].startswith("<!DOCTYPE html>")
                assert KINDS[kind].color in doc["body"]
            else:
                assert "<td" not in doc["body"]
    own = {"repair.batch": "repair_batch", "crm.daily_summary": "daily_summary"}
    expected = own.get(kind, kind.split(".", 1)[0])
    assert sample_request(kind).subject_type == expected


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_in_app_text_is_plain_while_sms_and_whatsapp_keep_theirs(
    store: Store, tmp_path: Path, kind: str
) -> None:
    """The bell shows a title (the subject) and the in-app text: no WhatsApp markers, no
    headline repeating the title, no signature, no link (the bell shows it apart)."""
    herald = herald_with(store, tmp_path)
    for locale in ("fr", "en"):
        inbox = await herald.preview_kind(kind, locale=locale, format="inbox")
        short = await herald.preview_kind(kind, locale=locale, format="short")
        body = inbox["body"]
        assert inbox["subject"] == short["subject"]  # the same title as the e-mail's subject
        assert "*" not in body, (kind, locale, body)
        assert "Médiathèque de Lyon" not in body or kind == "system.window_closing", body
        assert "— " not in body and "http" not in body and "\n\n" not in body, body
        assert "None" not in body and "{{" not in body
        assert body != short["body"] and len(body) < 600, (kind, locale)
        first = body.splitlines()[0]
        assert first not in short["subject"], (kind, locale, first)  # no repeated headline
        assert unicodedata.category(body[0]) != "So", (kind, locale, body)  # no emoji first


async def test_samples_are_realistic_and_localised(store: Store, tmp_path: Path) -> None:
    herald = herald_with(store, tmp_path)
    fr = await herald.preview_kind("loan.overdue", locale="fr", format="short")
    en = await herald.preview_kind("loan.overdue", locale="en", format="text")
    assert "Trépied Manfrotto 055" in fr["body"] and "mardi 24 novembre 2026" in fr["body"]
    assert "Tuesday 24 November 2026" in en["body"] and "2 of 3" in en["subject"]
    assert "Médiathèque de Lyon" in en["body"]
    repair = await herald.preview_kind("repair.reassigned_away", locale="en", format="text")
    # Addressed as the repair event table addresses it: to the technician who had it.
    assert repair["body"].startswith("Hello Sam Lee") and "to Noor Haddad" in repair["body"]
    digest = await herald.preview_kind("digest.daily", locale="en", format="text")
    assert "Trépied Manfrotto 055" in digest["body"]


async def test_the_daily_summary_previews_a_salespersons_day(store: Store, tmp_path: Path) -> None:
    """The sample day: one follow-up overdue, two due later, one completed, one new lead,
    each in its part, with the counts in the subject."""
    herald = herald_with(store, tmp_path)
    en = await herald.preview_kind("crm.daily_summary", locale="en", format="text")
    assert en["subject"] == "Your day: 2 due today, 1 overdue, 1 completed, 1 new lead"
    body = en["body"]
    assert body.startswith("Hello Sam Lee") and "Tuesday 24 November 2026" in body
    parts = ["OVERDUE FOLLOW-UPS (1)", "DUE LATER TODAY (2)", "COMPLETED SINCE", "NEW LEADS"]
    assert [body.index(p) for p in parts] == sorted(body.index(p) for p in parts)
    overdue = body[body.index(parts[0]) : body.index(parts[1])]
    assert "Envoyer le contrat signé" in overdue and "overdue by 1 day" in overdue
    due = body[body.index(parts[1]) : body.index(parts[2])]
    assert "12:00  Rappeler pour le devis (Boulangerie Morel)" in due
    assert "15:00  Démonstration du four" in due
    assert "Relancer la facture 2026-118" in body[body.index(parts[2]) : body.index(parts[3])]
    assert "Équipement du fournil (Boulangerie Morel)" in body[body.index(parts[3]) :]
    fr = await herald.preview_kind("crm.daily_summary", locale="fr", format="short")
    assert fr["subject"] == (
        "Votre journée : 2 relances prévues aujourd'hui, 1 en retard, 1 terminée, "
        "1 nouveau prospect"
    )
    assert "⚠️ Envoyer le contrat signé (en retard)" in fr["body"]
    html = await herald.preview_kind("crm.daily_summary", locale="fr", format="html")
    assert "À faire aujourd&#39;hui (2)" in html["body"]
    assert 'href="https://crm.example.org/l/LD-88"' in html["body"]


@pytest.mark.parametrize(
    ("kind", "locale", "fmt", "reason"),
    [
        ("loan.late", "fr", "text", "unknown kind 'loan.late'"),
        ("loan.overdue", "de", "text", "unknown locale 'de': use fr or en"),
        ("loan.overdue", "fr", "pdf", "unknown format 'pdf': use html, text, short, inbox"),
    ],
)
async def test_a_bad_preview_is_refused(
    store: Store, tmp_path: Path, kind: str, locale: str, fmt: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        await herald_with(store, tmp_path).preview_kind(kind, locale=locale, format=fmt)


async def test_an_override_wins_over_the_package_template(
    store: Store, tmp_path: Path, overrides: Path
) -> None:
    herald = herald_with(store, tmp_path, overrides)
    doc = await herald.preview_kind("loan.overdue", locale="en", format="short")
    assert doc["body"] == (
        "LATE: Trépied Manfrotto 055 was due Tuesday 24 November 2026 at 10:00. Médiathèque de Lyon"
    )
    assert doc["overridden"] is True
    # What the folder does not have comes from the package.
    text = await herald.preview_kind("loan.overdue", locale="en", format="text")
    assert text["overridden"] is False and "LATE:" not in text["body"]
    fr = await herald.preview_kind("loan.overdue", locale="fr", format="short")
    assert fr["overridden"] is False and "LATE:" not in fr["body"]


async def test_an_in_app_override_changes_the_bell_only(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    (folder / "en").mkdir(parents=True)
    (folder / "en" / "loan.overdue.inbox.txt").write_text("Late: {{ loan.item }}.\n")
    herald = herald_with(store, tmp_path, folder)
    inbox = await herald.preview_kind("loan.overdue", locale="en", format="inbox")
    assert inbox["body"] == "Late: Trépied Manfrotto 055." and inbox["overridden"] is True
    short = await herald.preview_kind("loan.overdue", locale="en", format="short")
    assert short["overridden"] is False and short["body"].startswith("⚠️ *ALERT")


def test_the_worker_renders_with_the_overrides(
    store: Store, tmp_path: Path, overrides: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'preview.db'}", templates_dir=overrides
    )
    acts = DeliveryActivities(store, {}, settings)
    assert acts.renderer.overrides == overrides.resolve()
    assert acts.renderer.overridden("en/loan.overdue.short.txt")
    assert not DeliveryActivities(store, {}, Settings()).renderer.overridden(
        "en/loan.overdue.short.txt"
    )


def broken_override(overrides: Path) -> tuple[Path, str]:
    broken = overrides / "fr" / "loan.created.txt"
    broken.parent.mkdir()
    broken.write_text('{% extends "layouts/email.txt" %}\n{% block subject %}Prêt {{ loan.item }\n')
    return broken, f"template override {broken} line 2: unexpected '}}'"


async def test_an_override_with_a_syntax_error_is_refused(
    store: Store, tmp_path: Path, overrides: Path
) -> None:
    _, reason = broken_override(overrides)
    herald = herald_with(store, tmp_path, overrides)
    # Any preview is refused, not only the broken kind's: the worker would not start.
    with pytest.raises(InvalidInput) as refused:
        await herald.preview_kind("loan.overdue", locale="en", format="short")
    assert str(refused.value) == reason
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'preview.db'}", templates_dir=overrides
    )
    with pytest.raises(TemplateError) as stopped:
        DeliveryActivities(store, {}, settings)
    assert str(stopped.value) == reason


def test_cli_refuses_a_broken_override_in_one_line(
    store: Store,
    overrides: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, reason = broken_override(overrides)
    monkeypatch.setenv("HERALD_TEMPLATES_DIR", str(overrides))
    assert main(["template", "preview", "loan.created"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert reason in err and len(err.splitlines()) == 1


def test_a_missing_templates_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="is not a folder"):
        Renderer.with_overrides(tmp_path / "nowhere")


def test_cli_previews_a_built_in_kind(
    store: Store,
    overrides: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["template", "preview", "loan.reminder_j1", "--locale", "en"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("Urgent reminder: “Trépied Manfrotto 055” is due back tomorrow")
    assert main(["template", "preview", "repair.completed", "--format", "html", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "html" and doc["body"].startswith("<!DOCTYPE html>")
    monkeypatch.setenv("HERALD_TEMPLATES_DIR", str(overrides))
    args = ["template", "preview", "loan.overdue", "--locale", "en", "--format", "short"]
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert "(from HERALD_TEMPLATES_DIR)" in out and "LATE: Trépied" in out


def test_cli_still_previews_admin_templates(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["template", "preview", "maintenance", "--context", '{"window": "22:00"}']) == 0
    out = capsys.readouterr().out
    assert "Maintenance" in out and "window: 22:00" in out
    assert main(["template", "preview", "maintenance", "--format", "short"]) == EXIT_INVALID
    assert "--format is for built-in kinds" in capsys.readouterr().err
    assert main(["template", "preview", "loan.overdue", "--context", '{"a": 1}']) == EXIT_INVALID
    assert "--context is for admin templates" in capsys.readouterr().err


async def test_previews_carry_the_whole_brand(store: Store, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'preview.db'}",
        brand_address="12 rue de la République, 69002 Lyon",
        brand_social_links="LinkedIn=https://www.linkedin.com/company/mediatheque",
    )
    herald = Herald(None, store, settings)
    doc = await herald.preview_kind("loan.created", locale="fr", format="html")
    assert "12 rue de la République, 69002 Lyon" in doc["body"]
    assert "https://www.linkedin.com/company/mediatheque" in doc["body"]
    budget = await herald.preview_kind("system.sms_budget", locale="en", format="short")
    assert "41.35 / 50.00 EUR" in budget["body"]

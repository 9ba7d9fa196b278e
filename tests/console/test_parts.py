"""The console's pure parts: the catalogue (both languages, same keys, formats), the
chart's geometry and the page registry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald.console import i18n
from herald.console.chart import HEIGHT, nice_top, stacked_bars
from herald.console.pages import PAGE_MODULES, ConsolePage, load_pages
from herald.kinds import KINDS

TEMPLATES = Path(i18n.__file__).parent / "templates" / "console"


def test_both_languages_have_every_string_and_the_same_placeholders() -> None:
    en, fr = i18n.MESSAGES["en"], i18n.MESSAGES["fr"]
    assert set(en) == set(fr)
    for key in en:
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", fr[key])), key
    assert set(i18n.KIND_DESCRIPTIONS_FR) == set(KINDS)


def test_every_key_a_page_uses_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for page in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(['"]([a-z_.0-9]+)['"]""", page.read_text()))
    for module in Path(i18n.__file__).parent.rglob("*.py"):
        used |= set(
            re.findall(
                r"""["']((?:fail|tpl|test|login|error|dash|nav|obj|health|time)\.[a-z_.]+)["']""",
                module.read_text(),
            )
        )
    used = {k for k in used if not k.endswith((".", "_"))}  # prefixes joined with a value
    en = i18n.MESSAGES["en"]
    labels = {k for k in used if any(m.startswith(f"{k}.") for m in en)}  # t.label's prefixes
    missing = {k for k in used - labels if k not in en and k != "test.result"}
    assert not missing, missing


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,de;q=0.9,fr;q=0.5,en;q=0.4", "fr"),
        ("fr;q=0,en;q=0.1", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
        ("fr;q=abc", "en"),
    ],
)
def test_the_language_from_accept_language(header: str | None, lang: str) -> None:
    assert i18n.negotiate(header) == lang


def test_numbers_durations_and_instants_in_each_language() -> None:
    en, fr = i18n.Texts("en", "Europe/Paris"), i18n.Texts("fr", "Europe/Paris")
    assert (en.number(12345.5, 1), fr.number(12345.5, 1)) == ("12,345.5", "12\u202f345,5")
    assert (en.percent(0.0625), fr.percent(0.0625)) == ("6.2%", "6,2\u202f%")
    assert en.percent(None) == "–"
    assert (en.money(0.318, "USD"), fr.money(0.318, "EUR")) == ("0.32 USD", "0,32\u202fEUR")
    assert [en.duration(s) for s in (0.42, 42, 600, 3600, 5400, 3 * 86400)] == [
        "0.4 s",
        "42 s",
        "10 min",
        "1 h",
        "1.5 h",
        "3 d",
    ]
    assert fr.duration(5400) == "1,5 h" and fr.duration(3 * 86400) == "3 j"
    assert en.when("2026-12-04T09:05:00+00:00") == "4 Dec 10:05"
    assert fr.when("2026-12-04T09:05:00+00:00") == "4 déc. 10:05"
    assert (en.day("2026-12-04"), fr.day("2026-12-04")) == ("Fri 4", "ven. 4")
    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert en.relative(now + timedelta(days=3), now) == "in 3 d"
    assert en.relative("2026-12-04T07:00:00+00:00", now) == "2 h ago"
    assert fr.relative(now + timedelta(minutes=30), now) == "dans 30 min"
    assert fr.relative(now - timedelta(days=1), now) == "il y a 24 h"
    assert (en.label("status", "sent"), fr.label("status", "sent")) == ("Sent", "Envoyé")
    assert en.label("status", "unknown") == "unknown"
    assert fr.kind("loan.overdue") == "après l'échéance, répété"
    assert en.kind("loan.overdue") == KINDS["loan.overdue"].description


def test_the_scale_is_round_and_covers_the_tallest_bar() -> None:
    assert nice_top(0) == (4, 1)
    assert nice_top(3) == (3, 1)
    assert nice_top(7) == (8, 2)
    assert nice_top(69) == (80, 20)
    assert nice_top(1234) == (1250, 250)
    for peak in range(1, 5000, 37):
        top, step = nice_top(peak)
        assert top >= peak and top % step == 0 and 1 <= top // step <= 7


def test_bars_stack_the_channels_from_the_baseline() -> None:
    days = [
        {"date": "2026-12-01", "total": 0, "by_channel": {}},
        {"date": "2026-12-02", "total": 30, "by_channel": {"sms": 10, "email": 20}},
        {"date": "2026-12-03", "total": 40, "by_channel": {"email": 40}},
    ]
    chart = stacked_bars(days)
    assert chart.channels == ["email", "sms"]
    assert [t.value for t in chart.ticks] == [0, 10, 20, 30, 40]
    empty, mixed, full = chart.bars
    assert empty.segments == []
    email, sms = mixed.segments
    assert (email.channel, sms.channel) == ("email", "sms")
    assert email.y + email.height == pytest.approx(chart.baseline)
    assert sms.y + sms.height == pytest.approx(email.y)
    assert email.height == pytest.approx(2 * sms.height)
    (only,) = full.segments
    assert only.y == pytest.approx(chart.ticks[-1].y)  # the tallest bar reaches the top
    assert 0 < only.y < HEIGHT and only.x < full.x < only.x + only.width


def test_pages_register_one_module_each_in_their_places() -> None:
    pages = load_pages()
    assert [(p.slug, p.path, p.order) for p in pages] == [
        ("dashboard", "/", 10),
        ("failures", "/failures", 20),
        ("test_send", "/test-send", 30),
        ("templates", "/templates", 40),
        ("subjects", "/objects", 50),
        ("health", "/health", 60),
    ]
    assert len(PAGE_MODULES) == len(pages)
    for page in pages:
        assert i18n.MESSAGES["en"][page.title_key] and i18n.MESSAGES["fr"][page.title_key]


def test_two_pages_may_not_share_a_place(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    clash = types.ModuleType("herald_console_clash")
    clash.PAGE = ConsolePage(  # type: ignore[attr-defined]
        slug="other",
        path="/other",
        order=10,
        build=lambda console: None,  # type: ignore[arg-type,return-value]
    )
    monkeypatch.setitem(__import__("sys").modules, "herald_console_clash", clash)
    with pytest.raises(ValueError, match="share a order"):
        load_pages((*PAGE_MODULES, "herald_console_clash"))


def test_the_ops_pages_have_words_for_every_kind_state_run_and_check() -> None:
    """A kind registered, a state or a check added without its words would show raw."""
    from temporalio.client import WorkflowExecutionStatus

    from herald.contracts import FollowUpState, LoanState, RepairState
    from herald.health import HealthCheck
    from herald.objects import STATES, object_kinds

    checks = HealthCheck.model_fields["name"].description or ""
    names = checks.partition(": ")[2].split(", ")
    assert "codec-server" in names and "webhooks" in names
    states = {"loan": LoanState, "repair": RepairState, "followup": FollowUpState}
    assert set(states) == set(object_kinds())
    for lang in i18n.LANGUAGES:
        words = i18n.MESSAGES[lang]
        wanted = [f"obj.{part}.{k}" for k in object_kinds() for part in ("kind", "one", "person")]
        wanted += [f"obj.overdue.{k}" for k in object_kinds()]
        wanted += [f"obj.state_{s}" for s in STATES] + [f"obj.none_{s}" for s in STATES]
        wanted += [f"obj.state.{k}.{v.value}" for k, enum in states.items() for v in enum]
        wanted += [f"obj.run.{s.name.lower()}" for s in WorkflowExecutionStatus] + [
            "obj.run.unknown"
        ]
        wanted += [f"obj.role.{r}" for r in ("borrower", "assignee", "manager")]
        wanted += [f"health.check.{n}" for n in names]
        wanted += [f"health.status_{s}" for s in ("ok", "problem", "note")]
        wanted += [f"health.overall_{s}" for s in ("ok", "warning", "problem")]
        assert not [k for k in wanted if k not in words], lang

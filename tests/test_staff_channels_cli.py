"""``herald group create|set --channels``, ``herald template set NAME --channels
--meta-template --meta-language --meta-param --meta-button`` (or ``--meta-json``),
``herald template sync-meta``, ``herald template list`` with Meta's review and ``herald
stats staff``: each a call of the service layer; a refused call is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from herald.db import Delivery, utcnow
from herald.staff_channels_store import list_template_meta
from herald.store import Store, migrate
from starter.cli import EXIT_INVALID, EXIT_OK, main
from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    TOKEN,
    WABA_ID,
    FakeGraph,
    meta_graph_fixture,
)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meta_graph: FakeGraph) -> Store:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    migrate(store.engine)
    for name, value in (
        ("DATABASE_URL", url),
        ("META_ACCESS_TOKEN", TOKEN),
        ("META_WABA_ID", WABA_ID),
        ("META_GRAPH_URL", meta_graph.url),
    ):
        monkeypatch.setenv(f"HERALD_{name}", value)
    monkeypatch.chdir(tmp_path)
    return store


def test_group_channels(database: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["group", "create", "sales", "--channels", "whatsapp,in_app"]) == EXIT_OK
    assert main(["group", "set", "sales", "--channels", "in_app", "--json"]) == EXIT_OK
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :]) == {"group": "sales", "channels": ["in_app"]}
    assert main(["group", "list"]) == EXIT_OK
    assert "[in_app]" in capsys.readouterr().out
    assert main(["group", "set", "sales", "--channels", ""]) == EXIT_OK
    assert "sales: default channels" in capsys.readouterr().out
    assert main(["group", "set", "sales", "--channels", "pigeon"]) == EXIT_INVALID
    assert "unknown channel" in capsys.readouterr().err


def test_template_meta_options_sync_and_list(
    database: Store, meta_graph: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["template", "set", "invoice", "--subject", "Facture {{ n }}", "--body", "F {{ n }}"]
    assert main(base) == EXIT_OK
    assert main([*base[:3], "--locale", "en", "--subject", "Invoice", "--body", "I"]) == EXIT_OK
    given = [
        "template", "set", "invoice", "--channels", "whatsapp",
        "--meta-template", "invoice_done", "--meta-language", "fr=fr,en=en_US",
        "--meta-param", "{{ recipient.name }}", "--meta-param", "{{ n }}",
        "--meta-button", "quick_reply=seen-{{ n }}", "--meta-button", "url=i/{{ n }}",
    ]  # fmt: skip
    assert main(given) == EXIT_OK
    [en, fr] = list_template_meta(database)
    assert en.language == "en_US" and fr.language == "fr" and fr.channels == ["whatsapp"]
    assert fr.meta_params == ["{{ recipient.name }}", "{{ n }}"]
    assert fr.meta_buttons == [
        {"type": "quick_reply", "text": "seen-{{ n }}"},
        {"type": "url", "text": "i/{{ n }}"},
    ]
    doc = json.dumps({"meta_template": "invoice_v2", "meta_params": ["{{ n }}"]})
    assert main(["template", "set", "invoice", "--meta-json", doc]) == EXIT_OK
    assert list_template_meta(database)[0].meta_template == "invoice_v2"
    assert main(["template", "set", "invoice", "--meta-template", "Bad!"]) == EXIT_INVALID
    assert main(["template", "set", "invoice"]) == EXIT_INVALID
    capsys.readouterr()

    meta_graph.add_template("invoice_v2", "fr", "APPROVED")
    meta_graph.add_template("invoice_v2", "en_US", "REJECTED", "INVALID_FORMAT")
    assert main(["template", "sync-meta"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "APPROVED" in out and "REJECTED: INVALID_FORMAT" in out
    assert main(["template", "list"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert any("meta invoice_v2 (fr) APPROVED" in line and "[whatsapp]" in line for line in lines)
    assert any("meta invoice_v2 (en_US) REJECTED: INVALID_FORMAT" in line for line in lines)
    assert main(["template", "list", "--json"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert {r["locale"]: r["meta_status"] for r in rows} == {"en": "REJECTED", "fr": "APPROVED"}


def test_stats_staff(database: Store, capsys: pytest.CaptureFixture[str]) -> None:
    with database.session() as s, s.begin():
        for i, status in enumerate(("sent", "pending", "permanently_failed")):
            s.add(
                Delivery(
                    idempotency_key=f"k{i}", workflow_id="w", notification_id=f"invoice/p{i}",
                    subject_type="staff", subject_id="r", kind="staff.notice", role="staff",
                    channel="whatsapp", subscriber_id=f"p{i}", status=status, created_at=utcnow(),
                    request={"data": {"template": "invoice", "groups": ["accounting"]}},
                )
            )  # fmt: skip
    assert main(["stats", "staff", "--hours", "24", "--json"]) == EXIT_OK
    stats = json.loads(capsys.readouterr().out)
    assert stats["templates"]["invoice"] == {"sent": 1, "pending": 1, "failed": 1}
    assert stats["groups"]["accounting"] == {"sent": 1, "pending": 1, "failed": 1}
    assert main(["stats", "staff"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "accounting" in out and "invoice" in out
    assert main(["stats", "staff", "--hours", "0"]) == EXIT_INVALID

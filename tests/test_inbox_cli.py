"""``herald inbox list|unread|archive|unarchive`` with the new filters, ``herald group create`` for
one or several groups (names or a file), ``herald template load FILE`` and ``herald notify
--event``: each a call of the service layer; a refused call is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from herald.store import Store, migrate
from starter.cli import EXIT_INVALID, EXIT_OK, main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    migrate(store.engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    for who in ("ana", "ben"):
        store.upsert_subscriber(who, name=who.title())
    return store


def notice(store: Store, key: str, kind: str, title: str, who: str = "ana") -> int:
    return store.add_inbox(
        delivery_key=key,
        subscriber_id=who,
        kind=kind,
        title=title,
        body="…",
        priority="medium",
        link=None,
    )


def listed(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["inbox", "list", "ana", "--json", *args]) == EXIT_OK
    return [n["title"] for n in json.loads(capsys.readouterr().out)]


def test_list_filters_unread_again_and_archive(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    lead = notice(database, "k1", "lead.created", "New lead: Acme")
    loan = notice(database, "k2", "loan.reminder_j1", "Drill due tomorrow")
    bens = notice(database, "k3", "lead.created", "New lead: Initech", who="ben")
    assert main(["inbox", "read", "ana", "--all"]) == EXIT_OK
    capsys.readouterr()

    assert listed(capsys, "--category", "leads") == ["New lead: Acme"]
    assert listed(capsys, "--read", "--search", "DRILL") == ["Drill due tomorrow"]
    assert listed(capsys, "--unread") == []

    assert main(["inbox", "unread", "ana", str(lead), str(bens)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "1 notification(s) unread" in out and f"left alone: #{bens}" in out
    assert listed(capsys, "--unread") == ["New lead: Acme"]

    assert main(["inbox", "archive", "ana", str(loan), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {
        "subscriber_id": "ana",
        "changed": 1,
        "unknown": [],
    }
    assert listed(capsys) == ["New lead: Acme"]
    assert listed(capsys, "--archived") == ["Drill due tomorrow"]
    assert main(["inbox", "archive", "ana", "--all"]) == EXIT_OK
    assert "1 notification(s) archived" in capsys.readouterr().out
    assert main(["inbox", "count", "ana"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "0"

    # Restored: back in the list, the unread one counted again; Ben's is no one's to restore.
    assert main(["inbox", "unarchive", "ana", str(lead), str(bens), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {
        "subscriber_id": "ana",
        "changed": 1,
        "unknown": [bens],
    }
    assert listed(capsys) == ["New lead: Acme"]
    assert main(["inbox", "count", "ana"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "1"
    assert main(["inbox", "unarchive", "ana", "--all"]) == EXIT_OK
    assert "1 notification(s) restored" in capsys.readouterr().out
    assert listed(capsys, "--archived") == []
    assert listed(capsys) == ["New lead: Acme", "Drill due tomorrow"]
    assert database.count_unread("ben") == 1  # Ben's untouched throughout


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["inbox", "list", "ana", "--read", "--unread"], "not allowed with argument"),
        (["inbox", "list", "ana", "--category", "gossip"], "invalid choice"),
        (["inbox", "list", "ana", "--search", "x" * 201], "the limit is 200"),
        (["inbox", "archive", "ana"], "or --all"),
        (["inbox", "archive", "ana", "3", "--all"], "or --all"),
        (["inbox", "unarchive", "ana"], "to unarchive, or --all"),
        (["inbox", "unarchive", "ana", "3", "--all"], "to unarchive, or --all"),
        (["inbox", "unarchive", "ana", "0"], "notification id"),
        (["inbox", "unarchive", "nobody", "--all"], "nobody"),
        (["inbox", "unread", "ana"], "the following arguments are required"),
        (["inbox", "unread", "ana", "0"], "notification id"),
        (["inbox", "unread", "nobody", "1"], "nobody"),
        (["group", "create"], "at least one group name"),
        (["group", "create", "a", "b", "--display-name", "A"], "once per name"),
        (["group", "create", "a", "--file", "groups.json"], "not both"),
        (["group", "create", "--file", "missing.json"], "cannot read missing.json"),
        (["template", "load", "missing.yaml"], "cannot read missing.yaml"),
        (["notify", "hello", "--event", "invoice.processed"], "HERALD_EVENT_GROUPS"),
    ],
)
def test_refused_calls_are_one_line_and_exit_2(
    database: Store, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    try:
        code = main(args)
    except SystemExit as exit:  # refused by the parser
        code = int(str(exit.code))
    assert code == EXIT_INVALID
    err = capsys.readouterr().err
    assert reason in err and err.count("\n") == 1


def test_groups_one_several_or_from_a_file(
    database: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["group", "create", "it", "--display-name", "IT Desk"]) == EXIT_OK
    assert capsys.readouterr().out == "group it created\n"
    args = ["group", "create", "technical-admins", "sales-team", "it"]
    shown = ["--display-name", "Technical Admin", "--display-name", "Sales Team"]
    assert main([*args, *shown, "--display-name", "IT"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "group technical-admins created" in out and "group it already exists" in out
    (tmp_path / "groups.yaml").write_text(
        "groups:\n  - name: accounting\n    display_name: Accounting\n    description: Invoices\n"
    )
    assert main(["group", "create", "--file", "groups.yaml", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {"created": ["accounting"], "existing": []}
    assert main(["group", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Sales Team" in out and "Accounting  Invoices" in out
    assert {g.name: g.display_name for g in database.list_groups()}["it"] == "IT Desk"


def test_template_load_is_all_or_nothing(
    database: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = {"name": "invoice_processed", "locale": "en", "subject": "Invoice {{ n }}", "body": "…"}
    (tmp_path / "templates.json").write_text(
        json.dumps([good, {**good, "locale": "fr", "subject": "Facture {{ n }}"}])
    )
    assert main(["template", "load", "templates.json"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "template invoice_processed (en) created" in out
    assert "template invoice_processed (fr) created" in out

    broken = {"name": "broken", "locale": "en", "subject": "{{ x", "body": "…"}
    (tmp_path / "bad.json").write_text(json.dumps({"templates": [{**good, "body": "new"}, broken]}))
    assert main(["template", "load", "bad.json"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "template 2:" in err and err.count("\n") == 1
    assert [t.body for t in database.list_templates()] == ["…", "…"]  # nothing written
    (tmp_path / "bad.json").write_text("{")
    assert main(["template", "load", "bad.json"]) == EXIT_INVALID
    assert "is not JSON" in capsys.readouterr().err
    assert main(["template", "load", "templates.json", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["updated"] == [
        "invoice_processed/en",
        "invoice_processed/fr",
    ]

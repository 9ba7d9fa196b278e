"""``herald suppression list|add|lift``, ``herald delivery events``, the WhatsApp window in
``herald subscriber show`` and the life of a message in ``herald deliveries``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald import receipts
from herald.db import Delivery
from herald.store import Store, migrate
from herald.webhooks import InboundMessage, ProviderEvent, State
from starter.cli import EXIT_INVALID, EXIT_OK, main

NUMBER = "+33698765432"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    migrate(store.engine)
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    store.upsert_subscriber("ana", name="Ana", email="ana@example.org", whatsapp=NUMBER)
    return store


def test_ops_add_list_and_lift_a_suppression(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["suppression", "add", "sms", "06 12 34 56 78", "--reason", "number reassigned"])
        == EXIT_OK
    )
    assert "+33612345678" in capsys.readouterr().out
    assert main(["suppression", "list", "--json"]) == EXIT_OK
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["address"] == "+33612345678" and entry["created_by"] == "cli"
    assert entry["reason"] == "number reassigned" and entry["active"]

    assert main(["suppression", "lift", "sms", "+33612345678", "--reason", "owner back"]) == EXIT_OK
    assert "lifted" in capsys.readouterr().out
    assert main(["suppression", "list", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == []
    assert main(["suppression", "list", "--all"]) == EXIT_OK
    assert "lifted" in capsys.readouterr().out
    assert main(["suppression", "lift", "sms", "+33612345678"]) == EXIT_INVALID
    assert "is not suppressed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["add", "email", "not-an-address", "--reason", "x"], "invalid e-mail"),
        (["add", "sms", "12", "--reason", "x"], "invalid phone number"),
        (["add", "email", "a@example.org", "--reason", "two\nlines"], "must be one line"),
        (["add", "email", "a@example.org", "--reason", "nul\x00"], "control character"),
        (["add", "email", "a@example.org", "--reason", "x" * 501], "the limit is 500"),
        (["add", "email", "a@example.org", "--reason", "  "], "reason is empty"),
    ],
)
def test_bad_suppression_input_is_refused_with_a_reason_and_changes_nothing(
    database: Store, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    assert main(["suppression", *args]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert reason in err and len(err.splitlines()) == 1
    assert receipts.list_suppressions(database, include_lifted=True) == []


def test_subscriber_show_says_whether_the_whatsapp_window_is_open(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["subscriber", "show", "ana"]) == EXIT_OK
    assert "WhatsApp window: closed, no message received yet" in capsys.readouterr().out
    wrote = datetime.now(UTC) - timedelta(hours=1)
    receipts.record_inbound(database, InboundMessage("meta", "whatsapp", NUMBER, "w1", "hi", wrote))
    assert main(["subscriber", "show", "ana"]) == EXIT_OK
    until = (wrote + timedelta(hours=24)).isoformat()
    assert f"WhatsApp window: open until {until}" in capsys.readouterr().out
    assert main(["subscriber", "show", "ana", "--json"]) == EXIT_OK
    window = json.loads(capsys.readouterr().out)["whatsapp_window"]
    assert window["open"] is True and window["open_until"] == until


def test_deliveries_show_each_message_life_and_its_events(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    with database.session() as s, s.begin():
        row = Delivery(
            idempotency_key="loan-L1|loan.reminder_j1@x|whatsapp",
            workflow_id="loan-L1",
            notification_id="loan.reminder_j1@x",
            subject_type="loan",
            subject_id="L1",
            kind="loan.reminder_j1",
            role="borrower",
            channel="whatsapp",
            subscriber_id="ana",
            provider="meta",
            recipient=NUMBER,
            status="sent",
            attempts=1,
            provider_message_id="wamid.1",
            sent_at=sent,
        )
        s.add(row)
        s.flush()
        rid = row.id
    for state, minutes in ((State.READ, 2), (State.DELIVERED, 1)):
        receipts.apply_events(
            database,
            [
                ProviderEvent(
                    provider="meta",
                    channel="whatsapp",
                    provider_message_id="wamid.1",
                    event_key=f"wamid.1:{state}",
                    provider_status=state.value,
                    state=state,
                    occurred_at=sent + timedelta(minutes=minutes),
                    raw='{"status":"x"}',
                )
            ],
        )
    assert main(["deliveries", "--loan", "L1"]) == EXIT_OK
    out = capsys.readouterr().out
    assert " read " in out
    assert f"#{rid} planned" in out and "> sent" in out and "> delivered" in out
    assert out.index("> delivered") < out.index("> read")
    assert main(["deliveries", "--loan", "L1", "--json"]) == EXIT_OK
    [doc] = json.loads(capsys.readouterr().out)
    assert [s["state"] for s in doc["life"]] == ["planned", "sent", "delivered", "read"]
    assert main(["delivery", "events", str(rid), "--json"]) == EXIT_OK
    events = json.loads(capsys.readouterr().out)
    assert [e["state"] for e in events] == ["delivered", "read"]
    assert main(["delivery", "events", "999"]) == EXIT_INVALID
    assert "no delivery 999" in capsys.readouterr().err


def test_doctor_says_where_to_point_each_provider_and_what_is_missing() -> None:
    from pydantic import SecretStr

    from herald.ops import feedback_notes
    from herald.settings import Settings

    bare = feedback_notes(
        Settings(sms_provider="twilio", whatsapp_provider="meta", email_provider="ses")
    )
    assert any("set HERALD_PUBLIC_BASE_URL" in n for n in bare)
    assert any("HERALD_META_APP_SECRET" in n for n in bare)
    assert any("https://HOST/v1/hooks/ses" in n for n in bare)
    wired = feedback_notes(
        Settings(
            sms_provider="twilio",
            whatsapp_provider="meta",
            email_provider="ses",
            public_base_url="https://herald.example.org/",
            meta_app_secret=SecretStr("s"),
            meta_verify_token=SecretStr("t"),
        )
    )
    assert "Meta webhook callback URL: https://herald.example.org/v1/hooks/meta" in wired
    assert any("https://herald.example.org/v1/hooks/twilio/inbound" in n for n in wired)
    assert not any("set HERALD" in n for n in wired)
    assert feedback_notes(Settings(email_provider="outbox")) == []


def test_prefs_limit_a_category_to_some_channels_and_refuse_unknown_ones(
    database: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prefs", "set", "ana", "--category", "leads=in_app+email"]) == EXIT_OK
    capsys.readouterr()
    assert main(["prefs", "show", "ana"]) == EXIT_OK
    assert "only: leads=email+in_app" in capsys.readouterr().out
    assert main(["prefs", "show", "ana", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["categories"] == {"leads": ["in_app", "email"]}
    for bad, reason in (("leads=fax", "unknown channel 'fax'"), ("leads=", "CATEGORY=on|off")):
        assert main(["prefs", "set", "ana", "--category", bad]) == EXIT_INVALID
        assert reason in capsys.readouterr().err
    assert main(["prefs", "set", "ana", "--category", "leads=on"]) == EXIT_OK
    assert database.get_preferences("ana").category_channels("leads") is None

"""``herald test email|sms|whatsapp ADDRESS``: a short test message through the channel's
provider chain, with the worker's failover, against the local SMTP server and the fake
Twilio and Meta APIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from herald.errors import InvalidInput, ProviderFailed
from herald.service import Herald
from herald.settings import Settings
from herald.store import Store, migrate
from starter.cli import EXIT_FAILURE, EXIT_INVALID, EXIT_OK, main
from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraph,
    meta_graph_fixture,
)
from tests.fakes.twilio_api import (  # noqa: F401  (fixtures)
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    twilio_api_fixture,
    twilio_api_server_fixture,
)
from tests.smtp_server import SmtpServer

PHONE = "+33612345678"


def settings(
    tmp_path: Path, smtp: SmtpServer, twilio: FakeTwilio, graph: FakeGraph, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'herald.db'}",
        "outbox_dir": tmp_path / "outbox",
        "email_provider": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_starttls": False,
        "email_from": "Prêts <prets@example.org>",
        "sms_providers": ["twilio", "outbox"],
        "whatsapp_providers": ["meta", "twilio"],
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": SecretStr(AUTH_TOKEN),
        "twilio_from": "+33756781234",
        "twilio_whatsapp_from": "+14155238886",
        "twilio_api_base_url": twilio.base_url,
        "meta_access_token": SecretStr(TOKEN),
        "meta_phone_number_id": PHONE_NUMBER_ID,
        "meta_graph_url": graph.url,
        "brand_name": "Prêts Médiathèque",
        "brand_address": "12 rue de la République, 69002 Lyon",
        "default_locale": "en",
        **overrides,
    }
    return Settings(**values)


def herald(s: Settings) -> Herald:
    store = Store.from_url(s.resolved_database_url)
    migrate(store.engine)
    return Herald(None, store, s)


async def test_an_email_goes_through_smtp_with_the_brand(
    tmp_path: Path, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph))
    doc = await h.test_send("email", " Camille@Example.ORG ")
    assert doc["channel"] == "email" and doc["provider"] == "smtp"
    assert doc["address"] == "Camille@example.org" and doc["message_id"]
    [mail] = smtp.handler.to("Camille@example.org")
    assert mail.subject == "Test message from Prêts Médiathèque"
    assert "the email channel works" in mail.part("plain")
    html = mail.part("html")
    assert "Prêts Médiathèque" in html and "<!DOCTYPE html>" in html
    assert "12 rue de la République, 69002 Lyon" in html
    # Not a notice of any subject: nothing is written to the delivery log.
    assert await h.deliveries() == []


async def test_an_sms_goes_through_twilio_and_names_its_message(
    tmp_path: Path, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph))
    doc = await h.test_send("sms", "06 12 34 56 78")
    [sent] = twilio_api.sent_to(PHONE)
    assert doc == {
        "channel": "sms",
        "address": PHONE,
        "provider": "twilio",
        "message_id": sent["sid"],
    }
    assert "the sms channel works" in sent["body"]


async def test_whatsapp_goes_through_meta(
    tmp_path: Path, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph))
    doc = await h.test_send("whatsapp", PHONE)
    assert doc["provider"] == "meta" and doc["message_id"]
    [request] = meta_graph.to(PHONE.removeprefix("+"))
    assert "the whatsapp channel works" in str(request.body)


async def test_a_provider_fault_fails_over_like_the_worker(
    tmp_path: Path, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    """Meta's token expired (a provider fault): Twilio answers instead."""
    meta_graph.fail(PHONE.removeprefix("+"), 190, 401, "Error validating access token")
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph))
    doc = await h.test_send("whatsapp", PHONE)
    assert doc["provider"] == "twilio"
    [sent] = twilio_api.sent_to(PHONE)
    assert doc["message_id"] == sent["sid"]


async def test_a_recipient_fault_stops_the_chain_with_the_classified_reason(
    tmp_path: Path, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    twilio_api.fail(PHONE, 21610, 400, "Attempt to send to unsubscribed recipient")
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph))
    with pytest.raises(ProviderFailed) as failed:
        await h.test_send("sms", PHONE)
    reason = str(failed.value)
    assert reason.startswith(f"sms test to {PHONE} failed: twilio:")
    assert "21610" in reason or "unsubscribed" in reason
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").rglob("*"))


async def test_every_provider_failing_is_one_failure(
    tmp_path: Path, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    smtp.handler.refuse_sender = "553 5.7.1 Sender address rejected: not owned by user"
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph))
    with pytest.raises(ProviderFailed, match="smtp: .*553"):
        await h.test_send("email", "camille@example.org")


@pytest.mark.parametrize(
    ("channel", "address", "reason"),
    [
        ("email", "not-an-address", "invalid e-mail"),
        ("sms", "12", "invalid phone number"),
        ("whatsapp", "0800 123 456", "phone number"),
        ("in_app", "u42", "unknown channel 'in_app' for a test: use email, sms, whatsapp"),
        ("fax", PHONE, "unknown channel 'fax'"),
    ],
)
async def test_a_bad_address_or_channel_is_refused_before_sending(
    tmp_path: Path,
    smtp: SmtpServer,
    twilio_api: FakeTwilio,
    meta_graph: FakeGraph,
    channel: str,
    address: str,
    reason: str,
) -> None:
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph))
    with pytest.raises(InvalidInput, match=reason):
        await h.test_send(channel, address)
    assert twilio_api.messages == [] and smtp.handler.messages == []


async def test_a_channel_without_provider_is_a_failure(
    tmp_path: Path, smtp: SmtpServer, twilio_api: FakeTwilio, meta_graph: FakeGraph
) -> None:
    h = herald(settings(tmp_path, smtp, twilio_api, meta_graph, whatsapp_providers=None))
    with pytest.raises(ProviderFailed, match="no whatsapp provider configured"):
        await h.test_send("whatsapp", PHONE)


@pytest.fixture
def environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp: SmtpServer,
    twilio_api: FakeTwilio,
) -> None:
    url = f"sqlite:///{tmp_path / 'herald.db'}"
    migrate(Store.from_url(url).engine)
    for name, value in {
        "DATABASE_URL": url,
        "EMAIL_PROVIDER": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_STARTTLS": "false",
        "SMS_PROVIDERS": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": "+33756781234",
        "TWILIO_API_BASE_URL": twilio_api.base_url,
    }.items():
        monkeypatch.setenv(f"HERALD_{name}", value)


def test_cli_prints_the_provider_and_message_id(
    environment: None, twilio_api: FakeTwilio, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", "sms", "+33612345678"]) == EXIT_OK
    [sent] = twilio_api.sent_to(PHONE)
    assert capsys.readouterr().out == (
        f"sms test to {PHONE}: sent via twilio, message id {sent['sid']}\n"
    )
    assert main(["test", "email", "ops@example.org", "--json"]) == EXIT_OK
    assert '"provider": "smtp"' in capsys.readouterr().out


def test_cli_exits_1_on_a_provider_failure_and_2_on_a_bad_address(
    environment: None, twilio_api: FakeTwilio, capsys: pytest.CaptureFixture[str]
) -> None:
    twilio_api.fail(PHONE, 21211, 400, "The 'To' number is not a valid phone number.")
    assert main(["test", "sms", PHONE]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"herald: failed: sms test to {PHONE} failed: twilio:")
    assert len(err.splitlines()) == 1
    assert main(["test", "sms", "12"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "invalid phone number" in err and len(err.splitlines()) == 1
    assert main(["test", "email", "nobody"]) == EXIT_INVALID
    with pytest.raises(SystemExit) as refused:
        main(["test", "pigeon", PHONE])
    assert refused.value.code == EXIT_INVALID

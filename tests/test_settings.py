"""Settings: every one documented, provider chains parsed and validated, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from herald.kinds import Channel
from herald.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    if alias is not None:
        return str(alias.choices[0])  # type: ignore[union-attr]
    return f"HERALD_{field.upper()}"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(field: str) -> None:
    assert f"`{env_name(field)}`" in README or f"{env_name(field)}`" in README, env_name(field)


def test_provider_chain_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_SMS_PROVIDERS", " twilio , sns ")
    monkeypatch.setenv("HERALD_EMAIL_PROVIDER", "ses")
    s = Settings()
    assert s.provider_chain(Channel.SMS) == ["twilio", "sns"]
    assert s.provider_chain(Channel.EMAIL) == ["ses"]
    assert s.provider_chain(Channel.WHATSAPP) == []  # none by default
    assert s.provider_chain(Channel.IN_APP) == ["database"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email_provider": "twilio"}, "unknown email provider 'twilio'"),
        ({"sms_providers": "twilio,ses"}, "unknown sms provider 'ses'"),
        ({"whatsapp_providers": "meta,none"}, "'none' cannot be part of a provider chain"),
    ],
)
def test_unknown_or_misplaced_providers_are_refused(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**overrides)  # type: ignore[arg-type]


def test_secrets_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_SMTP_PASSWORD", "hunter2-smtp")
    monkeypatch.setenv("HERALD_TWILIO_AUTH_TOKEN", "hunter2-twilio")
    monkeypatch.setenv("HERALD_META_ACCESS_TOKEN", "hunter2-meta")
    text = repr(Settings()) + str(Settings())
    assert "hunter2" not in text


def test_event_groups_from_json_and_their_group_names_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HERALD_EVENT_GROUPS", '{"invoice.processed": ["accounting", "managers"]}')
    assert Settings().event_groups == {"invoice.processed": ["accounting", "managers"]}
    monkeypatch.setenv("HERALD_EVENT_GROUPS", '{"invoice.processed": ["not a group!"]}')
    with pytest.raises(ValidationError, match="invalid group name"):
        Settings()

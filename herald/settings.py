"""Settings, from the environment only.

Temporal's own variables keep their names (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``);
everything else is ``HERALD_*``. Secrets are ``SecretStr`` so they never show in logs or reprs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmailProviderName = Literal["smtp", "outbox", "console"]
TextProviderName = Literal["none", "outbox", "console"]

DEFAULT_TASK_QUEUE = "herald"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore")

    # Temporal
    temporal_address: str = Field(
        "localhost:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field("default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE"))
    task_queue: str = DEFAULT_TASK_QUEUE

    # Storage
    data_dir: Path = Path(".herald")
    database_url: str | None = None

    # Channels
    email_provider: EmailProviderName = "outbox"
    sms_provider: TextProviderName = "none"
    whatsapp_provider: TextProviderName = "none"
    outbox_dir: Path | None = None

    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout: float = 30.0
    email_from: str = "Herald <herald@localhost>"
    email_reply_to: str | None = None

    # Policy and people
    # A built-in policy name (default, demo) or the path of a JSON policy file.
    policy: str = "default"
    default_locale: Literal["fr", "en"] = "fr"
    default_timezone: str = "Europe/Paris"
    default_phone_region: str = "FR"

    # Branding, used by every template
    brand_name: str = "Herald"
    brand_logo_url: str | None = None
    brand_color: str = "#1f3a5f"
    brand_footer: str = ""

    # Worker
    max_concurrent_activities: int = 20
    log_level: str = "INFO"

    @field_validator(
        "database_url", "smtp_username", "email_reply_to", "brand_logo_url", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'herald.db').resolve()}"

    @cached_property
    def resolved_outbox_dir(self) -> Path:
        return (self.outbox_dir or self.data_dir / "outbox").resolve()


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]

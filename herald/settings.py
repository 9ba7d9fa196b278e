"""Settings, from the environment only.

Temporal's own variables keep their names (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``);
everything else is ``HERALD_*``. Secrets are ``SecretStr`` so they never show in logs or reprs.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from herald.kinds import Channel

if TYPE_CHECKING:
    from herald.retry_budget import RetryBudget

# Which providers can serve which channel ("none": the channel is off).
PROVIDERS_BY_CHANNEL: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("smtp", "ses", "outbox", "console"),
    Channel.SMS: ("twilio", "sns", "outbox", "console", "none"),
    Channel.WHATSAPP: ("twilio", "meta", "outbox", "console", "none"),
    Channel.IN_APP: ("database", "none"),
}

# The RS Systems routing: which channels each priority uses (intersected with preferences).
DEFAULT_PRIORITY_ROUTES: dict[str, tuple[Channel, ...]] = {
    "urgent": (Channel.SMS, Channel.EMAIL, Channel.IN_APP),
    "high": (Channel.SMS, Channel.IN_APP),
    "medium": (Channel.EMAIL, Channel.IN_APP),
    "low": (Channel.IN_APP,),
}

# A comma-separated list in the environment: HERALD_SMS_PROVIDERS=twilio,sns
ProviderList = Annotated[list[str] | None, NoDecode]

DEFAULT_TASK_QUEUE = "herald"
DATA_DIR_NAME = ".herald"


def find_data_dir(start: Path | None = None) -> Path | None:
    """The nearest ``.herald`` folder holding a database, from ``start`` up to the root."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DATA_DIR_NAME
        if (candidate / "herald.db").is_file():
            return candidate
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore")

    # Temporal
    temporal_address: str = Field(
        "localhost:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field("default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE"))
    task_queue: str = DEFAULT_TASK_QUEUE

    # Storage. Unset, the data directory is the nearest ``.herald`` holding a database, in
    # the working directory or one of its parents (so a command run from a sub-folder finds
    # the stack's), else ``./.herald``.
    data_dir: Path = Path(DATA_DIR_NAME)
    database_url: str | None = None

    # Channels: one provider each, or a failover chain (``*_providers``) that overrides it.
    email_provider: str = "outbox"
    sms_provider: str = "none"
    whatsapp_provider: str = "none"
    in_app_provider: str = "database"
    email_providers: ProviderList = None
    sms_providers: ProviderList = None
    whatsapp_providers: ProviderList = None
    # Attempts on the first provider of a chain before the next one is tried too.
    failover_after_attempts: int = Field(default=2, ge=1)
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
    # List-Unsubscribe target; {subscriber_id} is replaced, e.g. https://app/prefs/{subscriber_id}
    email_list_unsubscribe: str | None = None
    # Accept addresses whose part before the @ is not ASCII (José@…): only when every mail
    # server on the way speaks SMTPUTF8. Refused at the edge otherwise.
    email_smtputf8: bool = False
    # Special-use domains accepted in addresses, e.g. "local" for an intranet's mail.
    email_special_use_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # AWS (region, credentials and endpoints come from boto3's standard configuration:
    # AWS_REGION, AWS_ACCESS_KEY_ID..., AWS_ENDPOINT_URL_SESV2, AWS_ENDPOINT_URL_SNS)
    ses_configuration_set: str | None = None
    sns_sender_id: str | None = None
    sns_sms_type: Literal["Transactional", "Promotional"] = "Transactional"

    # Twilio (SMS and WhatsApp)
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None  # SMS sender: +E.164 number or a Messaging Service SID (MG...)
    twilio_whatsapp_from: str | None = None  # WhatsApp sender, +E.164
    twilio_api_base_url: str = "https://api.twilio.com"

    # Meta WhatsApp Cloud API
    meta_access_token: SecretStr | None = None
    meta_phone_number_id: str | None = None
    meta_graph_url: str = "https://graph.facebook.com"
    meta_api_version: str = "v21.0"

    # WhatsApp templates per kind (JSON file); kinds without one are sent as free text.
    whatsapp_templates: Path | None = None
    # A folder of templates searched before the package's own (same layout as
    # herald/templates/): the built-in notices reworded without editing the package.
    templates_dir: Path | None = None

    # Sends per second per provider, enforced by Temporal on the channel's task queue.
    smtp_rate_limit: float | None = None
    ses_rate_limit: float | None = None
    sns_rate_limit: float | None = None
    twilio_rate_limit: float | None = None
    meta_rate_limit: float | None = None

    # Estimated cost of one SMS segment per provider, recorded with each SMS.
    twilio_sms_segment_cost: float = 0.0795
    sns_sms_segment_cost: float = 0.0735
    sms_cost_currency: str = "USD"
    # A monthly SMS budget in that currency: past it only urgent notices go by SMS; near it
    # (this share of it) and past it, the technical admins are told (herald/sms_budget.py).
    sms_monthly_budget: float | None = Field(default=None, gt=0)
    sms_budget_warn_at: float = Field(default=0.8, gt=0, le=1)

    # Policy and people
    # A built-in policy name (default, demo) or the path of a JSON policy file.
    policy: str = "default"
    # The same, for CRM follow-ups: when they remind and escalate.
    followup_policy: str = "followup"
    # Who receives copies of overdue follow-ups and lead events when the CRM names nobody.
    crm_managers_group: str = "sales-managers"
    default_locale: Literal["fr", "en"] = "fr"
    default_timezone: str = "Europe/Paris"
    default_phone_region: str = "FR"

    # Branding, used by every template
    brand_name: str = "Herald"
    brand_logo_url: str | None = None
    brand_color: str = "#1f3a5f"
    brand_footer: str = ""
    # The footer's band and rules; the postal address under the name; social links
    # ("LinkedIn=https://…,Facebook=https://…"); a logo file Herald serves itself
    # (GET /v1/brand/logo, public), used when brand_logo_url is unset.
    brand_secondary_color: str = "#f9fafb"
    brand_address: str = ""
    brand_social_links: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    brand_logo_file: Path | None = None

    # Priority routing (repairs, staff alerts): priority -> channels, as JSON in the environment.
    priority_routes: dict[str, list[Channel]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_PRIORITY_ROUTES.items()}
    )
    # Who hears about a staff alert that could not be delivered for good.
    tech_admins_group: str = "technical-admins"
    # Who hears about an approved repair still without a technician, and when.
    repair_managers_group: str = "repair-managers"
    repair_unassigned_after: timedelta = timedelta(hours=4)
    repair_unassigned_every: timedelta = timedelta(days=1)
    # Repair notices for the same person within this window go out as one (repair.batch);
    # 0: each on its own, as it happens.
    repair_batch_window: timedelta = Field(
        default=timedelta(0), ge=timedelta(0), le=timedelta(hours=1)
    )
    # Recipients per child workflow when a notice fans out to a group.
    fanout_batch_size: int = Field(default=50, ge=1, le=200)
    # Which groups hear about an application event when ``notify`` is given the event
    # instead of group names: {"invoice.processed": ["accounting"]}, JSON in the environment.
    event_groups: dict[str, list[str]] = Field(default_factory=dict)
    # The channels staff alerts go by when neither the call, the template nor a recipient's
    # group chooses ("whatsapp,in_app"); unset: the alert's priority route.
    staff_channels: Annotated[list[Channel] | None, NoDecode] = None
    # The WhatsApp Business Account whose message templates `herald template sync-meta` reads.
    meta_waba_id: str | None = None
    # The deliver activity's retries per channel (herald/retry_budget.py): "attempts:3",
    # "within:2h" or both; JSON for all channels at once, one variable per channel wins.
    retry_budgets: dict[str, str] = Field(default_factory=dict)
    retry_email: str | None = None
    retry_sms: str | None = None
    retry_whatsapp: str | None = None
    retry_in_app: str | None = None

    # Payload encryption: "id:base64key,..." (the first key encrypts, all decrypt).
    encryption_keys: SecretStr | None = None
    # Refuse to run in plaintext: clients will not connect without keys, and the worker
    # fails any workflow whose input arrives unencrypted.
    require_encryption: bool = False
    # The codec server lets the Temporal UI show decrypted payloads to whoever has the token.
    codec_token: SecretStr | None = None
    codec_cors_origins: str = "http://localhost:8233,http://127.0.0.1:8233"
    # Where the codec server answers (as the UI's browser reaches it), and the Temporal UI's
    # address: ``herald doctor`` checks the two are wired together.
    codec_endpoint: str | None = None
    temporal_ui_url: str | None = None
    # Where Herald's HTTP API answers (``herald api``): ``herald doctor`` checks it is ready.
    api_url: str | None = None

    # The feedback loop (receipts, opt-outs, webhooks; see herald/receipts.py).
    # Where providers reach this API from the internet ("https://herald.example.org"):
    # when set, every Twilio send asks for a StatusCallback to {public_base_url}/v1/hooks/…
    public_base_url: str | None = None
    # Meta: the app secret that signs X-Hub-Signature-256, the verify token of hub.challenge.
    meta_app_secret: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    # SNS: the certificate URL must match this (AWS's own hosts); the topics accepted
    # (empty: any topic whose message is correctly signed).
    sns_certificate_url_pattern: str = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
    sns_topic_arns: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Reject a signed SNS message older than this (a replay).
    sns_max_age: timedelta = timedelta(hours=1)
    # WhatsApp: outside the 24-hour window since the person's last message, send the kind's
    # approved template (or fail, saying none is configured) instead of free text.
    whatsapp_window: timedelta = timedelta(hours=24)
    whatsapp_enforce_window: bool = True
    # Staff (members of this group) who write to Herald's WhatsApp number are told this
    # long before their window closes, so they can reply and keep free-text alerts coming.
    whatsapp_window_reminder: timedelta | None = None
    whatsapp_window_reminder_group: str = "technical-admins"
    # Contact verification (herald/verification.py): how long a code is valid, how many
    # tries it allows, how soon another may be sent; the channels whose address must be
    # verified before anything is sent there.
    verification_expiry: timedelta = timedelta(minutes=10)
    verification_attempts: int = Field(default=5, ge=1, le=20)
    verification_resend_cooldown: timedelta = timedelta(seconds=60)
    require_verified: Annotated[list[Channel], NoDecode] = Field(default_factory=list)
    # Outbound webhooks: how long one event is retried, and after how many failed attempts
    # in a row an endpoint is disabled (until ops enable it again).
    webhook_retry_for: timedelta = timedelta(hours=36)
    webhook_disable_after: int = Field(default=50, ge=1)
    webhook_timeout: float = Field(default=10.0, gt=0)

    # The browser's doors (herald/web, /v1/me/...): the secret that signs subscriber tokens
    # (herald/subscriber_tokens.py; an embedded stack makes its own when unset), the origins
    # of the pages that embed the bell or the preferences (CORS on /ui/ and /v1/me/ only,
    # "https://app.example.org,https://intranet.example.org"), and how often one query per
    # API process looks for changed unread counts for every open stream.
    subscriber_token_secret: SecretStr | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    inbox_stream_tick: float = Field(default=2.0, ge=0.2, le=60)
    # Connections one ``herald api`` process holds at once (uvicorn's limit_concurrency):
    # beyond it, new requests get 503. Every open bell holds one (its live stream).
    api_max_connections: int = Field(default=200, ge=2, le=100_000)

    # Housekeeping: delivery-log rows and read inbox entries older than this are deleted
    # daily at 02:00 (in the default time zone), in small batches.
    retention_days: int = Field(default=90, ge=1)
    purge_batch_size: int = Field(default=1000, ge=1, le=50_000)

    # Keep the NextReminderAt search attribute of loans and follow-ups current (one upsert,
    # one history event and on Temporal Cloud one action, each time a reminder goes out).
    # Off: ``NextReminderAt`` queries find nothing for loans started since; the rest stays.
    next_reminder_attribute: bool = True

    # Metrics (GET /metrics): what each herald_* figure covers, how long one reading of
    # the database serves scrapes, and a bearer token a scraper may use instead of an ops
    # API key (only on /metrics).
    metrics_window: timedelta = Field(
        default=timedelta(days=1), ge=timedelta(minutes=1), le=timedelta(days=31)
    )
    metrics_cache: timedelta = Field(
        default=timedelta(seconds=15), ge=timedelta(0), le=timedelta(hours=1)
    )
    metrics_token: SecretStr | None = None
    # The worker's Temporal SDK metrics (temporal_*) for Prometheus, on this host:port
    # ("127.0.0.1:9464"); unset: not served. ``--processes N``: process i adds i - 1.
    worker_metrics_address: str | None = None
    # The ops console (/console): a password besides ops API keys (unset: ops keys only);
    # the key that signs its session cookies (unset: a new one per process, so sessions
    # end when the process restarts and are not shared between processes); the cookie's
    # Secure flag (unset: Secure unless the console is opened over http on the loopback);
    # how long a session lasts.
    console_password: SecretStr | None = None
    console_secret: SecretStr | None = None
    console_secure_cookie: bool | None = None
    console_session_hours: float = Field(default=8.0, gt=0, le=24 * 30)

    # Worker
    max_concurrent_activities: int = 20
    log_level: str = "INFO"

    @field_validator(
        "database_url",
        "smtp_username",
        "smtp_password",
        "encryption_keys",
        "codec_token",
        "codec_endpoint",
        "temporal_ui_url",
        "twilio_auth_token",
        "meta_access_token",
        "email_reply_to",
        "email_list_unsubscribe",
        "brand_logo_url",
        "twilio_account_sid",
        "twilio_from",
        "twilio_whatsapp_from",
        "meta_phone_number_id",
        "sns_sender_id",
        "ses_configuration_set",
        "smtp_rate_limit",
        "ses_rate_limit",
        "sns_rate_limit",
        "twilio_rate_limit",
        "meta_rate_limit",
        "whatsapp_templates",
        "brand_logo_file",
        "templates_dir",
        "public_base_url",
        "sms_monthly_budget",
        "meta_app_secret",
        "meta_verify_token",
        "meta_waba_id",
        "retry_email",
        "retry_sms",
        "retry_whatsapp",
        "retry_in_app",
        "metrics_token",
        "worker_metrics_address",
        "subscriber_token_secret",
        "console_password",
        "console_secret",
        "console_secure_cookie",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("email_providers", "sms_providers", "whatsapp_providers", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            names = [n.strip() for n in value.split(",") if n.strip()]
            return names or None
        return value

    @field_validator("event_groups")
    @classmethod
    def _event_groups_are_group_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from herald.validation import check_id

        for event, groups in value.items():
            if not event.strip() or len(event) > 200:
                raise ValueError(f"an event name of 1-200 characters, got {event[:40]!r}")
            for group in groups:
                check_id(group, f"group name for {event[:40]!r}")
        return value

    @model_validator(mode="after")
    def _retry_budgets_parse(self) -> Settings:
        from herald.retry_budget import parse_budget

        unknown = set(self.retry_budgets) - {c.value for c in Channel}
        if unknown:
            raise ValueError(
                f"HERALD_RETRY_BUDGETS: unknown channel {sorted(unknown)[0][:40]!r}: use "
                f"{', '.join(c.value for c in Channel)}"
            )
        for channel in Channel:
            text = getattr(self, f"retry_{channel.value}") or self.retry_budgets.get(channel.value)
            if text is not None:
                try:
                    parse_budget(text)
                except ValueError as err:
                    raise ValueError(f"retry budget for {channel.value}: {err}") from None
        return self

    def retry_budget(self, channel: Channel) -> RetryBudget | None:
        """The deliver activity's retries on ``channel``; None: the default policy."""
        from herald.retry_budget import parse_budget

        text = getattr(self, f"retry_{channel.value}") or self.retry_budgets.get(channel.value)
        return parse_budget(text) if text else None

    @model_validator(mode="after")
    def _nearest_data_dir(self) -> Settings:
        if "data_dir" not in self.model_fields_set:
            self.data_dir = find_data_dir() or self.data_dir
        return self

    @field_validator("staff_channels", mode="before")
    @classmethod
    def _channel_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [c.strip().lower() for c in value.split(",") if c.strip()] or None
        return value

    @field_validator("email_special_use_domains", mode="before")
    @classmethod
    def _domain_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [d.strip().lower().strip(".") for d in value.split(",") if d.strip()]
        return value

    @field_validator("brand_social_links", mode="before")
    @classmethod
    def _social_links(cls, value: object) -> object:
        """``Name=https://…`` pairs, comma-separated; only http(s) links."""
        if not isinstance(value, str):
            return value
        links: dict[str, str] = {}
        for item in (i.strip() for i in value.split(",")):
            if not item:
                continue
            name, sep, url = item.partition("=")
            if not sep or not name.strip() or not url.strip().startswith(("https://", "http://")):
                raise ValueError(f"HERALD_BRAND_SOCIAL_LINKS: use Name=https://…, got {item!r}")
            links[name.strip()] = url.strip()
        return links

    @field_validator("brand_secondary_color", "brand_color")
    @classmethod
    def _hex_color(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?", value):
            raise ValueError(f"a colour is #rgb or #rrggbb, got {value!r}")
        return value

    @field_validator("require_verified", mode="before")
    @classmethod
    def _verified_channels(cls, value: object) -> object:
        if isinstance(value, str):
            names = [n.strip() for n in value.split(",") if n.strip()]
            if "in_app" in names:
                raise ValueError("HERALD_REQUIRE_VERIFIED: the inbox has no address to verify")
            return names
        return value

    @field_validator("subscriber_token_secret")
    @classmethod
    def _token_secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        from herald.subscriber_tokens import check_secret

        if value is not None:
            check_secret(value.get_secret_value())
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        """Exact origins (scheme://host[:port]); never a wildcard."""
        if isinstance(value, str):
            value = [o.strip() for o in value.split(",") if o.strip()]
        if not isinstance(value, list):
            return value
        origins: list[str] = []
        for origin in value:
            parts = urlsplit(str(origin))
            if (
                parts.scheme not in ("https", "http")
                or not parts.hostname
                or "*" in str(origin)
                or parts.username is not None
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
            ):
                raise ValueError(
                    f"HERALD_CORS_ORIGINS: give origins like https://app.example.org, got "
                    f"{str(origin)[:80]!r}"
                )
            origins.append(f"{parts.scheme}://{parts.netloc}".lower())
        return origins

    @field_validator("sns_topic_arns", mode="before")
    @classmethod
    def _arn_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value

    @field_validator("worker_metrics_address")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_address(value)
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("HERALD_PUBLIC_BASE_URL must start with https:// (or http://)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _known_providers(self) -> Settings:
        for channel, allowed in PROVIDERS_BY_CHANNEL.items():
            chain = self.provider_chain(channel)
            for name in chain:
                if name not in allowed:
                    raise ValueError(
                        f"unknown {channel.value} provider {name!r}: choose among {', '.join(allowed)}"
                    )
            if "none" in chain:
                raise ValueError(f"{channel.value}: 'none' cannot be part of a provider chain")
        return self

    def provider_chain(self, channel: Channel) -> list[str]:
        """The providers for ``channel`` in failover order; empty when the channel is off."""
        chain = getattr(self, f"{channel.value}_providers", None) or [
            getattr(self, f"{channel.value}_provider")
        ]
        return [] if chain == ["none"] else list(chain)

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'herald.db').resolve()}"

    @cached_property
    def resolved_outbox_dir(self) -> Path:
        return (self.outbox_dir or self.data_dir / "outbox").resolve()


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) as (host, port), port 1 to 65535."""
    host, sep, port = address.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"use HOST:PORT (e.g. 127.0.0.1:9464), got {address[:60]!r}")
    return host, int(port)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]

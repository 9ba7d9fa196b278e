"""Tables and engine. PostgreSQL (psycopg 3) in production, an SQLite file embedded.

The schema is owned by Alembic (``herald/migrations``); these models mirror it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the database layer")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    whatsapp: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    # When the address now on file was verified (cleared when the address changes).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    whatsapp_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Preferences(Base):
    __tablename__ = "preferences"

    subscriber_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    # None: never chosen by the person; the notification's kind decides (see preferences.py).
    email_enabled: Mapped[bool | None] = mapped_column(Boolean)
    sms_enabled: Mapped[bool | None] = mapped_column(Boolean)
    whatsapp_enabled: Mapped[bool | None] = mapped_column(Boolean)
    in_app_enabled: Mapped[bool | None] = mapped_column(Boolean)
    # kind -> enabled, only for kinds the person changed
    kinds: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    # category -> enabled, or the channels it may use, only for categories the person changed
    categories: Mapped[dict[str, bool | list[str]] | None] = mapped_column(JSON)
    # Quiet hours and digests: local wall-clock "HH:MM" in the subscriber's zone.
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    digest: Mapped[str | None] = mapped_column(String(8))  # off | daily | weekly
    digest_at: Mapped[str | None] = mapped_column(String(5))
    digest_weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """One row per (notification, channel); the idempotency key makes sends happen once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_subject", "subject_type", "subject_id"),
        Index("ix_deliveries_created_at", "created_at"),
        Index("ix_deliveries_provider_message_id", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(2100), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(1000))
    notification_id: Mapped[str] = mapped_column(String(1000))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    subscriber_id: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(24))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    # Why the channel was used despite the rules (mandatory notice, last-resort inbox).
    note: Mapped[str | None] = mapped_column(Text)
    # SMS only: how the text was encoded, how many segments, and what that should cost.
    segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(8))
    cost_estimate: Mapped[float | None] = mapped_column(Float)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    # The DeliveryRequest a pending row is composed from (a workflow passes only the key).
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Every provider's failures, in order: [{"provider", "attempt", "code", "error"}]
    provider_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # What the provider reported after accepting it (see herald/receipts.py), with the time
    # of each state and the provider's reason for the last failure.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undelivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class InboxNotification(Base):
    """One in-app notification: what the bell shows."""

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_subscriber", "subscriber_id", "read_at", "created_at"),
        Index("ix_inbox_category", "subscriber_id", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_key: Mapped[str] = mapped_column(String(2100), unique=True)
    subscriber_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    link: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The category of the kind (herald.kinds), for filtering; None for kinds without one.
    category: Mapped[str | None] = mapped_column(String(16))
    # Archived: out of the default list and the unread count, still kept.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so worker threads share it."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class Group(Base):
    __tablename__ = "groups"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What people read ("Technical Admin"); the name is the slug.
    display_name: Mapped[str | None] = mapped_column(String(200))
    # The channels its members' staff alerts go by (["whatsapp", "in_app"]); None: the default.
    channels: Mapped[list[str] | None] = mapped_column(JSON)


class GroupMember(Base):
    __tablename__ = "group_members"

    group_name: Mapped[str] = mapped_column(
        String(200), ForeignKey("groups.name", ondelete="CASCADE"), primary_key=True
    )
    subscriber_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AdminTemplate(Base):
    """A template written by admins in the database, rendered in a sandbox."""

    __tablename__ = "templates"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    short: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The same on every locale of a name (herald/staff_channels_store.py): the channels its
    # alerts go by, and the Meta template sent outside WhatsApp's 24-hour window.
    channels: Mapped[list[str] | None] = mapped_column(JSON)
    meta_template: Mapped[str | None] = mapped_column(String(512))
    meta_languages: Mapped[dict[str, str] | None] = mapped_column(JSON)  # locale -> Meta code
    meta_params: Mapped[list[str] | None] = mapped_column(JSON)  # Jinja expressions
    meta_buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Per row: Meta's review of this locale's language (APPROVED, PENDING, REJECTED...).
    meta_status: Mapped[str | None] = mapped_column(String(32))
    meta_rejected_reason: Mapped[str | None] = mapped_column(Text)
    meta_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """A key for the HTTP API: only the SHA-256 of its secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    scope: Mapped[str] = mapped_column(String(8))  # app | ops
    # The start of the key, shown in listings so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyKey(Base):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed for 24 hours.

    ``status_code`` is empty while the first request is still being answered."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key", name="uq_idempotency_keys_owner_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The API key that sent it (0: no key, loopback without keys configured).
    api_key_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    # method, path and SHA-256 of the body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryEvent(Base):
    """One event a provider reported about a message it accepted, kept for audit.

    ``(provider, event_key)`` is unique, so a provider's retry of the same event is stored
    once. ``state`` is the Herald state the event means (None: informational, such as
    Twilio's ``queued``)."""

    __tablename__ = "delivery_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_key", name="uq_delivery_events_provider_key"),
        Index("ix_delivery_events_message", "provider_message_id"),
        Index("ix_delivery_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(255))
    provider_message_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(24))
    provider_status: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    # The provider's event as received, bounded in size.
    raw: Mapped[str | None] = mapped_column(Text)


class Suppression(Base):
    """An address Herald must not send to on a channel; lifted rows stay as the record."""

    __tablename__ = "suppressions"
    __table_args__ = (Index("ix_suppressions_address", "channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    # The event that caused it ("ses:Bounce:<message id>", "twilio:STOP:<sid>") or None.
    source: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lift_reason: Mapped[str | None] = mapped_column(Text)


class ConversationWindow(Base):
    """When a person last wrote to Herald's number on a channel (WhatsApp's 24-hour
    customer-service window opens from that moment)."""

    __tablename__ = "conversation_windows"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    last_inbound_at: Mapped[datetime] = mapped_column(UTCDateTime())
    provider: Mapped[str | None] = mapped_column(String(32))


class WebhookEndpoint(Base):
    """An application's URL that receives Herald's events, signed with its own secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(400))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WebhookEvent(Base):
    """One event for the application (its id is the Standard Webhooks ``webhook-id``)."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When its delivery workflow was started (None: still to hand over).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(Base):
    """One POST of one event to one endpoint."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_endpoint", "endpoint_id", "at"),
        Index("ix_webhook_attempts_event", "event_id"),
        Index("ix_webhook_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40))
    endpoint_id: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class Verification(Base):
    """One verification of one address: only the code's salted hash is kept."""

    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_subscriber", "subscriber_id", "channel"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscriber_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    salt: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending | verified | expired | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CrmFollowUp(Base):
    """A CRM follow-up as its workflow last recorded it (herald/crm_facts.py): what the
    personal daily summary lists without asking Temporal."""

    __tablename__ = "crm_followups"
    __table_args__ = (
        Index("ix_crm_followups_assignee_due", "assignee_id", "state", "due_at"),
        Index("ix_crm_followups_assignee_completed", "assignee_id", "completed_at"),
        Index("ix_crm_followups_updated_at", "updated_at"),
    )

    followup_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    assignee_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    customer: Mapped[str | None] = mapped_column(String(200))
    lead_id: Mapped[str | None] = mapped_column(String(200))
    link: Mapped[str | None] = mapped_column(String(1000))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))  # OPEN | OVERDUE | COMPLETED | CANCELLED
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CrmLeadAssignment(Base):
    """Who each lead was last given to, and when, from the CRM's lead events."""

    __tablename__ = "crm_lead_assignments"
    __table_args__ = (
        Index("ix_crm_lead_assignments_assignee", "assignee_id", "assigned_at"),
        Index("ix_crm_lead_assignments_assigned_at", "assigned_at"),
    )

    lead_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    assignee_id: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    link: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DailySummary(Base):
    """A person's daily summary: its local hour ("HH:MM"), or None once switched off.
    ``updated_at`` orders readings of the choice."""

    __tablename__ = "daily_summaries"

    subscriber_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

"""The feedback loop: what providers report after a send (receipts, bounces, complaints,
reads), the suppression list, the WhatsApp conversation windows, and the application's
outbound webhook endpoints with their events and attempts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from herald.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_STATE_TIMES = ("delivered_at", "read_at", "bounced_at", "complained_at", "undelivered_at")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        for name in _STATE_TIMES:
            batch.add_column(sa.Column(name, UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("provider_reason", sa.Text(), nullable=True))
    op.create_index("ix_deliveries_provider_message_id", "deliveries", ["provider_message_id"])
    op.create_table(
        "delivery_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(24), nullable=True),
        sa.Column("provider_status", sa.String(64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.UniqueConstraint("provider", "event_key", name="uq_delivery_events_provider_key"),
    )
    op.create_index("ix_delivery_events_message", "delivery_events", ["provider_message_id"])
    op.create_index("ix_delivery_events_received_at", "delivery_events", ["received_at"])
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(400), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(200), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_suppressions_address", "suppressions", ["channel", "address"])
    op.create_table(
        "conversation_windows",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("last_inbound_at", UTCDateTime(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=True),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(400), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("dispatched_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("endpoint_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
    )
    op.create_index("ix_webhook_attempts_endpoint", "webhook_attempts", ["endpoint_id", "at"])
    op.create_index("ix_webhook_attempts_event", "webhook_attempts", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_attempts_event", table_name="webhook_attempts")
    op.drop_index("ix_webhook_attempts_endpoint", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_events_created_at", table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_table("webhook_endpoints")
    op.drop_table("conversation_windows")
    op.drop_index("ix_suppressions_address", table_name="suppressions")
    op.drop_table("suppressions")
    op.drop_index("ix_delivery_events_received_at", table_name="delivery_events")
    op.drop_index("ix_delivery_events_message", table_name="delivery_events")
    op.drop_table("delivery_events")
    op.drop_index("ix_deliveries_provider_message_id", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("provider_reason")
        for name in reversed(_STATE_TIMES):
            batch.drop_column(name)

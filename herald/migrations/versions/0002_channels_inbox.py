"""In-app inbox, in-app preference, SMS segments and cost, per-provider errors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from herald.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("delivery_key", sa.String(400), nullable=False, unique=True),
        sa.Column("subscriber_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("link", sa.String(1000)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime()),
    )
    op.create_index("ix_inbox_subscriber", "inbox", ["subscriber_id", "read_at", "created_at"])
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(
            sa.Column("in_app_enabled", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("segments", sa.Integer()))
        batch.add_column(sa.Column("encoding", sa.String(8)))
        batch.add_column(sa.Column("cost_estimate", sa.Float()))
        batch.add_column(sa.Column("cost_currency", sa.String(3)))
        batch.add_column(sa.Column("provider_errors", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        for column in ("provider_errors", "cost_currency", "cost_estimate", "encoding", "segments"):
            batch.drop_column(column)
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("in_app_enabled")
    op.drop_index("ix_inbox_subscriber", table_name="inbox")
    op.drop_table("inbox")

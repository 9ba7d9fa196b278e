"""Contact verification: when each of a person's addresses was verified, and one row per
verification (the code's salted hash only, its expiry, the attempts).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from herald.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_VERIFIED = ("email_verified_at", "phone_verified_at", "whatsapp_verified_at")


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        for name in _VERIFIED:
            batch.add_column(sa.Column(name, UTCDateTime(), nullable=True))
    op.create_table(
        "verifications",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscriber_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_verifications_subscriber", "verifications", ["subscriber_id", "channel"])


def downgrade() -> None:
    op.drop_index("ix_verifications_subscriber", table_name="verifications")
    op.drop_table("verifications")
    with op.batch_alter_table("subscribers") as batch:
        for name in reversed(_VERIFIED):
            batch.drop_column(name)

"""Category opt-outs, quiet hours and digest mode in the preferences.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        # category -> enabled, only for categories the person changed
        batch.add_column(sa.Column("categories", sa.JSON()))
        # Local wall-clock times "HH:MM" in the subscriber's zone; both set or both NULL.
        batch.add_column(sa.Column("quiet_start", sa.String(5)))
        batch.add_column(sa.Column("quiet_end", sa.String(5)))
        batch.add_column(sa.Column("digest", sa.String(8)))
        batch.add_column(sa.Column("digest_at", sa.String(5)))
        batch.add_column(sa.Column("digest_weekday", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        for column in (
            "digest_weekday",
            "digest_at",
            "digest",
            "quiet_end",
            "quiet_start",
            "categories",
        ):
            batch.drop_column(column)

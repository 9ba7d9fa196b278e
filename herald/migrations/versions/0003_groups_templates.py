"""Groups of subscribers, admin-edited templates, preferences that can be left unset.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from herald.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("description", sa.String(400)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "group_members",
        sa.Column(
            "group_name",
            sa.String(200),
            sa.ForeignKey("groups.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "subscriber_id",
            sa.String(200),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("added_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "templates",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("locale", sa.String(8), primary_key=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("short", sa.Text()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    # Why a channel was used despite the rules (mandatory notice, last-resort inbox).
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("note", sa.Text()))
    # NULL: the person never chose; the kind of notification decides the default.
    with op.batch_alter_table("preferences") as batch:
        for column in ("email_enabled", "sms_enabled", "whatsapp_enabled", "in_app_enabled"):
            batch.alter_column(
                column, existing_type=sa.Boolean(), nullable=True, server_default=None
            )


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        for column in ("email_enabled", "sms_enabled", "whatsapp_enabled", "in_app_enabled"):
            batch.alter_column(column, existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("note")
    op.drop_table("templates")
    op.drop_table("group_members")
    op.drop_table("groups")

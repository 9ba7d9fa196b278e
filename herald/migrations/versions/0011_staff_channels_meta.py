"""Staff alerts' channels and their Meta templates.

``groups.channels`` and ``templates.channels``: the channels a group's members, or a
template's alerts, go by (None: the deployment's default). ``templates.meta_*``: the Meta
template an alert from this admin template is sent as outside WhatsApp's 24-hour window
(name, language per locale, body parameters, buttons), and Meta's review of it as last
read by ``herald template sync-meta`` (status, rejected reason, when).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from herald.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TEMPLATE_COLUMNS = (
    "channels",
    "meta_template",
    "meta_languages",
    "meta_params",
    "meta_buttons",
    "meta_status",
    "meta_rejected_reason",
    "meta_synced_at",
)


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("channels", sa.JSON(), nullable=True))
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("channels", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meta_template", sa.String(512), nullable=True))
        batch.add_column(sa.Column("meta_languages", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meta_params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meta_buttons", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meta_status", sa.String(32), nullable=True))
        batch.add_column(sa.Column("meta_rejected_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("meta_synced_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        for column in reversed(_TEMPLATE_COLUMNS):
            batch.drop_column(column)
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("channels")

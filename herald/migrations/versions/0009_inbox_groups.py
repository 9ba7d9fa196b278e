"""The inbox's archive and categories, and groups' display names.

``inbox.archived_at``: an archived notification leaves the default list and the unread
count but stays in the database. ``inbox.category``: the category of the notice's kind
(:data:`herald.kinds.CATEGORY_OF_PREFIX`), filled in here for the rows already there.
``groups.display_name``: the name people read ("Technical Admin") beside the slug.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from herald.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# A copy, not an import: a migration must keep doing what it did when herald.kinds changes.
_CATEGORY_OF_PREFIX = {
    "loan": "loans",
    "repair": "repairs",
    "lead": "leads",
    "followup": "followups",
    "user": "account",
    "staff": "system",
    "system": "system",
}


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("category", sa.String(16), nullable=True))
        batch.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
    inbox = sa.table("inbox", sa.column("kind", sa.String), sa.column("category", sa.String))
    for prefix, category in _CATEGORY_OF_PREFIX.items():
        op.execute(inbox.update().where(inbox.c.kind.like(f"{prefix}.%")).values(category=category))
    op.create_index("ix_inbox_category", "inbox", ["subscriber_id", "category"])
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("display_name", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("display_name")
    op.drop_index("ix_inbox_category", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("archived_at")
        batch.drop_column("category")

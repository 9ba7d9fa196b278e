"""Room for every id Herald builds: workflow ids up to Temporal's 1,000 characters, and the
notification ids and keys made from them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WIDER = {
    "deliveries": {
        "idempotency_key": (400, 2100),
        "workflow_id": (255, 1000),
        "notification_id": (255, 1000),
    },
    "inbox": {"delivery_key": (400, 2100)},
}


def upgrade() -> None:
    for table, columns in WIDER.items():
        with op.batch_alter_table(table) as batch:
            for column, (old, new) in columns.items():
                batch.alter_column(
                    column,
                    existing_type=sa.String(old),
                    type_=sa.String(new),
                    existing_nullable=False,
                )


def downgrade() -> None:
    for table, columns in WIDER.items():
        with op.batch_alter_table(table) as batch:
            for column, (old, new) in columns.items():
                batch.alter_column(
                    column,
                    existing_type=sa.String(new),
                    type_=sa.String(old),
                    existing_nullable=False,
                )

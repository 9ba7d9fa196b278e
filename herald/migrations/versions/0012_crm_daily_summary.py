"""The personal daily summary of the CRM: the follow-ups and lead assignments it reads
(recorded by the follow-up and CRM event workflows), and each person's chosen hour.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from herald.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_followups",
        sa.Column("followup_id", sa.String(200), primary_key=True),
        sa.Column("assignee_id", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("customer", sa.String(200), nullable=True),
        sa.Column("lead_id", sa.String(200), nullable=True),
        sa.Column("link", sa.String(1000), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_crm_followups_assignee_due", "crm_followups", ["assignee_id", "state", "due_at"]
    )
    op.create_index(
        "ix_crm_followups_assignee_completed", "crm_followups", ["assignee_id", "completed_at"]
    )
    op.create_index("ix_crm_followups_updated_at", "crm_followups", ["updated_at"])
    op.create_table(
        "crm_lead_assignments",
        sa.Column("lead_id", sa.String(200), primary_key=True),
        sa.Column("assignee_id", sa.String(200), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("company", sa.String(200), nullable=True),
        sa.Column("link", sa.String(1000), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_crm_lead_assignments_assignee",
        "crm_lead_assignments",
        ["assignee_id", "assigned_at"],
    )
    op.create_index("ix_crm_lead_assignments_assigned_at", "crm_lead_assignments", ["assigned_at"])
    op.create_table(
        "daily_summaries",
        sa.Column(
            "subscriber_id",
            sa.String(200),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("at", sa.String(5), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daily_summaries")
    op.drop_index("ix_crm_lead_assignments_assigned_at", table_name="crm_lead_assignments")
    op.drop_index("ix_crm_lead_assignments_assignee", table_name="crm_lead_assignments")
    op.drop_table("crm_lead_assignments")
    op.drop_index("ix_crm_followups_updated_at", table_name="crm_followups")
    op.drop_index("ix_crm_followups_assignee_completed", table_name="crm_followups")
    op.drop_index("ix_crm_followups_assignee_due", table_name="crm_followups")
    op.drop_table("crm_followups")

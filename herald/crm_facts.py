"""The CRM facts Herald keeps in its own database, for what Temporal cannot list cheaply:
each follow-up as its workflow last recorded it (assignee, due time, state, completion) and
each lead's current assignment. The personal daily summary (:mod:`herald.daily_summary`)
reads them.

The workflows are the truth: the follow-up workflow records its follow-up whenever it
changes, the CRM event workflow records an assignment it announces, both through a local
activity (``activities/crm_facts.py``) Temporal retries until it is written.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from herald.contracts import FollowUpState

RECORD_FOLLOWUP = "record_followup"
RECORD_LEAD_ASSIGNMENT = "record_lead_assignment"
# Follow-ups and lead events that began before the facts were kept replay without them.
FOLLOWUP_FACTS_PATCH = "followup-records-facts"
LEAD_FACTS_PATCH = "lead-records-assignment"

# A follow-up still to be done (the summary's due and overdue lists).
OPEN_STATES = (FollowUpState.OPEN, FollowUpState.OVERDUE)


class FollowUpFact(BaseModel):
    """One follow-up as its workflow last recorded it."""

    followup_id: str
    assignee_id: str
    title: str
    due_at: AwareDatetime
    state: FollowUpState
    completed_at: AwareDatetime | None = None
    customer: str | None = None
    lead_id: str | None = None
    link: str | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


class LeadAssignmentFact(BaseModel):
    """Who a lead was last given to, and when (the event that said so)."""

    lead_id: str
    assignee_id: str
    assigned_at: AwareDatetime
    event_id: str
    name: str | None = None
    company: str | None = None
    link: str | None = None

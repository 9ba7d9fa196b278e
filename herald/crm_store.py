"""The CRM facts and the daily summary's setting in Herald's database (see
:mod:`herald.crm_facts` and :mod:`herald.daily_summary`). Values must already be valid:
the workflows record what the service layer accepted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from herald.contracts import FollowUpState
from herald.crm_facts import OPEN_STATES, FollowUpFact, LeadAssignmentFact
from herald.daily_summary import SummarySetting, SummaryWindow
from herald.db import CrmFollowUp, CrmLeadAssignment, DailySummary, Subscriber, utcnow
from herald.store import Store, purge_in_batches


def record_followup(store: Store, fact: FollowUpFact) -> None:
    """The follow-up as its workflow now has it (created or replaced)."""
    for attempt in (1, 2):
        try:
            with store.session() as s, s.begin():
                row = s.get(CrmFollowUp, fact.followup_id)
                if row is None:
                    row = CrmFollowUp(followup_id=fact.followup_id)
                    s.add(row)
                row.assignee_id = fact.assignee_id
                row.title = fact.title
                row.customer = fact.customer
                row.lead_id = fact.lead_id
                row.link = fact.link
                row.due_at = fact.due_at
                row.state = fact.state.value
                row.completed_at = fact.completed_at
                row.updated_at = utcnow()
            return
        except IntegrityError:
            if attempt == 2:  # inserted by someone else meanwhile: the second try updates it
                raise


def record_lead_assignment(store: Store, fact: LeadAssignmentFact) -> bool:
    """The lead is now ``fact.assignee_id``'s, unless a later assignment is already known
    (events delivered out of order); answers whether the fact was kept. What the event
    leaves out (name, company, link) keeps its known value."""
    for attempt in (1, 2):
        try:
            with store.session() as s, s.begin():
                row = s.get(CrmLeadAssignment, fact.lead_id)
                if row is None:
                    row = CrmLeadAssignment(lead_id=fact.lead_id)
                    s.add(row)
                elif row.assigned_at > fact.assigned_at:
                    return False
                row.assignee_id = fact.assignee_id
                row.assigned_at = fact.assigned_at
                row.event_id = fact.event_id
                row.name = fact.name or row.name
                row.company = fact.company or row.company
                row.link = fact.link or row.link
                row.updated_at = utcnow()
            return True
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _followup(row: CrmFollowUp) -> FollowUpFact:
    return FollowUpFact(
        followup_id=row.followup_id,
        assignee_id=row.assignee_id,
        title=row.title,
        due_at=row.due_at,
        state=FollowUpState(row.state),
        completed_at=row.completed_at,
        customer=row.customer,
        lead_id=row.lead_id,
        link=row.link,
    )


def _lead(row: CrmLeadAssignment) -> LeadAssignmentFact:
    return LeadAssignmentFact(
        lead_id=row.lead_id,
        assignee_id=row.assignee_id,
        assigned_at=row.assigned_at,
        event_id=row.event_id,
        name=row.name,
        company=row.company,
        link=row.link,
    )


def get_followup(store: Store, followup_id: str) -> FollowUpFact | None:
    with store.session() as s:
        row = s.get(CrmFollowUp, followup_id)
        return _followup(row) if row else None


def get_lead_assignment(store: Store, lead_id: str) -> LeadAssignmentFact | None:
    with store.session() as s:
        row = s.get(CrmLeadAssignment, lead_id)
        return _lead(row) if row else None


def summary_candidates(
    store: Store, subscriber_id: str, window: SummaryWindow
) -> tuple[list[FollowUpFact], list[LeadAssignmentFact]]:
    """The person's facts a summary of ``window`` may list (:func:`herald.daily_summary.
    assemble` sorts them): their open follow-ups due before the end of the day, those
    completed since ``window.since``, and the leads given to them since then. Index-narrowed
    by assignee on both tables."""
    with store.session() as s:
        followups = s.scalars(
            select(CrmFollowUp).where(
                CrmFollowUp.assignee_id == subscriber_id,
                or_(
                    (CrmFollowUp.state.in_([st.value for st in OPEN_STATES]))
                    & (CrmFollowUp.due_at < window.day_end),
                    (CrmFollowUp.state == FollowUpState.COMPLETED.value)
                    & (CrmFollowUp.completed_at >= window.since),
                ),
            )
        ).all()
        leads = s.scalars(
            select(CrmLeadAssignment).where(
                CrmLeadAssignment.assignee_id == subscriber_id,
                CrmLeadAssignment.assigned_at >= window.since,
            )
        ).all()
        return [_followup(r) for r in followups], [_lead(r) for r in leads]


def summary_setting(store: Store, subscriber_id: str) -> SummarySetting | None:
    """The person's daily summary hour and time zone (``None``: no such person)."""
    with store.session() as s:
        person = s.get(Subscriber, subscriber_id)
        if person is None:
            return None
        row = s.get(DailySummary, subscriber_id)
        return SummarySetting(
            at=_clock(row.at) if row and row.at else None,
            timezone=person.timezone,
            version=row.updated_at if row else None,
        )


def set_summary_at(store: Store, subscriber_id: str, at: time | None) -> SummarySetting:
    """Choose the hour (``None``: no summary); the person must exist. The version always
    moves forward, even when nothing changed: it orders readings of the choice."""
    with store.session() as s, s.begin():
        row = s.get(DailySummary, subscriber_id)
        if row is None:
            row = DailySummary(subscriber_id=subscriber_id)
            s.add(row)
        row.at = f"{at:%H:%M}" if at is not None else None
        row.updated_at = utcnow()
    setting = summary_setting(store, subscriber_id)
    assert setting is not None
    return setting


def purge_crm_facts(
    store: Store,
    cutoff: datetime,
    *,
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Forget follow-ups closed (completed or cancelled) before ``cutoff`` and lead
    assignments older than it; open follow-ups stay whatever their age. Returns (rows,
    batches)."""
    closed = (FollowUpState.COMPLETED.value, FollowUpState.CANCELLED.value)
    followups, b1 = purge_in_batches(
        store,
        CrmFollowUp,
        CrmFollowUp.state.in_(closed),
        CrmFollowUp.updated_at < cutoff,
        batch_size=batch_size,
        on_batch=on_batch,
        key="followup_id",
    )
    leads, b2 = purge_in_batches(
        store,
        CrmLeadAssignment,
        CrmLeadAssignment.assigned_at < cutoff,
        batch_size=batch_size,
        on_batch=on_batch,
        key="lead_id",
    )
    return followups + leads, b1 + b2


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))

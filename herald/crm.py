"""CRM lead and user-account events, as pure rules: who hears about which event.

The CRM event workflow asks :func:`notices_for` and sends what it answers; the client and
CLI call :func:`check_event` first, so an event that cannot be sent is refused at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from herald.contracts import CrmEventInput, CrmSubject, Role
from herald.crm_facts import LeadAssignmentFact
from herald.kinds import LEAD_EVENTS, USER_EVENTS

# Stage changes the managers hear about (the others are routine).
CRITICAL_STAGES = ("won", "lost", "invoice_sent")
MANAGERS = "managers"
# CRM event workflows from before every stage change reached the assignee.
STAGES_TO_ASSIGNEE_PATCH = "crm-stages-to-assignee"


@dataclass(frozen=True)
class CrmNotice:
    kind: str
    role: Role
    # A subscriber id, or MANAGERS for the salesperson's managers.
    recipient: str


def check_event(subject: CrmSubject, event_type: str, data: dict[str, Any]) -> None:
    """Refuse an event that is unknown or misses what its notices need."""
    known = LEAD_EVENTS if subject is CrmSubject.LEAD else USER_EVENTS
    if event_type not in known:
        raise ValueError(
            f"unknown {subject.value} event {event_type!r}: choose among {', '.join(known)}"
        )
    need: tuple[str, ...] = ()
    if subject is CrmSubject.LEAD:
        need = {
            "created": (),
            "stage_changed": ("stage",),
            "assigned": ("assignee_id",),
            "fulfilment_changed": ("fulfilment",),
        }[event_type]
    elif event_type == "role_changed":
        need = ("role",)
    missing = [k for k in need if not data.get(k)]
    if missing:
        raise ValueError(f"{subject.value} event {event_type!r} needs {', '.join(missing)}")


def notices_for(
    subject: CrmSubject,
    event_type: str,
    data: dict[str, Any],
    subject_id: str,
    *,
    stages_to_assignee: bool = True,
) -> list[CrmNotice]:
    """The AAA CRM table: new lead → assignee and managers; every stage change → the
    assignee (the seed's "for all stage changes"), and won / lost / invoice sent → the
    managers too; assignment → new and previous assignee; fulfilment → assignee and
    managers; user events → the user. ``stages_to_assignee=False`` is the table before the
    assignee heard of stage changes (events recorded then replay as they ran)."""
    assignee = data.get("assignee_id")
    if subject is CrmSubject.USER:
        return [CrmNotice(f"user.{event_type}", Role.USER, subject_id)]
    notices: list[CrmNotice] = []
    if event_type == "created":
        if assignee:
            notices.append(CrmNotice("lead.created", Role.ASSIGNEE, assignee))
        notices.append(CrmNotice("lead.created", Role.MANAGER, MANAGERS))
    elif event_type == "stage_changed":
        if assignee and stages_to_assignee:
            notices.append(CrmNotice("lead.stage_changed", Role.ASSIGNEE, assignee))
        if data.get("stage") in CRITICAL_STAGES:
            notices.append(CrmNotice("lead.stage_changed", Role.MANAGER, MANAGERS))
    elif event_type == "assigned":
        previous = data.get("previous_assignee_id")
        if previous and previous != assignee:
            notices.append(CrmNotice("lead.reassigned_away", Role.PREVIOUS_ASSIGNEE, previous))
        if assignee:
            notices.append(CrmNotice("lead.assigned", Role.ASSIGNEE, assignee))
    elif event_type == "fulfilment_changed":
        if assignee:
            notices.append(CrmNotice("lead.fulfilment_changed", Role.ASSIGNEE, assignee))
        notices.append(CrmNotice("lead.fulfilment_changed", Role.MANAGER, MANAGERS))
    return notices


def assignment_of(event: CrmEventInput) -> LeadAssignmentFact | None:
    """The lead assignment an event tells of, if any: a lead created with an assignee, or
    given to one (the daily summary's "leads assigned")."""
    assignee = event.data.get("assignee_id")
    if event.subject_type is not CrmSubject.LEAD or not assignee:
        return None
    if event.type not in ("created", "assigned"):
        return None
    return LeadAssignmentFact(
        lead_id=event.subject_id,
        assignee_id=assignee,
        assigned_at=event.occurred_at,
        event_id=event.event_id,
        name=event.data.get("name"),
        company=event.data.get("company"),
        link=event.data.get("link"),
    )

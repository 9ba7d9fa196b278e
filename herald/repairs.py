"""Repairs, as pure rules: who hears about which event (data), and which transitions exist.

The repair workflow asks :func:`decide` about every event the app reports: apply it, ignore
it as already applied (a retried or late webhook), or refuse it as impossible.
"""

from __future__ import annotations

from dataclasses import dataclass

from herald.contracts import (
    RepairEvent,
    RepairEventType,
    RepairNotice,
    RepairPolicy,
    RepairState,
)
from herald.settings import Settings

E = RepairEventType
S = RepairState

# The RS Systems event table: recipient, template and priority of every notice.
DEFAULT_NOTICES: dict[str, list[RepairNotice]] = {
    "created": [RepairNotice(recipient="customer", kind="repair.created", priority="high")],
    E.APPROVED: [RepairNotice(recipient="technician", kind="repair.approved", priority="urgent")],
    E.DENIED: [RepairNotice(recipient="technician", kind="repair.denied", priority="urgent")],
    E.ASSIGNED: [RepairNotice(recipient="technician", kind="repair.assigned", priority="high")],
    E.REASSIGNED: [
        RepairNotice(
            recipient="previous_technician", kind="repair.reassigned_away", priority="medium"
        ),
        RepairNotice(recipient="technician", kind="repair.assigned", priority="high"),
    ],
    E.IN_PROGRESS: [
        RepairNotice(recipient="customer", kind="repair.in_progress", priority="medium")
    ],
    E.COMPLETED: [RepairNotice(recipient="customer", kind="repair.completed", priority="high")],
    E.BATCH_APPROVED: [
        RepairNotice(recipient="technician", kind="repair.batch_approved", priority="urgent")
    ],
    E.BATCH_DENIED: [
        RepairNotice(recipient="technician", kind="repair.batch_denied", priority="urgent")
    ],
    E.REWARD_REDEEMED: [
        RepairNotice(recipient="technician", kind="repair.reward_redeemed", priority="medium")
    ],
    E.CLOSED: [],
}
UNASSIGNED_NOTICE = RepairNotice(recipient="managers", kind="repair.unassigned", priority="high")


def default_repair_policy(settings: Settings) -> RepairPolicy:
    return RepairPolicy(
        notices=dict(DEFAULT_NOTICES),
        unassigned_after=settings.repair_unassigned_after,
        unassigned_every=settings.repair_unassigned_every,
        managers_group=settings.repair_managers_group,
    )


@dataclass(frozen=True)
class Decision:
    outcome: str  # "apply", "duplicate" or "refuse"
    state: RepairState  # the state after the event
    technician_id: str | None
    detail: str | None = None
    # The event's effective type: an assignment to someone else is a reassignment.
    effective: RepairEventType | None = None


_ENDED = (S.COMPLETED, S.CLOSED)


def decide(
    state: RepairState, technician_id: str | None, event: RepairEvent, seen: set[str]
) -> Decision:
    """What to do with ``event`` in ``state``; ``seen`` holds the event ids already applied."""

    def keep(outcome: str, detail: str) -> Decision:
        return Decision(outcome, state, technician_id, detail)

    def move(
        to: RepairState, tech: str | None = technician_id, effective: E | None = None
    ) -> Decision:
        return Decision("apply", to, tech, None, effective or event.type)

    if event.event_id in seen:
        return keep("duplicate", f"event {event.event_id} was already applied")
    if state is S.CLOSED:
        return keep("refuse", "the repair is closed")
    t = event.type

    if t in (E.APPROVED, E.BATCH_APPROVED):
        if state is S.DENIED:
            return keep("refuse", "a denied repair cannot be approved")
        if state is not S.PENDING_APPROVAL:
            return keep("duplicate", f"already approved (now {state.value})")
        return move(S.APPROVED)

    if t in (E.DENIED, E.BATCH_DENIED):
        if state is S.DENIED:
            return keep("duplicate", "already denied")
        if state is not S.PENDING_APPROVAL:
            return keep("refuse", f"a repair that is {state.value} cannot be denied")
        return move(S.DENIED)

    if t in (E.ASSIGNED, E.REASSIGNED):
        if not event.technician_id:
            return keep("refuse", f"'{t.value}' needs a technician id")
        if event.technician_id == technician_id:
            return keep("duplicate", f"already assigned to {technician_id}")
        if state in (S.DENIED, *_ENDED):
            return keep("refuse", f"a repair that is {state.value} cannot be assigned")
        effective = E.REASSIGNED if technician_id else E.ASSIGNED
        return move(state, event.technician_id, effective)

    if t is E.IN_PROGRESS:
        if state in (S.IN_PROGRESS, S.COMPLETED):
            return keep("duplicate", f"already {state.value}")
        if state is not S.APPROVED:
            return keep("refuse", f"a repair that is {state.value} cannot start")
        if technician_id is None:
            return keep("refuse", "no technician is assigned yet")
        return move(S.IN_PROGRESS)

    if t is E.COMPLETED:
        if state is S.COMPLETED:
            return keep("duplicate", "already completed")
        if state is not S.IN_PROGRESS:
            return keep("refuse", f"a repair that is {state.value} cannot be completed")
        return move(S.COMPLETED)

    if t is E.REWARD_REDEEMED:
        if technician_id is None:
            return keep("refuse", "no technician to reward")
        return move(state)

    if t is E.CLOSED:
        return move(S.CLOSED)

    return keep("refuse", f"unknown event {t}")  # pragma: no cover - enum is exhaustive

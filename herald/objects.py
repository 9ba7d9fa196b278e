"""Loans, repairs and follow-ups as ops see them: found through Temporal visibility with
Herald's search attributes (:mod:`herald.search_attributes`), one registered kind each.

A kind says which workflow type holds its objects, which search attributes carry their
state, person and due time, what "overdue" means for it, how its status query names the
next notice still to come, and which service method sends one of its notices by hand.
The service layer (:mod:`herald.service.operations`) asks :func:`object_kind`; a new kind
is one more :func:`register` call, not a branch elsewhere.

Visibility queries are built here from validated ids and instants only, each value
quoted by :func:`literal`, which refuses anything that could end the literal: what a
search box sends can never become part of the query's syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, Field
from temporalio.common import SearchAttributeKey

from herald.contracts import FollowUpStatus, LoanStatus, RepairState, RepairStatus
from herald.errors import InvalidInput
from herald.repairs import UNASSIGNED_NOTICE
from herald.search_attributes import (
    ASSIGNEE_ID,
    BORROWER_ID,
    CUSTOMER_ID,
    DUE_AT,
    FOLLOWUP_STATUS,
    LOAN_STATUS,
    REPAIR_STATUS,
    TECHNICIAN_ID,
)
from herald.validation import show

ObjectState = Literal["overdue", "upcoming", "all"]
STATES: tuple[str, ...] = ("overdue", "upcoming", "all")

# What a quoted literal may hold: ids (letters, digits, ``. _ : @ -``), instants and the
# words of enum values. No quote, backslash, parenthesis, blank but one space, or control.
_LITERAL = re.compile(r"[A-Za-z0-9._:@+\-]+")


def literal(value: str | datetime) -> str:
    """``value`` as a visibility-query string literal. Instants become RFC 3339 in UTC.
    Anything outside ids' and instants' characters is refused: validated input never
    reaches here otherwise, so this is the last guard, not the first."""
    text = (
        value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        if isinstance(value, datetime)
        else value
    )
    if not isinstance(text, str) or not _LITERAL.fullmatch(text):
        raise InvalidInput(f"refused in a visibility query: {show(text, 40)}")
    return f"'{text}'"


class PendingReminder(BaseModel):
    """The next notice an object's workflow will send, as its status query tells it."""

    kind: str = Field(description="The notice's kind, e.g. loan.reminder_j1")
    at: AwareDatetime = Field(description="When it is planned")
    role: str | None = Field(description="Who gets it: borrower, assignee, manager…")
    can_send_now: bool = Field(description="send_reminder_now can send it now, by hand")


class ObjectRow(BaseModel):
    """One loan, repair or follow-up, from Temporal visibility (and, for a running one,
    its workflow's own word on the next notice)."""

    kind: str = Field(description="loan, repair or followup")
    id: str = Field(description="The business id (L-1001)")
    workflow_id: str
    run_id: str
    workflow_status: str = Field(
        description="running, completed, failed, canceled, terminated, timed_out"
    )
    running: bool
    state: str | None = Field(
        description="The object's own state: ACTIVE, OVERDUE, RETURNED…, PENDING_APPROVAL…, OPEN…"
    )
    person_id: str | None = Field(description="The borrower, customer or assignee")
    technician_id: str | None = Field(default=None, description="Repairs: the technician")
    due_at: AwareDatetime | None = Field(description="Loans and follow-ups: the due time")
    next_reminder_at: AwareDatetime | None = Field(
        description="When the next reminder is due (the NextReminderAt search attribute)"
    )
    next_reminder: PendingReminder | None = Field(
        description="The next notice, from the workflow's status query (null when it has "
        "none, is closed, or no worker answered in time)"
    )
    overdue: bool = Field(description="Running and past due (repairs: approved, no technician)")
    started_at: AwareDatetime
    closed_at: AwareDatetime | None
    ui_url: str | None = Field(
        description="The workflow in the Temporal UI (needs HERALD_TEMPORAL_UI_URL)"
    )


class ObjectPage(BaseModel):
    kind: str
    state: str = Field(description="overdue, upcoming or all")
    items: list[ObjectRow]
    next_page_token: str | None = Field(description="Pass it back for the next page")


@dataclass(frozen=True)
class ObjectKind:
    """How one kind of business object is found, read and reminded of by hand."""

    name: str  # loan, repair, followup: the kind in routes and commands
    what: str  # as messages name it: "loan", "follow-up"
    workflow_type: str
    prefix: str  # workflow id = prefix + business id
    state_key: SearchAttributeKey[str]
    person_key: SearchAttributeKey[str]
    # The query clause (after the workflow type) of "overdue now" and of "upcoming".
    overdue: Callable[[datetime], str]
    upcoming: Callable[[datetime], str]
    # Whether a row, from its search attributes, is overdue at ``now``.
    is_overdue: Callable[[dict[str, Any], datetime], bool]
    status_type: type[BaseModel]
    # The next notice of a status answer (None: nothing pending).
    pending: Callable[[Any], PendingReminder | None]
    # The Herald method sending one of its notices by hand (None: none can be).
    notify: str | None = None

    def workflow_id(self, object_id: str) -> str:
        return f"{self.prefix}{object_id}"

    def object_id(self, workflow_id: str) -> str:
        return workflow_id.removeprefix(self.prefix)

    def query(self, state: str, now: datetime, search: str | None) -> str:
        """The visibility query of one listing; ``search`` is a validated id."""
        parts = [f"WorkflowType = {literal(self.workflow_type)}"]
        if state == "overdue":
            parts.append(self.overdue(now))
        elif state == "upcoming":
            parts.append(self.upcoming(now))
        else:
            # One row per object: a run that continued as new is the same object.
            parts.append("ExecutionStatus != 'ContinuedAsNew'")
        if search is not None:
            parts.append(
                f"(WorkflowId STARTS_WITH {literal(self.prefix + search)} "
                f"OR {self.person_key.name} = {literal(search)})"
            )
        return " AND ".join(parts)


RUNNING = "ExecutionStatus = 'Running'"


def _past_due(attributes: dict[str, Any], now: datetime) -> bool:
    due = attributes.get(DUE_AT.name)
    return isinstance(due, datetime) and due < now


def _deadline_pending(status: Any, *, notify: bool) -> PendingReminder | None:
    nxt = getattr(status, "next_reminder", None)
    if nxt is None:
        return None
    return PendingReminder(kind=nxt.kind, at=nxt.at, role=nxt.role.value, can_send_now=notify)


def _repair_pending(status: Any) -> PendingReminder | None:
    at = getattr(status, "next_unassigned_alert_at", None)
    if at is None:
        return None
    # The managers' alert about a repair nobody picked up: it repeats on its own schedule,
    # which an early send would shift, so it is shown, not sent by hand.
    return PendingReminder(kind=UNASSIGNED_NOTICE.kind, at=at, role="manager", can_send_now=False)


def _repair_waiting(attributes: dict[str, Any], _: datetime) -> bool:
    return attributes.get(REPAIR_STATUS.name) == RepairState.APPROVED.value and not attributes.get(
        TECHNICIAN_ID.name
    )


_KINDS: dict[str, ObjectKind] = {}


def register(kind: ObjectKind) -> ObjectKind:
    _KINDS[kind.name] = kind
    return kind


def object_kinds() -> tuple[str, ...]:
    return tuple(_KINDS)


def object_kind(name: object) -> ObjectKind:
    found = _KINDS.get(name) if isinstance(name, str) else None
    if found is None:
        raise InvalidInput(f"unknown object kind {show(name, 40)}: use {', '.join(_KINDS)}")
    return found


def check_state(state: object) -> str:
    if not isinstance(state, str) or state not in STATES:
        raise InvalidInput(f"unknown state {show(state, 40)}: use {', '.join(STATES)}")
    return state


def ui_url(base: str | None, namespace: str, workflow_id: str, run_id: str | None) -> str | None:
    """The workflow's page in the Temporal UI (its history), or None without a UI URL."""
    if not base:
        return None
    path = f"{base.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/"
    path += quote(workflow_id, safe="")
    return f"{path}/{quote(run_id, safe='')}/history" if run_id else path


register(
    ObjectKind(
        name="loan",
        what="loan",
        workflow_type="LoanWorkflow",
        prefix="loan-",
        state_key=LOAN_STATUS,
        person_key=BORROWER_ID,
        overdue=lambda now: f"{RUNNING} AND {DUE_AT.name} < {literal(now)}",
        upcoming=lambda now: f"{RUNNING} AND {DUE_AT.name} >= {literal(now)}",
        is_overdue=_past_due,
        status_type=LoanStatus,
        pending=lambda status: _deadline_pending(status, notify=True),
        notify="notify_loan",
    )
)
register(
    ObjectKind(
        name="repair",
        what="repair",
        workflow_type="RepairWorkflow",
        prefix="repair-",
        state_key=REPAIR_STATUS,
        person_key=CUSTOMER_ID,
        # Approved and still without a technician: what the managers' alerts are about.
        overdue=lambda _: (
            f"{RUNNING} AND {REPAIR_STATUS.name} = {literal(RepairState.APPROVED.value)} "
            f"AND {TECHNICIAN_ID.name} IS NULL"
        ),
        upcoming=lambda _: (
            f"{RUNNING} AND ({REPAIR_STATUS.name} != {literal(RepairState.APPROVED.value)} "
            f"OR {TECHNICIAN_ID.name} IS NOT NULL)"
        ),
        is_overdue=_repair_waiting,
        status_type=RepairStatus,
        pending=_repair_pending,
    )
)
register(
    ObjectKind(
        name="followup",
        what="follow-up",
        workflow_type="FollowUpWorkflow",
        prefix="followup-",
        state_key=FOLLOWUP_STATUS,
        person_key=ASSIGNEE_ID,
        overdue=lambda now: f"{RUNNING} AND {DUE_AT.name} < {literal(now)}",
        upcoming=lambda now: f"{RUNNING} AND {DUE_AT.name} >= {literal(now)}",
        is_overdue=_past_due,
        status_type=FollowUpStatus,
        pending=lambda status: _deadline_pending(status, notify=True),
        notify="notify_followup",
    )
)

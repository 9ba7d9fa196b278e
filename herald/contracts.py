"""Inputs and outputs of workflows and activities: Herald's versioned contract.

Every model here crosses the Temporal boundary through the pydantic data converter.
Add fields with defaults only, so histories of running loans keep decoding.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel

from herald.kinds import Channel
from herald.policy import LoanPolicy, PlannedPoint


class LoanState(StrEnum):
    ACTIVE = "ACTIVE"
    OVERDUE = "OVERDUE"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    PERMANENTLY_FAILED = "permanently_failed"
    SKIPPED = "skipped"


class Role(StrEnum):
    BORROWER = "borrower"
    MANAGER = "manager"


# ---------------------------------------------------------------- loan workflow


class NotificationRecord(BaseModel):
    """What the workflow did for one notification (one point, one recipient)."""

    notification_id: str
    kind: str
    role: Role
    planned_at: AwareDatetime
    fired_at: AwareDatetime | None = None
    # channel -> delivery status; empty when the point was skipped before sending
    channels: dict[str, DeliveryStatus] = {}
    skipped_reason: str | None = None


class LoanProgress(BaseModel):
    """The mutable part of a loan, carried across continue-as-new."""

    state: LoanState = LoanState.ACTIVE
    due_at: AwareDatetime
    timezone: str
    plan: list[PlannedPoint] = []
    done_keys: list[str] = []
    records: list[NotificationRecord] = []
    created_notified: bool = False
    extensions: int = 0
    returned_at: AwareDatetime | None = None


class LoanInput(BaseModel):
    loan_id: str
    borrower_id: str
    item: str
    borrowed_at: AwareDatetime
    due_at: AwareDatetime
    timezone: str
    policy: LoanPolicy
    manager_id: str | None = None
    # Set only when the workflow continues as new.
    progress: LoanProgress | None = None


class ReturnInput(BaseModel):
    returned_at: AwareDatetime | None = None


class ExtendInput(BaseModel):
    due_at: AwareDatetime
    # The borrower's zone when the extension was asked (they may have moved).
    timezone: str | None = None


class NextReminder(BaseModel):
    kind: str
    at: AwareDatetime
    role: Role = Role.BORROWER


class LoanStatus(BaseModel):
    loan_id: str
    state: LoanState
    borrower_id: str
    manager_id: str | None
    item: str
    borrowed_at: AwareDatetime
    due_at: AwareDatetime
    timezone: str
    policy: str
    loan_class: str
    next_reminder: NextReminder | None
    returned_at: AwareDatetime | None
    late_by_seconds: int | None
    extensions: int
    notifications: list[NotificationRecord]


# ---------------------------------------------------------------- delivery activities


class DeliveryRequest(BaseModel):
    """One notification to one person; the activity picks the channels at send time."""

    workflow_id: str
    notification_id: str
    kind: str
    role: Role
    subscriber_id: str
    subject_type: str
    subject_id: str
    scheduled_at: AwareDatetime
    # Facts the templates show (loan item, due time, lateness...); JSON-safe values only.
    data: dict[str, Any] = {}


class ChannelDecision(BaseModel):
    channel: Channel
    idempotency_key: str
    status: DeliveryStatus  # PENDING (to send) or SKIPPED
    recipient: str | None = None
    reason: str | None = None


class DeliveryPlan(BaseModel):
    decisions: list[ChannelDecision]

    @property
    def to_send(self) -> list[ChannelDecision]:
        return [d for d in self.decisions if d.status is DeliveryStatus.PENDING]


class ChannelSend(BaseModel):
    request: DeliveryRequest
    channel: Channel
    idempotency_key: str


class ChannelResult(BaseModel):
    channel: Channel
    status: DeliveryStatus
    provider: str | None = None
    provider_message_id: str | None = None
    sent_at: datetime | None = None


# Activity names, so workflows call them without importing I/O code into the sandbox.
PLAN_DELIVERY = "plan_delivery"
DELIVER = "deliver"

# Deliveries run on one task queue per channel, so each channel's sends-per-second limit is
# enforced by Temporal on that queue, for every worker together.
CHANNEL_QUEUES_PATCH = "channel-task-queues"


def channel_task_queue(base: str, channel: Channel) -> str:
    return f"{base}-{channel.value}"

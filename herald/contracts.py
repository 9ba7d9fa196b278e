"""Inputs and outputs of workflows and activities: Herald's versioned contract.

Every model here crosses the Temporal boundary through the pydantic data converter.
Add fields with defaults only, so histories of running loans keep decoding.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, field_serializer

from herald.holding import Hold, HoldRules
from herald.kinds import Channel
from herald.policy import LoanPolicy, PlannedPoint
from herald.retry_budget import RetryBudget


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
    # Waiting in the person's mailbox (quiet hours, digest); settled when released.
    HELD = "held"
    # Went out inside a digest instead of on its own.
    DIGESTED = "digested"
    # Not sent: the address is on the suppression list (bounce, complaint, STOP).
    SUPPRESSED = "suppressed"
    # What the provider reported after accepting it (herald/receipts.py).
    DELIVERED = "delivered"
    READ = "read"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNDELIVERED = "undelivered"


class Role(StrEnum):
    BORROWER = "borrower"
    MANAGER = "manager"
    CUSTOMER = "customer"
    TECHNICIAN = "technician"
    STAFF = "staff"
    ADMIN = "admin"
    ASSIGNEE = "assignee"
    PREVIOUS_ASSIGNEE = "previous_assignee"
    USER = "user"
    SUBSCRIBER = "subscriber"


FAILURE_ALERT_WORKFLOW = "FailureAlertWorkflow"
VERIFICATION_WORKFLOW = "ContactVerificationWorkflow"
WINDOW_REMINDER_WORKFLOW = "WhatsAppWindowWorkflow"
WINDOW_PEOPLE = "window_people"


def window_workflow_id(address: str) -> str:
    return "whatsapp-window-" + hashlib.sha256(address.encode()).hexdigest()[:24]


class WindowInput(BaseModel):
    """A WhatsApp number whose 24-hour window the staff must hear is closing."""

    address: str
    last_inbound_at: AwareDatetime
    window: timedelta = timedelta(hours=24)
    lead: timedelta = timedelta(hours=1)
    group: str = "technical-admins"


class WindowPeopleInput(BaseModel):
    address: str
    group: str


SEND_VERIFICATION = "send_verification"
CHECK_VERIFICATION = "check_verification"
FINISH_VERIFICATION = "finish_verification"


class VerificationInput(BaseModel):
    verification_id: str
    expires_in: timedelta
    max_attempts: int = 5
    resend_cooldown: timedelta = timedelta(seconds=60)


class VerificationState(BaseModel):
    verification_id: str
    status: str  # pending | verified | expired | failed
    attempts: int
    attempts_left: int


# Housekeeping runs that fail for good alert the technical admins.
HOUSEKEEPING_ALERT_PATCH = "housekeeping-failure-alert"


def failure_alert_workflow_id(idempotency_key: str) -> str:
    """One alert workflow per failed row: a hash keeps any key within Temporal's id limit."""
    return "failure-alert-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


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
    # Handed to the recipient's batch (this workflow id): it goes out there, with others.
    batched_in: str | None = None


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
    # Notices sent by hand so far (each gets its own key: ``KIND@manual-N``).
    manual_sends: int = 0


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
    # Upsert NextReminderAt as the plan moves (the deployment's setting when it began).
    next_reminder_attribute: bool = True

    @field_serializer("policy", when_used="json")
    def _policy_without_defaults(self, policy: LoanPolicy) -> dict[str, Any]:
        """Every loan's history holds its input for ever: the policy without the values
        it leaves at their defaults, which validation puts back."""
        return policy.model_dump(mode="json", exclude_defaults=True)


class ReturnInput(BaseModel):
    returned_at: AwareDatetime | None = None


class ManualNotifyInput(BaseModel):
    """Send one of the loan's notices now, by hand (``herald loan notify``)."""

    kind: str
    manager: bool = False  # the manager gets a copy too


class ManualNotifyResult(BaseModel):
    notification_id: str
    # channel -> delivery status, for the borrower's notice
    channels: dict[str, DeliveryStatus] = {}


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
    # Routed notifications: the priority picks the channels from the routing table.
    priority: str | None = None
    # Only these channels (e.g. a staff alert sent over WhatsApp), intersected with preferences.
    channels: list[Channel] | None = None
    # Set by the person's mailbox when it lets a held notice go: never held again, and
    # dropped if its subject closed meanwhile (a reminder for a loan since returned).
    release: bool = False
    # Sent by hand (ops' "send now"), not by the plan: logged so, never held or dropped.
    manual: bool = False
    # The instant after which the notice has lost its point (a reminder: the due time it
    # announces); a held notice is dropped rather than sent after it.
    expires_at: AwareDatetime | None = None

    def deadline(self) -> datetime | None:
        """``expires_at``, else the due time in the facts (notices held before the field)."""
        if self.expires_at is not None:
            return self.expires_at
        due_at = self.data.get("due_at")
        return datetime.fromisoformat(due_at) if isinstance(due_at, str) and due_at else None


class ChannelDecision(BaseModel):
    channel: Channel
    idempotency_key: str
    status: DeliveryStatus  # PENDING (to send) or SKIPPED
    recipient: str | None = None
    reason: str | None = None


class DeliveryPlan(BaseModel):
    decisions: list[ChannelDecision]
    # The deliver activity's retries per channel to send (HERALD_RETRY_*); absent: the
    # default policy (plans recorded before budgets existed replay so).
    retry: dict[Channel, RetryBudget] = {}

    @property
    def to_send(self) -> list[ChannelDecision]:
        return [d for d in self.decisions if d.status is DeliveryStatus.PENDING]


class PlanSummary(BaseModel):
    """What a local planning activity records in history: each channel's status, nothing
    the workflow can derive (idempotency keys) or does not read (recipients, reasons: those
    are in the delivery log)."""

    channels: dict[Channel, DeliveryStatus]
    retry: dict[Channel, RetryBudget] = {}

    def expand(self, request: DeliveryRequest) -> DeliveryPlan:
        return DeliveryPlan(
            retry=self.retry,
            decisions=[
                ChannelDecision(
                    channel=channel,
                    idempotency_key=idempotency_key(request, channel),
                    status=status,
                )
                for channel, status in self.channels.items()
            ],
        )


def idempotency_key(request: DeliveryRequest, channel: Channel) -> str:
    """One delivery of one notification on one channel, whatever retries or replays."""
    return f"{request.workflow_id}|{request.notification_id}|{channel.value}"


class ChannelSend(BaseModel):
    """One delivery to make. Without ``request`` (workflows since the lean-notify patch),
    the activity reads it from the delivery row its planning wrote."""

    request: DeliveryRequest | None = None
    channel: Channel
    idempotency_key: str
    # The channel's retry budget in attempts: the last one settles the row for good.
    max_attempts: int | None = None


class ChannelResult(BaseModel):
    channel: Channel
    status: DeliveryStatus
    provider: str | None = None
    provider_message_id: str | None = None
    sent_at: datetime | None = None


# Activity names, so workflows call them without importing I/O code into the sandbox.
PLAN_DELIVERY = "plan_delivery"
PLAN_DELIVERIES = "plan_deliveries"
PLAN_NOTIFICATION = "plan_notification"
DELIVER = "deliver"

# Deliveries run on one task queue per channel, so each channel's sends-per-second limit is
# enforced by Temporal on that queue, for every worker together.
CHANNEL_QUEUES_PATCH = "channel-task-queues"
# Planning runs as a local activity: no activity task events, no extra workflow task.
LOCAL_PLAN_PATCH = "plan-as-local-activity"
# Both of the above under one marker, the plan recorded as a PlanSummary: every patch is a
# marker and a TemporalChangeVersion upsert in each new workflow's history.
LEAN_NOTIFY_PATCH = "lean-notify"


def channel_task_queue(base: str, channel: Channel) -> str:
    return f"{base}-{channel.value}"


class ResendInput(BaseModel):
    """A new attempt of a delivery that failed for good, on a row of its own
    (``herald deliveries resend``)."""

    idempotency_key: str  # the new row's
    channel: Channel
    original_id: int
    retry: RetryBudget | None = None


class ResendResult(BaseModel):
    idempotency_key: str
    status: DeliveryStatus


RESEND_WORKFLOW = "ResendWorkflow"


def resend_workflow_id(idempotency_key: str) -> str:
    """One workflow per resend row (by its key, hashed to fit Temporal's id limit):
    starting it twice sends nothing twice."""
    return "resend-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


# ---------------------------------------------------------------- repairs


class RepairState(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


class RepairEventType(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    BATCH_APPROVED = "batch_approved"
    BATCH_DENIED = "batch_denied"
    REWARD_REDEEMED = "reward_redeemed"
    CLOSED = "closed"


class RepairEvent(BaseModel):
    """A status change reported by the repair app; ``event_id`` makes a retried webhook harmless."""

    event_id: str
    type: RepairEventType
    technician_id: str | None = None
    reason: str | None = None
    batch_id: str | None = None
    batch_size: int | None = None
    reward_name: str | None = None
    reward_points: int | None = None
    # HERALD_REPAIR_BATCH_WINDOW when the event was reported: its notices wait that long in
    # the recipient's batch, to go out with the others as one (None: each on its own).
    batch_window_seconds: int | None = None


class RepairNotice(BaseModel):
    """Who hears about an event, with which template and priority (the seed's table, as data)."""

    recipient: str  # customer | technician | previous_technician
    kind: str
    priority: str


class RepairPolicy(BaseModel):
    notices: dict[RepairEventType | str, list[RepairNotice]]
    unassigned_after: timedelta
    unassigned_every: timedelta
    managers_group: str


REPAIR_BATCH_WORKFLOW = "RepairBatchWorkflow"
REPAIR_BATCH_SIGNAL = "repair_notice"
QUEUE_REPAIR_NOTICE = "queue_repair_notice"
# Repair notices handed to the recipient's batch: a path new workflows take only when an
# event carries a batch window.
REPAIR_BATCHING_PATCH = "repair-batching"


def repair_batch_workflow_id(subscriber_id: str) -> str:
    """One batch per recipient at a time."""
    return f"repair-batch-{subscriber_id}"


class BatchedRepairNotice(BaseModel):
    """One repair notice, as its repair workflow would have sent it, for the recipient's
    batch; it waits ``window_seconds`` there for others."""

    request: DeliveryRequest
    window_seconds: int


class RepairBatchInput(BaseModel):
    subscriber_id: str
    # Continue-as-new: notices not sent yet, the keys already taken, batches sent so far.
    pending: list[DeliveryRequest] = []
    seen: list[str] = []
    batches: int = 0


class AppliedEvent(BaseModel):
    event_id: str
    type: RepairEventType
    outcome: str  # applied | duplicate | refused
    at: AwareDatetime
    detail: str | None = None


class RepairProgress(BaseModel):
    state: RepairState = RepairState.PENDING_APPROVAL
    technician_id: str | None = None
    approved_at: AwareDatetime | None = None
    unassigned_alerts: int = 0
    events: list[AppliedEvent] = []
    records: list[NotificationRecord] = []
    created_notified: bool = False


class RepairInput(BaseModel):
    repair_id: str
    title: str
    customer_id: str
    policy: RepairPolicy
    technician_id: str | None = None
    link: str | None = None
    progress: RepairProgress | None = None


class RepairStatus(BaseModel):
    repair_id: str
    title: str
    state: RepairState
    customer_id: str
    technician_id: str | None
    next_unassigned_alert_at: AwareDatetime | None
    events: list[AppliedEvent]
    notifications: list[NotificationRecord]


# ---------------------------------------------------------------- staff alerts and groups


class NotifyInput(BaseModel):
    """One notice, from an admin template, to people and whole groups."""

    request_id: str
    template: str
    user_ids: list[str] = []
    group_names: list[str] = []
    context: dict[str, Any] = {}
    priority: str = "medium"
    channels: list[Channel] | None = None
    link: str | None = None
    batch_size: int = 50
    tech_admins_group: str = "technical-admins"
    # When ``channels`` is None: a recipient's groups' channels, else these (the
    # deployment's), else the priority route. Failure alerts go by ``admin_channels``.
    group_channels: dict[str, list[Channel]] = {}
    default_channels: list[Channel] | None = None
    admin_channels: list[Channel] | None = None
    # Continue-as-new: where the recipient walk stands, and what was done so far.
    after: str | None = None
    batches_started: int = 0
    totals: dict[str, int] = {}
    # An ad-hoc notice (no template): its title and message, and the application's data.
    title: str | None = None
    message: str | None = None
    data: dict[str, Any] = {}
    # Sent at this instant rather than at once (a durable timer), cancellable until then.
    scheduled_for: AwareDatetime | None = None


class FailureAlertInput(BaseModel):
    """Something the technical admins must hear of (FailureAlertWorkflow): by default a
    delivery that failed for good (``idempotency_key`` is its row's); another ``kind`` (the
    SMS budget) carries its own ``data`` and a key of its own."""

    idempotency_key: str
    subject_id: str
    recipient_id: str
    tech_admins_group: str = "technical-admins"
    # The channels the technical admins chose (their group's, else the deployment's
    # HERALD_STAFF_CHANNELS); None: the urgent route.
    channels: list[Channel] | None = None
    kind: str = "system.delivery_failed"
    data: dict[str, Any] | None = None


class NotifyBatchInput(BaseModel):
    notify: NotifyInput
    recipients: list[str]
    # recipient -> the groups of the notice they are in (none: named directly)
    groups: dict[str, list[str]] = {}


class NotifyResult(BaseModel):
    request_id: str
    recipients: int
    batches: int
    # delivery status -> count of (person, channel) deliveries
    totals: dict[str, int]
    # A scheduled notice cancelled before it fired: nothing was sent.
    cancelled: bool = False


class NoticeCancelled(BaseModel):
    request_id: str
    scheduled_for: AwareDatetime | None


class RecipientsPageInput(BaseModel):
    user_ids: list[str] = []
    group_names: list[str] = []
    after: str | None = None
    limit: int = 1000


class RecipientsPage(BaseModel):
    ids: list[str]
    # None when this was the last page
    next_after: str | None
    # recipient -> the groups they came from (only those in a group)
    groups: dict[str, list[str]] = {}


RECIPIENTS_PAGE = "recipients_page"


class DeliveryRequests(BaseModel):
    """Many notifications planned in one activity (a batch of a staff fan-out)."""

    requests: list[DeliveryRequest]


class DeliveryPlans(BaseModel):
    plans: list[DeliveryPlan]


# ---------------------------------------------------------------- housekeeping

PURGE_OLD_RECORDS = "purge_old_records"


class PurgeInput(BaseModel):
    retention_days: int
    batch_size: int = 1000
    # Told when a run fails for good.
    tech_admins_group: str = "technical-admins"


class PurgeResult(BaseModel):
    deliveries: int
    inbox: int
    batches: int
    # Outbound webhook events the same run handed over late (see herald/outbound.py).
    webhooks_dispatched: int = 0
    # Follow-ups closed and lead assignments made that long ago (herald/crm_facts.py).
    crm_facts: int = 0


# ---------------------------------------------------------------- quiet hours and digests

HOLD_RULES = "hold_rules"
DROP_HELD = "drop_held"
# Mailboxes started before this check notices for lateness on release replay without it.
TOO_LATE_PATCH = "mailbox-drops-late-notices"
MAILBOX_WORKFLOW = "MailboxWorkflow"
# Signals of the mailbox workflow.
HOLD_SIGNAL = "hold"
RULES_CHANGED_SIGNAL = "rules_changed"


def mailbox_workflow_id(subscriber_id: str) -> str:
    return f"mailbox-{subscriber_id}"


class HeldNotice(BaseModel):
    """A notice handed to a person's mailbox instead of going out when it fell due."""

    request: DeliveryRequest
    priority: str
    hold: Hold
    held_at: AwareDatetime
    # The delivery-log rows left ``held``, settled when the notice goes out or is dropped.
    keys: list[str] = []
    # The rules the decision was taken with; the mailbox keeps the newest it has seen.
    rules: HoldRules

    @property
    def key(self) -> str:
        return f"{self.request.workflow_id}|{self.request.notification_id}"


class DroppedNotice(BaseModel):
    """A held notice the mailbox will not send: its delivery-log rows and why."""

    kind: str
    subscriber_id: str
    notification_id: str
    keys: list[str]
    reason: str


class DroppedNotices(BaseModel):
    notices: list[DroppedNotice]


class MailboxInput(BaseModel):
    subscriber_id: str
    rules: HoldRules | None = None
    # Carried across continue-as-new.
    waiting: list[HeldNotice] = []
    collected: list[HeldNotice] = []
    last_digest_at: AwareDatetime | None = None
    recent_keys: list[str] = []
    released: int = 0
    digests_sent: int = 0
    dropped: int = 0


class WaitingNotice(BaseModel):
    kind: str
    subject_type: str
    subject_id: str
    priority: str
    held_at: AwareDatetime


class MailboxStatus(BaseModel):
    subscriber_id: str
    rules: HoldRules | None
    # Waiting for the end of quiet hours.
    waiting: list[WaitingNotice]
    quiet_until: AwareDatetime | None
    # Collected for the next digest.
    collected: list[WaitingNotice]
    next_digest_at: AwareDatetime | None
    last_digest_at: AwareDatetime | None
    released: int
    digests_sent: int
    # Held notices not sent because their moment had passed.
    dropped: int = 0


# ---------------------------------------------------------------- CRM follow-ups


class FollowUpState(StrEnum):
    OPEN = "OPEN"
    OVERDUE = "OVERDUE"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class FollowUpProgress(BaseModel):
    state: FollowUpState = FollowUpState.OPEN
    due_at: AwareDatetime
    timezone: str
    assignee_id: str
    plan: list[PlannedPoint] = []
    done_keys: list[str] = []
    records: list[NotificationRecord] = []
    reschedules: int = 0
    reassignments: int = 0
    completed_at: AwareDatetime | None = None
    # Notices sent by hand so far (each gets its own key: ``KIND@manual-N``).
    manual_sends: int = 0


class FollowUpInput(BaseModel):
    followup_id: str
    title: str
    assignee_id: str
    due_at: AwareDatetime
    timezone: str
    policy: LoanPolicy
    created_at: AwareDatetime
    customer: str | None = None
    lead_id: str | None = None
    # The salesperson's managers; when empty, the members of ``managers_group``.
    manager_ids: list[str] = []
    managers_group: str = "sales-managers"
    link: str | None = None
    progress: FollowUpProgress | None = None
    next_reminder_attribute: bool = True


class RescheduleInput(BaseModel):
    due_at: AwareDatetime
    timezone: str | None = None


class ReassignInput(BaseModel):
    assignee_id: str


class CompleteInput(BaseModel):
    completed_at: AwareDatetime | None = None


class FollowUpStatus(BaseModel):
    followup_id: str
    title: str
    state: FollowUpState
    assignee_id: str
    due_at: AwareDatetime
    timezone: str
    customer: str | None
    lead_id: str | None
    next_reminder: NextReminder | None
    reschedules: int
    reassignments: int
    completed_at: AwareDatetime | None
    notifications: list[NotificationRecord]


# ---------------------------------------------------------------- CRM lead and user events


class CrmSubject(StrEnum):
    LEAD = "lead"
    USER = "user"


class CrmEventInput(BaseModel):
    """One lead or user-account event reported by the CRM; ``event_id`` makes a retried
    webhook harmless (one workflow per event)."""

    event_id: str
    subject_type: CrmSubject
    subject_id: str
    type: str
    occurred_at: AwareDatetime
    # Lead: name, company, value, stage, previous_stage, fulfilment, assignee_id,
    # previous_assignee_id, changed_by_id, link. User: role, previous_role, changed_by_id, link.
    data: dict[str, Any] = {}
    manager_ids: list[str] = []
    managers_group: str = "sales-managers"


class CrmEventResult(BaseModel):
    event_id: str
    notifications: list[NotificationRecord]


# ---------------------------------------------------------------- outbound webhooks

WEBHOOK_WORKFLOW = "WebhookDeliveryWorkflow"
WEBHOOK_TARGETS = "webhook_targets"
SEND_WEBHOOK = "send_webhook"
DISPATCH_PENDING_WEBHOOKS = "dispatch_pending_webhooks"
# Housekeeping runs recorded before the sweep replay without it.
WEBHOOK_SWEEP_PATCH = "housekeeping-webhook-sweep"
# The send_webhook failures no retry can fix: the endpoint was disabled or removed.
WEBHOOK_STOPPED_ERROR = "WebhookEndpointStopped"
WEBHOOK_FAILED_ERROR = "WebhookEndpointFailed"


def webhook_workflow_id(event_id: str) -> str:
    return f"webhook-{event_id}"


class WebhookDeliveryInput(BaseModel):
    """One event for every endpoint subscribed to its type when the workflow runs."""

    event_id: str
    # How long each endpoint's POST is retried (schedule-to-close), and one POST's timeout.
    retry_for: timedelta
    timeout: float


class WebhookDeliveryResult(BaseModel):
    event_id: str
    # Endpoint id → "delivered", or why not ("stopped: …", "gave up: …").
    outcomes: dict[str, str] = {}


class WebhookSweepResult(BaseModel):
    dispatched: int

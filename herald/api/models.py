"""Request bodies and the few response shapes the Python client has no type for.

Bodies check only their shape (types, offsets on instants, unknown fields); every limit
and rule is Herald's own, so a value the client refuses is refused here with its words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

DUE = "2026-12-04T18:00:00+01:00"


def _iso_text(value: object) -> object:
    """Instants come as ISO 8601 text: a bare number would carry no offset."""
    if isinstance(value, str | datetime):
        return value
    raise ValueError("use an ISO 8601 date-time with an offset, e.g. 2026-12-04T18:00:00+01:00")


# An instant in a body: ISO 8601 text with an offset (``+01:00`` or ``Z``); naive is refused.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


# ---------------------------------------------------------------- directory


class SubscriberBody(Body):
    """Fields left out keep their value; ``null`` or ``""`` clears one."""

    model_config = _examples(
        {
            "name": "Camille Martin",
            "email": "camille@example.org",
            "phone": "+33612345678",
            "locale": "fr",
            "timezone": "Europe/Paris",
        }
    )

    name: str | None = Field(default=None, description="Display name", examples=["Camille Martin"])
    email: str | None = Field(
        default=None, description="E-mail address", examples=["camille@example.org"]
    )
    phone: str | None = Field(
        default=None, description="Phone for SMS, normalised to E.164", examples=["06 12 34 56 78"]
    )
    whatsapp: str | None = Field(
        default=None, description="WhatsApp number", examples=["+33612345678"]
    )
    locale: str | None = Field(default=None, description="fr or en", examples=["fr"])
    timezone: str | None = Field(
        default=None, description="IANA time zone", examples=["Europe/Paris"]
    )


# The fields of a preferences change, in the order the service layer takes them.
PREFERENCE_FIELDS = (
    "email",
    "sms",
    "whatsapp",
    "in_app",
    "reminders",
    "categories",
    "quiet_hours",
    "digest",
    "digest_at",
    "digest_weekday",
)


class PreferencesBody(Body):
    """Only the fields given change; the others keep their value."""

    model_config = _examples(
        {"sms": True, "reminders": {"loan.reminder_j2": False}, "quiet_hours": "21:00-07:30"},
        {"digest": "daily", "digest_at": "18:00", "categories": {"leads": False}},
    )

    email: bool | None = Field(default=None, description="E-mail on or off", examples=[True])
    sms: bool | None = Field(default=None, description="SMS on or off", examples=[False])
    whatsapp: bool | None = Field(default=None, description="WhatsApp on or off", examples=[False])
    in_app: bool | None = Field(default=None, description="In-app inbox on or off", examples=[True])
    reminders: dict[str, bool] | None = Field(
        default=None,
        description="Optional notification kinds switched on or off",
        examples=[{"loan.reminder_j2": False}],
    )
    categories: dict[str, bool | list[str]] | None = Field(
        default=None,
        description="Categories switched on or off, or limited to some channels",
        examples=[{"leads": ["in_app"], "repairs": False}],
    )
    quiet_hours: str | None = Field(
        default=None,
        description='Local quiet hours "HH:MM-HH:MM", or null / "off" for none',
        examples=["21:00-07:30"],
    )
    digest: str | None = Field(default=None, description="off, daily or weekly", examples=["daily"])
    digest_at: str | None = Field(
        default=None, description="Local digest time HH:MM", examples=["18:00"]
    )
    digest_weekday: str | int | None = Field(
        default=None, description="Weekly digest day (name, or 0 = Monday)", examples=["friday"]
    )


class MarkReadBody(Body):
    model_config = _examples({"notification_ids": [12, 13]}, {"notification_ids": None})

    notification_ids: list[int] | None = Field(
        default=None,
        description="The notifications to mark read; null marks them all",
        examples=[[12]],
    )


# ---------------------------------------------------------------- loans


class StartLoanBody(Body):
    model_config = _examples(
        {
            "loan_id": "L-1001",
            "borrower_id": "u42",
            "item": "Perceuse Bosch",
            "due_at": DUE,
            "manager_id": "boss",
        }
    )

    loan_id: str = Field(description="The application's loan id", examples=["L-1001"])
    borrower_id: str = Field(description="A registered subscriber", examples=["u42"])
    item: str = Field(description="What was lent", examples=["Perceuse Bosch"])
    due_at: Instant = Field(description="Due time, with an offset", examples=[DUE])
    borrowed_at: Instant | None = Field(
        default=None, description="When lent (default: now)", examples=["2026-12-01T10:00:00+01:00"]
    )
    manager_id: str | None = Field(
        default=None, description="Copied on overdue alerts from the second one", examples=["boss"]
    )


class ReturnLoanBody(Body):
    model_config = _examples({}, {"returned_at": "2026-12-05T10:00:00+01:00", "wait": False})

    returned_at: Instant | None = Field(
        default=None,
        description="When returned (default: now)",
        examples=["2026-12-05T10:00:00+01:00"],
    )
    wait: bool = Field(
        default=True,
        description="Wait for the worker and answer the final status; false records the "
        "return at once (202)",
        examples=[True],
    )


class NotifyLoanBody(Body):
    model_config = _examples({"kind": "loan.reminder_j1", "manager": False})

    kind: str = Field(description="The loan notice to send now, e.g. loan.reminder_j1")
    manager: bool = Field(default=False, description="Copy the loan's manager too")


class NotifyFollowUpBody(Body):
    model_config = _examples({"kind": "followup.overdue", "manager": False})

    kind: str = Field(
        description="The follow-up notice to send now: followup.due_tomorrow or followup.overdue"
    )
    manager: bool = Field(default=False, description="Copy the managers too")


class ExtendBody(Body):
    model_config = _examples({"due_at": "2026-12-08T18:00:00+01:00"})

    due_at: Instant = Field(
        description="The new due time, later and in the future",
        examples=["2026-12-08T18:00:00+01:00"],
    )


# ---------------------------------------------------------------- repairs


class StartRepairBody(Body):
    model_config = _examples(
        {
            "repair_id": "R-77",
            "title": "Écran fissuré",
            "customer_id": "u42",
            "technician_id": "tech1",
            "link": "https://repairs.example.org/R-77",
        }
    )

    repair_id: str = Field(description="The application's repair id", examples=["R-77"])
    title: str = Field(description="What is repaired", examples=["Écran fissuré"])
    customer_id: str = Field(description="A registered subscriber", examples=["u42"])
    technician_id: str | None = Field(
        default=None, description="Assigned technician", examples=["tech1"]
    )
    link: str | None = Field(
        default=None,
        description="http(s) link shown in messages",
        examples=["https://repairs.example.org/R-77"],
    )


class RepairEventBody(Body):
    model_config = _examples(
        {"type": "approved", "event_id": "evt-1"},
        {"type": "assigned", "technician_id": "tech1", "event_id": "evt-2"},
    )

    type: str = Field(
        description="approved, denied, assigned, reassigned, in_progress, …", examples=["approved"]
    )
    event_id: str | None = Field(
        default=None,
        description="The application's id for the event: a retry is harmless",
        examples=["evt-1"],
    )
    technician_id: str | None = Field(
        default=None, description="For assigned/reassigned", examples=["tech1"]
    )
    reason: str | None = Field(
        default=None, description="Free text (denials…)", examples=["Out of warranty"]
    )
    batch_id: str | None = Field(
        default=None, description="Batch the repair belongs to", examples=["B-3"]
    )
    batch_size: int | None = Field(default=None, description="Devices in the batch", examples=[12])
    reward_name: str | None = Field(
        default=None, description="Reward granted", examples=["Gold badge"]
    )
    reward_points: int | None = Field(default=None, description="Reward points", examples=[50])
    wait: bool = Field(
        default=True,
        description="Wait for the workflow's verdict; false sends a signal (202)",
        examples=[True],
    )


# ---------------------------------------------------------------- follow-ups


class StartFollowUpBody(Body):
    model_config = _examples(
        {
            "followup_id": "F-9",
            "title": "Call back about the quote",
            "assignee_id": "ana",
            "due_at": DUE,
            "customer": "ACME",
        }
    )

    followup_id: str = Field(description="The CRM's follow-up id", examples=["F-9"])
    title: str = Field(description="What to do", examples=["Call back about the quote"])
    assignee_id: str = Field(description="A registered subscriber", examples=["ana"])
    due_at: Instant = Field(description="Due time, with an offset", examples=[DUE])
    customer: str | None = Field(default=None, description="Customer name", examples=["ACME"])
    lead_id: str | None = Field(default=None, description="Related lead", examples=["lead-5"])
    manager_ids: list[str] | None = Field(
        default=None,
        description="Managers copied on overdue alerts (default: the managers group)",
        examples=[["boss"]],
    )
    link: str | None = Field(
        default=None, description="http(s) link", examples=["https://crm.example.org/F-9"]
    )


class CompleteBody(Body):
    model_config = _examples({}, {"completed_at": "2026-12-04T11:00:00+01:00", "wait": False})

    completed_at: Instant | None = Field(
        default=None, description="When done (default: now)", examples=["2026-12-04T11:00:00+01:00"]
    )
    wait: bool = Field(
        default=True, description="Wait for the final status; false answers 202", examples=[True]
    )


class RescheduleBody(Body):
    model_config = _examples({"due_at": "2026-12-10T18:00:00+01:00"})

    due_at: Instant = Field(
        description="The new due time, in the future", examples=["2026-12-10T18:00:00+01:00"]
    )


class ReassignBody(Body):
    model_config = _examples({"assignee_id": "ben"})

    assignee_id: str = Field(description="The new assignee", examples=["ben"])


# ---------------------------------------------------------------- CRM events


class LeadEventBody(Body):
    model_config = _examples(
        {
            "type": "created",
            "event_id": "crm-881",
            "name": "Big deal",
            "company": "ACME",
            "assignee_id": "ana",
        },
        {
            "type": "stage_changed",
            "stage": "won",
            "previous_stage": "proposal",
            "event_id": "crm-882",
        },
    )

    type: str = Field(
        description="created, stage_changed, assigned or fulfilment_changed", examples=["created"]
    )
    event_id: str | None = Field(
        default=None,
        description="The CRM's event id: the same id twice sends once",
        examples=["crm-881"],
    )
    name: str | None = Field(default=None, description="Lead name", examples=["Big deal"])
    company: str | None = Field(default=None, description="Company", examples=["ACME"])
    value: str | None = Field(default=None, description="Value as shown", examples=["12 500 €"])
    stage: str | None = Field(default=None, description="New stage", examples=["won"])
    previous_stage: str | None = Field(
        default=None, description="Previous stage", examples=["proposal"]
    )
    fulfilment: str | None = Field(
        default=None, description="Fulfilment state", examples=["shipped"]
    )
    assignee_id: str | None = Field(default=None, description="Assignee", examples=["ana"])
    previous_assignee_id: str | None = Field(
        default=None, description="Previous assignee", examples=["ben"]
    )
    changed_by_id: str | None = Field(
        default=None, description="Who made the change", examples=["boss"]
    )
    manager_ids: list[str] | None = Field(
        default=None, description="Managers to tell", examples=[["boss"]]
    )
    link: str | None = Field(
        default=None, description="http(s) link", examples=["https://crm.example.org/leads/5"]
    )
    occurred_at: Instant | None = Field(
        default=None,
        description="When it happened (default: now)",
        examples=["2026-12-02T09:00:00+01:00"],
    )
    wait: bool = Field(
        default=False, description="Wait until every notice is sent", examples=[False]
    )


class UserEventBody(Body):
    model_config = _examples(
        {"type": "welcome", "event_id": "acct-1"},
        {
            "type": "role_changed",
            "role": "admin",
            "previous_role": "member",
            "changed_by_id": "boss",
        },
    )

    type: str = Field(
        description="welcome, role_changed, activated or deactivated", examples=["welcome"]
    )
    event_id: str | None = Field(
        default=None, description="The application's event id", examples=["acct-1"]
    )
    role: str | None = Field(default=None, description="New role", examples=["admin"])
    previous_role: str | None = Field(
        default=None, description="Previous role", examples=["member"]
    )
    changed_by_id: str | None = Field(
        default=None, description="Who made the change", examples=["boss"]
    )
    link: str | None = Field(
        default=None, description="http(s) link", examples=["https://app.example.org/me"]
    )
    occurred_at: Instant | None = Field(
        default=None,
        description="When it happened (default: now)",
        examples=["2026-12-02T09:00:00+01:00"],
    )
    wait: bool = Field(
        default=False, description="Wait until every notice is sent", examples=[False]
    )


# ---------------------------------------------------------------- staff alerts, groups, templates


class NotifyBody(Body):
    model_config = _examples(
        {
            "template": "maintenance",
            "group_names": ["technicians"],
            "user_ids": ["boss"],
            "context": {"window": "22:00-23:00"},
            "priority": "high",
            "request_id": "maint-2026-12-02",
        }
    )

    template: str = Field(description="An admin template's name", examples=["maintenance"])
    user_ids: list[str] | None = Field(
        default=None, description="People to notify", examples=[["boss"]]
    )
    group_names: list[str] | None = Field(
        default=None, description="Groups to notify", examples=[["technicians"]]
    )
    context: dict[str, Any] | None = Field(
        default=None,
        description="JSON object for the template",
        examples=[{"window": "22:00-23:00"}],
    )
    priority: str = Field(
        default="medium", description="urgent, high, medium or low", examples=["high"]
    )
    channels: list[str] | None = Field(
        default=None, description="Restrict to these channels", examples=[["email", "in_app"]]
    )
    link: str | None = Field(
        default=None, description="http(s) link", examples=["https://status.example.org"]
    )
    request_id: str | None = Field(
        default=None,
        description="The alert's id: the same id twice sends once",
        examples=["maint-2026-12-02"],
    )
    wait: bool = Field(
        default=False, description="Wait for every delivery and answer the totals", examples=[False]
    )
    event: str | None = Field(
        default=None,
        description="Instead of group_names: the groups HERALD_EVENT_GROUPS names for it",
        examples=["invoice.processed"],
    )


class GroupBody(Body):
    model_config = _examples(
        {"name": "technicians", "description": "Workshop staff", "display_name": "Technicians"}
    )

    name: str = Field(description="Group name", examples=["technicians"])
    description: str | None = Field(
        default=None, description="What the group is", examples=["Workshop staff"]
    )
    display_name: str | None = Field(
        default=None, description="The name people read", examples=["Technicians"]
    )


class MembersBody(Body):
    model_config = _examples({"subscriber_ids": ["tech1", "tech2"]})

    subscriber_ids: list[str] = Field(
        description="Registered subscribers", examples=[["tech1", "tech2"]]
    )


class TemplateBody(Body):
    model_config = _examples(
        {
            "subject": "Maintenance tonight",
            "body": "Hello {{ recipient.name }}, maintenance {{ window }}.",
            "short": "Maintenance {{ window }}",
        }
    )

    subject: str = Field(description="Subject line (Jinja2)", examples=["Maintenance tonight"])
    body: str = Field(
        description="Body (Jinja2)",
        examples=["Hello {{ recipient.name }}, maintenance {{ window }}."],
    )
    short: str | None = Field(
        default=None,
        description="SMS/WhatsApp text (Jinja2)",
        examples=["Maintenance {{ window }}"],
    )


class PreviewBody(Body):
    model_config = _examples({"locale": "en", "context": {"window": "22:00-23:00"}})

    locale: str = Field(default="fr", description="fr or en", examples=["en"])
    context: dict[str, Any] | None = Field(
        default=None,
        description="JSON object for the template",
        examples=[{"window": "22:00-23:00"}],
    )


# ---------------------------------------------------------------- responses


class StartedOut(BaseModel):
    id: str = Field(description="The business id", examples=["L-1001"])
    workflow_id: str = Field(examples=["loan-L-1001"])
    run_id: str | None = Field(default=None, examples=["4b1c…"])
    created: bool = Field(
        description="False when it was already running (or the event already received): "
        "nothing was started again",
        examples=[True],
    )


class Recorded(BaseModel):
    id: str = Field(description="The business id", examples=["L-1001"])
    recorded: bool = Field(default=True, description="Recorded without waiting for a worker")


class UnreadCount(BaseModel):
    subscriber_id: str
    unread: int


class MarkedRead(BaseModel):
    subscriber_id: str
    marked_read: int


class InboxItem(BaseModel):
    id: int
    subscriber_id: str
    kind: str
    title: str
    body: str
    priority: str
    link: str | None
    created_at: str = Field(description="ISO 8601")
    read: bool
    read_at: str | None = Field(description="ISO 8601")
    category: str | None = Field(default=None, description="The kind's category, if any")
    archived: bool = False
    archived_at: str | None = Field(default=None, description="ISO 8601")


class GroupCreated(BaseModel):
    name: str
    created: bool


class GroupMembers(BaseModel):
    group: str
    members: list[str]


class MembersChanged(BaseModel):
    group: str
    changed: int = Field(description="How many were added or removed")


class TemplateSaved(BaseModel):
    name: str
    locale: str
    created: bool


class NotifyOut(BaseModel):
    request_id: str
    workflow_id: str
    result: dict[str, Any] | None = Field(
        default=None, description="The totals (NotifyResult) when waited for"
    )


class DeliveryRow(BaseModel):
    """A delivery log row, as ``herald deliveries --json`` prints it."""

    model_config = ConfigDict(extra="allow")

    id: int
    subject_type: str
    subject_id: str
    kind: str
    role: str
    channel: str
    subscriber_id: str
    status: str
    attempts: int
    scheduled_at: str | None
    sent_at: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: the end")


class ApiKeyOut(BaseModel):
    name: str
    scope: Literal["app", "ops"]
    prefix: str = Field(description="The key's public start, to tell keys apart")
    created_at: AwareDatetime
    revoked_at: AwareDatetime | None
    last_used_at: AwareDatetime | None


class WebhookBody(Body):
    model_config = _examples(
        {
            "url": "https://app.example.org/hooks/herald",
            "events": ["delivery.sent", "loan.overdue"],
            "description": "The shop's back office",
        }
    )

    url: str = Field(
        description="http(s) URL, no user name or password in it",
        examples=["https://app.example.org/hooks/herald"],
    )
    events: list[str] = Field(
        description="Event types (delivery.sent, loan.overdue, ...) or * for all",
        examples=[["delivery.sent", "loan.overdue"]],
    )
    description: str | None = Field(
        default=None, description="What the endpoint is", examples=["The shop's back office"]
    )


class WebhookOut(BaseModel):
    """An endpoint, never with its secret."""

    id: str = Field(examples=["ep_7k2m4q6s8u2w4y6a8c2e4g6i"])
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    consecutive_failures: int
    disabled_at: str | None
    disabled_reason: str | None
    created_at: str | None
    updated_at: str | None


class WebhookWithSecret(WebhookOut):
    """An endpoint just created or given a new secret: the only time the secret is shown."""

    secret: str = Field(
        description="whsec_...: verify each request's webhook-signature with it",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookAttemptOut(BaseModel):
    id: int
    event_id: str
    endpoint_id: str
    attempt: int
    at: str
    status_code: int | None
    succeeded: bool
    error: str | None
    duration_ms: int | None


class WebhookTestOut(BaseModel):
    event_id: str
    workflow_id: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["https://herald.dev/problems/not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no loan 'L-1001'"])
    field: str | None = Field(default=None, examples=["due_at"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(
        description="Each part and its state: ok, or why not",
        examples=[{"temporal": "ok", "database": "ok"}],
    )

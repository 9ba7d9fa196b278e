"""The catalogue of notification kinds: what each one is, its colour, and whether it can be muted."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    IN_APP = "in_app"


# Channels that reach a person outside the application, in the order a mandatory notice
# falls back on when the person's toggles would silence it.
CHANNEL_ORDER: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)

# Every channel, in the order they are planned and logged.
ALL_CHANNELS: tuple[Channel, ...] = (*CHANNEL_ORDER, Channel.IN_APP)

# Hard limits of the channels: longer messages are refused, never cut.
MAX_LENGTH: dict[Channel, int] = {Channel.SMS: 1600, Channel.WHATSAPP: 4096}


class TooLate(StrEnum):
    """When a held notice (quiet hours, digest) has lost its point and is dropped."""

    # Confirmations, thank-yous, events: worth telling whenever they arrive.
    NEVER = "never"
    # Reminders of a deadline: worthless once the deadline they announce has passed.
    AFTER_DEADLINE = "after_deadline"
    # Repeated alerts: worthless once a later alert of the same subject is at hand.
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Kind:
    name: str
    color: str
    # Mandatory notices reach at least one channel the person has, whatever their toggles.
    mandatory: bool
    description: str
    # urgent, high, medium or low: shown by the in-app inbox.
    priority: str = "medium"
    too_late: TooLate = TooLate.NEVER
    # False: never collected for a digest, even of medium or low priority (a confirmation
    # is expected on the day); it still waits out quiet hours.
    digestible: bool = True

    @property
    def category(self) -> str | None:
        """The preference category a person can opt out of (``None``: cannot be)."""
        return CATEGORY_OF_PREFIX.get(self.name.split(".", 1)[0])


# Categories a person may opt out of as a whole, and the kinds they cover.
CATEGORIES: tuple[str, ...] = ("loans", "repairs", "leads", "followups", "account", "system")
CATEGORY_OF_PREFIX: dict[str, str] = {
    "loan": "loans",
    "repair": "repairs",
    "lead": "leads",
    "followup": "followups",
    "user": "account",
    "staff": "system",
    "system": "system",
}

# Urgent ignores quiet hours and digests; high ignores digests; these wait for the digest
# of a person who chose one.
DIGESTIBLE_PRIORITIES = frozenset({"medium", "low"})


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "loan.created",
            "#1d4ed8",
            True,
            "confirmation when the loan is created",
            "medium",
            digestible=False,
        ),
        Kind(
            "loan.reminder_2h",
            "#ea580c",
            False,
            "two hours before the due time",
            "high",
            too_late=TooLate.AFTER_DEADLINE,
        ),
        Kind(
            "loan.reminder_j2",
            "#2563eb",
            False,
            "08:00 local, two days before",
            "medium",
            too_late=TooLate.AFTER_DEADLINE,
        ),
        Kind(
            "loan.reminder_j1",
            "#f97316",
            False,
            "08:00 local, the day before",
            "high",
            too_late=TooLate.AFTER_DEADLINE,
        ),
        Kind(
            "loan.due_today",
            "#dc2626",
            False,
            "08:00 local, on the due day",
            "high",
            too_late=TooLate.AFTER_DEADLINE,
        ),
        Kind(
            "loan.overdue",
            "#7f1d1d",
            True,
            "after the due time, repeated",
            "urgent",
            too_late=TooLate.SUPERSEDED,
        ),
        Kind(
            "loan.returned",
            "#16a34a",
            True,
            "thank-you when the material is back",
            "low",
            digestible=False,
        ),
        # Repairs: the priority comes from the repair event table, per notice.
        Kind("repair.created", "#2563eb", False, "request received, pending approval"),
        Kind("repair.approved", "#16a34a", False, "repair approved"),
        Kind("repair.denied", "#b91c1c", False, "repair denied"),
        Kind("repair.assigned", "#7c3aed", False, "repair assigned to a technician"),
        Kind("repair.reassigned_away", "#64748b", False, "repair given to another technician"),
        Kind("repair.in_progress", "#0891b2", False, "work started"),
        Kind("repair.completed", "#16a34a", False, "repair completed"),
        Kind("repair.batch_approved", "#16a34a", False, "a batch of repairs approved"),
        Kind("repair.batch_denied", "#b91c1c", False, "a batch of repairs denied"),
        Kind("repair.batch", "#2563eb", False, "several repairs' notices at once, listed"),
        Kind("repair.reward_redeemed", "#d97706", False, "a technician's reward redeemed"),
        Kind(
            "repair.unassigned",
            "#ea580c",
            False,
            "approved repair still without technician",
            too_late=TooLate.SUPERSEDED,
        ),
        # Staff alerts written by admins, and the alert about a notice that could not go out.
        Kind("staff.notice", "#1f3a5f", False, "staff alert from an admin template"),
        Kind("system.delivery_failed", "#7f1d1d", False, "a notice failed for good", "high"),
        Kind(
            "system.window_closing",
            "#15803d",
            False,
            "a staff member's WhatsApp window closes soon",
            "high",
        ),
        Kind("system.sms_budget", "#b45309", False, "the month's SMS budget near or spent", "high"),
        Kind(
            "system.housekeeping_failed",
            "#7f1d1d",
            False,
            "the daily housekeeping failed for good",
            "high",
        ),
        # CRM follow-ups: a deadline, like a loan.
        Kind(
            "followup.due_tomorrow",
            "#2563eb",
            False,
            "08:00 local, the day before",
            "high",
            too_late=TooLate.AFTER_DEADLINE,
        ),
        Kind(
            "followup.overdue",
            "#b91c1c",
            False,
            "after the due time, managers copied",
            "urgent",
            too_late=TooLate.SUPERSEDED,
        ),
        # CRM leads and user accounts: one notice per event.
        Kind("lead.created", "#0f766e", False, "a new lead", "high"),
        Kind("lead.stage_changed", "#7c3aed", False, "a lead won, lost or invoiced", "medium"),
        Kind("lead.assigned", "#0f766e", False, "a lead assigned to you", "high"),
        Kind("lead.reassigned_away", "#64748b", False, "a lead given to someone else", "low"),
        Kind("lead.fulfilment_changed", "#0891b2", False, "a lead's fulfilment status", "medium"),
        Kind("user.welcome", "#1d4ed8", False, "welcome to a new account", "medium"),
        Kind("user.role_changed", "#7c3aed", False, "your role changed", "medium"),
        Kind("user.activated", "#16a34a", False, "your account is active", "medium"),
        Kind("user.deactivated", "#b91c1c", False, "your account is deactivated", "high"),
        # The personal daily summary a salesperson chose (herald/daily_summary.py): never
        # collected for a digest, switched on and off on its own (herald summary).
        Kind(
            "crm.daily_summary",
            "#0f766e",
            False,
            "your follow-ups and new leads, at your hour",
            "medium",
            digestible=False,
        ),
        # What a person in digest mode receives instead of their medium and low notices.
        Kind("digest.daily", "#1f3a5f", False, "the day's notices in one message", "medium"),
        Kind("digest.weekly", "#1f3a5f", False, "the week's notices in one message", "medium"),
    )
}

# Reminders that only make sense while their subject is open and unchanged: one held for
# quiet hours is dropped if the loan or follow-up was closed, moved or reassigned meanwhile.
STALE_WHEN_CLOSED = frozenset(
    {
        "loan.reminder_2h",
        "loan.reminder_j2",
        "loan.reminder_j1",
        "loan.due_today",
        "loan.overdue",
        "followup.due_tomorrow",
        "followup.overdue",
        "repair.unassigned",
    }
)

# Kinds a subscriber may switch off one by one (``herald prefs set --reminder KIND=off``).
OPTIONAL_KINDS: tuple[str, ...] = tuple(
    k.name
    for k in KINDS.values()
    if not k.mandatory and not k.name.startswith(("system.", "digest.", "crm."))
)


def expires_at_due(name: str) -> bool:
    """Whether a notice of this kind loses its point at its subject's due time."""
    kind = KINDS.get(name)
    return kind is not None and kind.too_late is TooLate.AFTER_DEADLINE


def kind_info(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown notification kind {name!r}") from None


# The CRM's lead and user-account events (the rules for each live in ``herald.crm``).
LEAD_EVENTS = ("created", "stage_changed", "assigned", "fulfilment_changed")
USER_EVENTS = ("welcome", "role_changed", "activated", "deactivated")

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


@dataclass(frozen=True)
class Kind:
    name: str
    color: str
    # Mandatory notices reach at least one channel the person has, whatever their toggles.
    mandatory: bool
    description: str
    # urgent, high, medium or low: shown by the in-app inbox.
    priority: str = "medium"


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("loan.created", "#1d4ed8", True, "confirmation when the loan is created", "medium"),
        Kind("loan.reminder_2h", "#ea580c", False, "two hours before the due time", "high"),
        Kind("loan.reminder_j2", "#2563eb", False, "08:00 local, two days before", "medium"),
        Kind("loan.reminder_j1", "#f97316", False, "08:00 local, the day before", "high"),
        Kind("loan.due_today", "#dc2626", False, "08:00 local, on the due day", "high"),
        Kind("loan.overdue", "#7f1d1d", True, "after the due time, repeated", "urgent"),
        Kind("loan.returned", "#16a34a", True, "thank-you when the material is back", "low"),
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
        Kind("repair.reward_redeemed", "#d97706", False, "a technician's reward redeemed"),
        Kind("repair.unassigned", "#ea580c", False, "approved repair still without technician"),
        # Staff alerts written by admins, and the alert about a notice that could not go out.
        Kind("staff.notice", "#1f3a5f", False, "staff alert from an admin template"),
        Kind("system.delivery_failed", "#7f1d1d", False, "a notice failed for good", "high"),
    )
}

# Kinds a subscriber may switch off one by one (``herald prefs set --reminder KIND=off``).
OPTIONAL_KINDS: tuple[str, ...] = tuple(
    k.name for k in KINDS.values() if not k.mandatory and not k.name.startswith("system.")
)


def kind_info(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown notification kind {name!r}") from None

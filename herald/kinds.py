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
    )
}

# Kinds a subscriber may switch off one by one (``herald prefs set --reminder KIND=off``).
OPTIONAL_KINDS: tuple[str, ...] = tuple(k.name for k in KINDS.values() if not k.mandatory)


def kind_info(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown notification kind {name!r}") from None

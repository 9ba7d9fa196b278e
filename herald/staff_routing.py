"""Which channels a staff alert goes by: the precedence of
:mod:`herald.service.staff_channels`, resolved when the alert is started (and, for the
technical admins, when a delivery fails for good)."""

from __future__ import annotations

from typing import Any

from herald import staff_channels_store as meta_store
from herald.errors import InvalidInput
from herald.kinds import Channel
from herald.settings import Settings
from herald.store import Store
from herald.validation import show


def check_channels(value: object, what: str = "channels") -> list[Channel] | None:
    """``["whatsapp", "in_app"]`` or ``"whatsapp,in_app"``; empty or None: no choice."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidInput(f"{what} must be a list of channels")
    chosen: list[Channel] = []
    for item in items:
        name = item.strip().lower() if isinstance(item, str) else item
        try:
            channel = Channel(name)
        except ValueError:
            raise InvalidInput(
                f"{what}: unknown channel {show(item, 40)}: use email, sms, whatsapp or in_app"
            ) from None
        if channel not in chosen:
            chosen.append(channel)
    return chosen or None


def staff_routing(
    store: Store, settings: Settings, template: str, groups: list[str], wanted: list[Channel] | None
) -> dict[str, Any]:
    """The channel fields of an alert's :class:`~herald.contracts.NotifyInput`."""
    own = wanted or [Channel(c) for c in meta_store.template_channels(store, template) or []]
    chosen = meta_store.group_channels(store, groups)
    return {
        "channels": own or None,
        "group_channels": {g: [Channel(c) for c in chosen[g]] for g in groups if g in chosen},
        "default_channels": list(settings.staff_channels) if settings.staff_channels else None,
        "admin_channels": admin_channels(store, settings),
    }


def admin_channels(store: Store, settings: Settings) -> list[Channel] | None:
    """The technical admins' channels for a failure alert: their group's, else the
    deployment's; None: the urgent route."""
    chosen = meta_store.group_channels(store, [settings.tech_admins_group])
    if chosen:
        return [Channel(c) for c in chosen[settings.tech_admins_group]]
    return list(settings.staff_channels) if settings.staff_channels else None

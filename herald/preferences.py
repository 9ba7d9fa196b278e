"""Which channels a notification goes to: pure, evaluated at send time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from herald.kinds import ALL_CHANNELS, CHANNEL_ORDER, Channel, Kind
from herald.store import Contact, PreferenceSet

NO_ADDRESS = {
    Channel.EMAIL: "no e-mail address",
    Channel.SMS: "no phone number",
    Channel.WHATSAPP: "no WhatsApp number",
    Channel.IN_APP: "no inbox",
}


@dataclass(frozen=True)
class ChannelChoice:
    channel: Channel
    send: bool
    address: str | None
    reason: str | None = None
    # Not used because the address is on the suppression list (logged ``suppressed``).
    suppressed: bool = False


@dataclass(frozen=True)
class Route:
    """The channels a priority uses (from the routing table in settings)."""

    priority: str
    channels: tuple[Channel, ...]


def choose_channels(
    kind: Kind,
    contact: Contact,
    prefs: PreferenceSet,
    configured: frozenset[Channel] | set[Channel],
    route: Route | None = None,
    *,
    own_obligation: bool = False,
    suppressed: Mapping[Channel, str] | None = None,
    unavailable: Mapping[Channel, str] | None = None,
) -> list[ChannelChoice]:
    """One choice per channel, with the reason for each channel not used.

    ``suppressed``: the person's channels whose address is on the suppression list, with
    the reason; they are never used, and a protected notice falls back past them.
    ``unavailable``: channels the deployment will not use for this notice now (the SMS
    budget spent), with the reason; skipped, and fallen back past, the same way.

    A mandatory notice (confirmation, overdue, return), or an urgent one about the person's
    own obligation (their overdue follow-up), that the person's toggles or category opt-outs
    would silence still goes to the first channel that reaches them outside the application
    (e-mail, SMS, WhatsApp): the in-app inbox alone does not count, it may never be opened.
    """
    priority = route.priority if route is not None else kind.priority
    protected = kind.mandatory or (own_obligation and priority == "urgent")
    kind_muted = not kind.mandatory and not prefs.kind_enabled(kind.name)
    category_muted = not protected and not prefs.category_enabled(kind.category)
    only = None if protected else prefs.category_channels(kind.category)
    # A routed notification uses its route's channels unless the person switched one off.
    default = True if route is not None else None
    suppressed = suppressed or {}
    unavailable = unavailable or {}
    choices: list[ChannelChoice] = []
    for channel in ALL_CHANNELS:
        address = contact.address(channel)
        if channel in suppressed and address:
            choices.append(ChannelChoice(channel, False, address, suppressed[channel], True))
            continue
        reason: str | None
        if route is not None and channel not in route.channels:
            reason = f"not used for {route.priority} priority"
        elif channel not in configured:
            reason = f"no {channel.value} provider configured"
        elif not address:
            reason = NO_ADDRESS[channel]
        elif category_muted:
            reason = f"{kind.category} switched off in preferences"
        elif kind_muted:
            reason = f"{kind.name} switched off in preferences"
        elif only is not None and channel not in only:
            reason = (
                f"{kind.category}: only {', '.join(sorted(c.value for c in only))} in preferences"
            )
        elif not prefs.channel_enabled(channel, default):
            reason = f"{channel.value} switched off in preferences"
        else:
            reason = unavailable.get(channel)
        choices.append(ChannelChoice(channel, reason is None, address, reason))

    if protected and not any(c.send for c in choices if c.channel in CHANNEL_ORDER):
        passed = [c.channel.value for c in choices if c.suppressed]
        for i, c in enumerate(choices):
            if (
                c.channel in CHANNEL_ORDER
                and c.channel in configured
                and c.address
                and not c.suppressed
                and c.channel not in unavailable
            ):
                why = (
                    "mandatory notice: sent despite preferences"
                    if kind.mandatory
                    else "urgent notice of the person's own obligation: sent despite preferences"
                )
                if passed:
                    why += f" ({', '.join(passed)} suppressed)"
                choices[i] = ChannelChoice(c.channel, True, c.address, why)
                break

    # Routed notifications that would reach nobody still land in the in-app inbox, unless
    # the person opted out of their whole category.
    if (
        route is not None
        and not category_muted
        and not any(c.send for c in choices)
        and Channel.IN_APP in configured
    ):
        choices = [
            ChannelChoice(c.channel, True, c.address, "reached no other channel: kept in the inbox")
            if c.channel is Channel.IN_APP
            else c
            for c in choices
        ]
    return choices

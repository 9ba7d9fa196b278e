"""Which channels a notice goes out on, for one person, now: the worker's planning
(``plan_delivery``) and a dry run (``herald notify --dry-run``) decide with this one
function, so a dry run answers what the worker would do.

It reads the directory, preferences, suppressions, SMS budget and quiet hours; it writes
nothing and starts nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.exceptions import ApplicationError

from herald.contracts import ChannelDecision, DeliveryRequest, DeliveryStatus, Role, idempotency_key
from herald.holding import Hold
from herald.kinds import Channel, kind_info
from herald.preferences import ChannelChoice, Route, choose_channels
from herald.receipts import suppressed_channels
from herald.settings import Settings
from herald.sms_budget import over_budget
from herald.store import Contact, PreferenceSet, Store
from herald.verification import unverified_channels

# Roles whose notices are about their own obligation (a loan to return, a task to do).
OWN_OBLIGATION_ROLES = frozenset({Role.BORROWER, Role.ASSIGNEE})


@dataclass
class ChannelPlan:
    contact: Contact | None
    prefs: PreferenceSet | None
    decisions: list[ChannelDecision]
    # Set when the channels to send wait for the person's quiet hours or digest.
    hold: Hold | None = None
    priority: str | None = None
    # The instant the hold was decided at.
    now: datetime | None = None


def now_for(not_before: datetime | None = None) -> datetime:
    now = datetime.now(UTC)
    return max(now, not_before) if not_before is not None else now


def route_of(settings: Settings, request: DeliveryRequest) -> Route | None:
    if request.channels:
        return Route(request.priority or "requested", tuple(request.channels))
    if request.priority:
        channels = settings.priority_routes.get(request.priority)
        if channels is None:
            raise ApplicationError(
                f"unknown priority {request.priority!r}: the routing table has "
                f"{', '.join(settings.priority_routes)}",
                non_retryable=True,
            )
        return Route(request.priority, tuple(channels))
    return None


def over_sms_budget(
    store: Store, settings: Settings, request: DeliveryRequest, default_priority: str
) -> dict[Channel, str]:
    """SMS, with the reason, when this notice may not use it now: the month's budget is
    spent and the notice is not urgent. Asked only of a plan that would send an SMS, so a
    notice that uses no SMS never sums the month's spending."""
    # The log's clock: sent_at is the machine's time, and so is the month it counts.
    why = over_budget(store, settings, datetime.now(UTC), request.priority or default_priority)
    return {Channel.SMS: why} if why else {}


def plan_channels(
    store: Store,
    settings: Settings,
    providers: frozenset[Channel],
    request: DeliveryRequest,
    *,
    dropped: str | None = None,
    clock: Callable[[datetime | None], datetime] = now_for,
) -> ChannelPlan:
    """Each channel's decision for ``request`` (to send, skipped, suppressed, with the
    address and the reason) and whether quiet hours or a digest hold it. ``dropped``: why
    a released notice lost its point (nothing is sent then); ``clock``: now, never before
    the instant it is given (the worker's is Temporal's time)."""
    kind = kind_info(request.kind)
    contact = store.get_contact(request.subscriber_id)
    if contact is None:
        return ChannelPlan(
            None,
            None,
            [
                ChannelDecision(
                    channel=ch,
                    idempotency_key=idempotency_key(request, ch),
                    status=DeliveryStatus.SKIPPED,
                    reason=f"unknown subscriber {request.subscriber_id!r}",
                )
                for ch in Channel
            ],
        )
    prefs = store.get_preferences(request.subscriber_id)
    route = route_of(settings, request)
    suppressed = suppressed_channels(store, contact)
    blocked = unverified_channels(contact, settings.require_verified)

    def choose() -> list[ChannelChoice]:
        return choose_channels(
            kind,
            contact,
            prefs,
            providers,
            route,
            own_obligation=request.role in OWN_OBLIGATION_ROLES,
            suppressed=suppressed,
            unavailable=blocked,
        )

    choices = choose()
    if settings.sms_monthly_budget is not None and any(
        c.send and c.channel is Channel.SMS for c in choices
    ):
        spent = over_sms_budget(store, settings, request, kind.priority)
        if spent:
            blocked = {**blocked, **spent}
            choices = choose()  # without SMS: a mandatory notice falls back past it
    decisions: list[ChannelDecision] = []
    for choice in choices:
        send = choice.send and dropped is None
        if send:
            status = DeliveryStatus.PENDING
        elif choice.suppressed:
            status = DeliveryStatus.SUPPRESSED
        else:
            status = DeliveryStatus.SKIPPED
        reason = choice.reason if dropped is None or not choice.send else dropped
        if request.manual and status is DeliveryStatus.PENDING:
            reason = "sent by hand" + (f"; {reason}" if reason else "")
        decisions.append(
            ChannelDecision(
                channel=choice.channel,
                idempotency_key=idempotency_key(request, choice.channel),
                status=status,
                recipient=choice.address,
                reason=reason,
            )
        )
    plan = ChannelPlan(contact, prefs, decisions)
    if (
        not request.release
        and not request.manual
        and any(d.status is DeliveryStatus.PENDING for d in decisions)
    ):
        rules = prefs.hold_rules(contact.timezone)
        plan.priority = request.priority or kind.priority
        plan.now = clock(request.scheduled_at)
        plan.hold = rules.hold(plan.priority, plan.now, digestible=kind.digestible)
    return plan

"""What Herald does with what providers report: the message's life after ``sent``, the
suppression list, and WhatsApp's conversation windows.

A provider event (:class:`~herald.webhooks.ProviderEvent`) is stored once (its
``(provider, event_key)`` is unique) and moves its delivery row forward only: the states
rank ``sent`` < ``delivered`` < ``undelivered``/``bounced`` < ``read`` < ``complained``
(:data:`herald.webhooks.base.RANK`), so events arriving late, out of order or twice change
nothing. Each state keeps its own time (``delivered_at``, ``read_at``…), whatever the order.
An event that arrives before the send was recorded (a provider's callback can beat the
worker's commit) waits in ``delivery_events`` and is applied by :func:`catch_up` when the
row gets its provider message id.

A permanent bounce, a complaint or an SMS ``STOP`` suppresses the address on its channel;
planning then skips it (``suppressed``, with the reason and the event) and a mandatory
notice falls back to the person's other channels. A transient bounce or a delay suppresses
nothing. Ops add and lift suppressions; a lifted row stays, with who lifted it and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from herald.channels.base import ERROR_TEXT_LIMIT, bounded_text
from herald.contracts import DeliveryStatus
from herald.db import ConversationWindow, Delivery, DeliveryEvent, Suppression, utcnow
from herald.kinds import Channel
from herald.store import Contact, Store, delivery_as_dict
from herald.webhooks.base import RANK, InboundMessage, ProviderEvent, State

# A row in one of these has been accepted by a provider: it is never sent again.
ACCEPTED = frozenset(
    {
        DeliveryStatus.SENT.value,
        DeliveryStatus.DELIVERED.value,
        DeliveryStatus.READ.value,
        DeliveryStatus.BOUNCED.value,
        DeliveryStatus.COMPLAINED.value,
        DeliveryStatus.UNDELIVERED.value,
    }
)
STATE_TIME = {
    State.DELIVERED: "delivered_at",
    State.READ: "read_at",
    State.BOUNCED: "bounced_at",
    State.COMPLAINED: "complained_at",
    State.UNDELIVERED: "undelivered_at",
}
# Providers that report on their messages; the others' rows never get an event.
REPORTING_PROVIDERS = frozenset({"ses", "twilio", "meta"})
SUPPRESSIBLE = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)
SOURCE_LIMIT = 400


@dataclass(frozen=True)
class Change:
    """A delivery row moved to ``state``."""

    delivery: dict[str, Any]
    state: State


@dataclass
class Outcome:
    recorded: int = 0
    duplicates: int = 0
    unmatched: int = 0  # no sent row has that message id (yet): kept for catch_up
    changes: list[Change] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)


def suppression_address(channel: Channel | str, address: str) -> str:
    """How an address is compared on the suppression list (e-mail without case)."""
    return address.strip().lower() if Channel(channel) is Channel.EMAIL else address.strip()


# ---------------------------------------------------------------- provider events


def apply_events(store: Store, events: Iterable[ProviderEvent]) -> Outcome:
    """Store each event once and move its row forward; one transaction for the batch, a
    savepoint per event so a concurrent copy of one event only skips that one."""
    outcome = Outcome()
    with store.session() as s, s.begin():
        for ev in events:
            try:
                with s.begin_nested():
                    s.add(_event_row(ev))
            except IntegrityError:
                outcome.duplicates += 1
                continue
            outcome.recorded += 1
            row = s.scalar(
                select(Delivery).where(
                    Delivery.provider_message_id == ev.provider_message_id,
                    Delivery.provider == ev.provider,
                )
            )
            if row is None or row.status not in ACCEPTED:
                outcome.unmatched += 1
                if ev.suppress and ev.address:
                    _suppress_for_event(s, ev, ev.address, outcome)
                continue
            state = _advance(row, ev)
            if state is not None:
                s.flush()
                outcome.changes.append(Change(delivery_as_dict(row), state))
            address = ev.address or row.recipient
            if ev.suppress and address:
                _suppress_for_event(s, ev, address, outcome)
    return outcome


def catch_up(store: Store, idempotency_key: str) -> list[Change]:
    """Apply the events that arrived for this row's message before it was recorded sent."""
    changes: list[Change] = []
    with store.session() as s, s.begin():
        row = s.scalar(select(Delivery).where(Delivery.idempotency_key == idempotency_key))
        if row is None or not row.provider_message_id or row.provider not in REPORTING_PROVIDERS:
            return changes
        events = s.scalars(
            select(DeliveryEvent)
            .where(
                DeliveryEvent.provider_message_id == row.provider_message_id,
                DeliveryEvent.provider == row.provider,
                DeliveryEvent.state.is_not(None),
            )
            .order_by(DeliveryEvent.occurred_at)
        ).all()
        for stored in events:
            ev = ProviderEvent(
                provider=stored.provider,
                channel=row.channel,
                provider_message_id=stored.provider_message_id,
                event_key=stored.event_key,
                provider_status=stored.provider_status,
                state=State(stored.state) if stored.state else None,
                occurred_at=stored.occurred_at,
                reason=stored.reason,
            )
            state = _advance(row, ev)
            if state is not None:
                s.flush()
                changes.append(Change(delivery_as_dict(row), state))
    return changes


def delivery_events(store: Store, delivery_id: int) -> list[dict[str, Any]] | None:
    """Every event the provider reported for one delivery row, oldest first; None when
    there is no such row."""
    with store.session() as s:
        row = s.get(Delivery, delivery_id)
        if row is None:
            return None
        if not row.provider_message_id:
            return []
        events = s.scalars(
            select(DeliveryEvent)
            .where(
                DeliveryEvent.provider_message_id == row.provider_message_id,
                DeliveryEvent.provider == row.provider,
            )
            .order_by(DeliveryEvent.occurred_at, DeliveryEvent.id)
        ).all()
        return [
            {
                "provider": e.provider,
                "provider_status": e.provider_status,
                "state": e.state,
                "occurred_at": e.occurred_at.isoformat(),
                "received_at": e.received_at.isoformat(),
                "reason": e.reason,
                "raw": e.raw,
            }
            for e in events
        ]


def _event_row(ev: ProviderEvent) -> DeliveryEvent:
    return DeliveryEvent(
        provider=ev.provider,
        event_key=ev.event_key[:255],
        provider_message_id=ev.provider_message_id[:255],
        state=ev.state.value if ev.state else None,
        provider_status=ev.provider_status[:64],
        occurred_at=ev.occurred_at,
        received_at=utcnow(),
        reason=bounded_text(ev.reason, ERROR_TEXT_LIMIT) if ev.reason else None,
        raw=ev.raw,
    )


def _current(row: Delivery) -> State | None:
    try:
        return State(row.status)
    except ValueError:
        return None  # sent


def _advance(row: Delivery, ev: ProviderEvent) -> State | None:
    """Record the state's time; move the row's status only to a higher rank."""
    if ev.state is None:
        return None
    column = STATE_TIME[ev.state]
    if getattr(row, column) is None:
        setattr(row, column, ev.occurred_at)
    if RANK[ev.state] <= RANK[_current(row)]:
        return None
    row.status = ev.state.value
    if ev.reason and ev.state is not State.DELIVERED and ev.state is not State.READ:
        row.provider_reason = bounded_text(ev.reason, ERROR_TEXT_LIMIT)
    row.updated_at = utcnow()
    return ev.state


def _suppress_for_event(s: Session, ev: ProviderEvent, address: str, outcome: Outcome) -> None:
    reason = {
        State.BOUNCED: "permanent bounce",
        State.COMPLAINED: "complaint (marked as spam)",
    }.get(ev.state or State.BOUNCED, ev.provider_status)
    if ev.reason:
        reason = f"{reason}: {ev.reason}"
    source = f"{ev.provider}:{ev.provider_status}:{ev.event_key}"
    created = _add_suppression(
        s, Channel(ev.channel), address, reason=reason, source=source, by=ev.provider
    )
    if created is not None:
        outcome.suppressed.append(created)


# ---------------------------------------------------------------- suppressions


def _active(s: Session, channel: Channel, address: str) -> Suppression | None:
    return s.scalar(
        select(Suppression).where(
            Suppression.channel == channel.value,
            Suppression.address == suppression_address(channel, address),
            Suppression.lifted_at.is_(None),
        )
    )


def _add_suppression(
    s: Session, channel: Channel, address: str, *, reason: str, source: str | None, by: str
) -> dict[str, Any] | None:
    """Suppress unless already suppressed; the new row as a dict, or None."""
    if _active(s, channel, address) is not None:
        return None
    row = Suppression(
        channel=channel.value,
        address=suppression_address(channel, address),
        reason=bounded_text(reason, ERROR_TEXT_LIMIT),
        source=source[:SOURCE_LIMIT] if source else None,
        created_at=utcnow(),
        created_by=by[:200],
    )
    s.add(row)
    s.flush()
    return suppression_as_dict(row)


def suppress(
    store: Store, channel: Channel, address: str, *, reason: str, source: str | None, by: str
) -> tuple[dict[str, Any], bool]:
    """Suppress ``address`` on ``channel``: the active row, and whether it is new."""
    with store.session() as s, s.begin():
        existing = _active(s, channel, address)
        if existing is not None:
            return suppression_as_dict(existing), False
        created = _add_suppression(s, channel, address, reason=reason, source=source, by=by)
        assert created is not None
        return created, True


def lift(
    store: Store, channel: Channel, address: str, *, by: str, reason: str | None
) -> list[dict[str, Any]]:
    """Lift the address's active suppression on the channel; the rows lifted (kept)."""
    with store.session() as s, s.begin():
        rows = s.scalars(
            select(Suppression).where(
                Suppression.channel == channel.value,
                Suppression.address == suppression_address(channel, address),
                Suppression.lifted_at.is_(None),
            )
        ).all()
        now = utcnow()
        for row in rows:
            row.lifted_at = now
            row.lifted_by = by[:200]
            row.lift_reason = bounded_text(reason, ERROR_TEXT_LIMIT) if reason else None
        s.flush()
        return [suppression_as_dict(r) for r in rows]


def list_suppressions(
    store: Store,
    *,
    channel: Channel | None = None,
    address: str | None = None,
    include_lifted: bool = False,
    after: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    q = select(Suppression).order_by(Suppression.id).limit(limit)
    if channel is not None:
        q = q.where(Suppression.channel == channel.value)
    if address is not None:
        q = q.where(
            Suppression.address == suppression_address(channel or Channel.EMAIL, address)
            if channel is not None
            else Suppression.address.in_({address.strip(), address.strip().lower()})
        )
    if not include_lifted:
        q = q.where(Suppression.lifted_at.is_(None))
    if after is not None:
        q = q.where(Suppression.id > after)
    with store.session() as s:
        return [suppression_as_dict(r) for r in s.scalars(q)]


def suppressed_channels(store: Store, contact: Contact) -> dict[Channel, str]:
    """The person's channels whose address is suppressed, each with the reason planning
    logs: what suppressed it, when, and the event that did."""
    pairs = [
        (ch, suppression_address(ch, address))
        for ch in SUPPRESSIBLE
        if (address := contact.address(ch))
    ]
    if not pairs:
        return {}
    with store.session() as s:
        rows = s.scalars(
            select(Suppression).where(
                Suppression.lifted_at.is_(None),
                or_(
                    *(
                        and_(Suppression.channel == c.value, Suppression.address == a)
                        for c, a in pairs
                    )
                ),
            )
        ).all()
    found: dict[Channel, str] = {}
    for row in rows:
        why = f"{row.address} suppressed since {row.created_at:%Y-%m-%d %H:%M} UTC: {row.reason}"
        if row.source:
            why += f" ({row.source})"
        found[Channel(row.channel)] = bounded_text(why, ERROR_TEXT_LIMIT)
    return found


def suppression_as_dict(row: Suppression) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "address": row.address,
        "reason": row.reason,
        "source": row.source,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "active": row.lifted_at is None,
        "lifted_at": row.lifted_at.isoformat() if row.lifted_at else None,
        "lifted_by": row.lifted_by,
        "lift_reason": row.lift_reason,
    }


# ---------------------------------------------------------------- conversation windows


def record_inbound(store: Store, message: InboundMessage) -> None:
    """The person wrote: their window on the channel opens (or stays open) from then."""
    with store.session() as s, s.begin():
        row = s.get(ConversationWindow, (message.channel, message.address))
        if row is None:
            try:
                with s.begin_nested():
                    s.add(
                        ConversationWindow(
                            channel=message.channel,
                            address=message.address,
                            last_inbound_at=message.received_at,
                            provider=message.provider,
                        )
                    )
                return
            except IntegrityError:
                row = s.get(ConversationWindow, (message.channel, message.address))
                assert row is not None
        if row.last_inbound_at < message.received_at:
            row.last_inbound_at = message.received_at
            row.provider = message.provider


def last_inbound(store: Store, channel: Channel, address: str) -> datetime | None:
    with store.session() as s:
        row = s.get(ConversationWindow, (channel.value, address))
        return row.last_inbound_at if row is not None else None


@dataclass(frozen=True)
class Window:
    channel: Channel
    address: str | None
    last_inbound_at: datetime | None
    open_until: datetime | None

    def is_open(self, at: datetime) -> bool:
        return self.open_until is not None and at < self.open_until

    def as_dict(self, at: datetime) -> dict[str, Any]:
        return {
            "channel": self.channel.value,
            "address": self.address,
            "open": self.is_open(at),
            "last_inbound_at": self.last_inbound_at.isoformat() if self.last_inbound_at else None,
            "open_until": self.open_until.isoformat() if self.open_until else None,
        }


def whatsapp_window(store: Store, address: str | None, length: timedelta) -> Window:
    last = last_inbound(store, Channel.WHATSAPP, address) if address else None
    return Window(Channel.WHATSAPP, address, last, last + length if last else None)

"""What a provider's events do to the delivery log, the suppression list and the
conversation windows, on SQLite and PostgreSQL: forward only, once per event, whatever the
order; and the schema the migrations build is the one the models describe."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from herald import receipts
from herald.db import Base, Delivery
from herald.kinds import Channel
from herald.store import Store, delivery_as_dict, migrate
from herald.webhooks import InboundMessage, ProviderEvent, State

# The provider's times, after the rows are created (their life is in time order).
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
EMAIL = "ana@example.org"
TABLES = ("delivery_events", "suppressions", "conversation_windows", "deliveries", "subscribers")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'herald.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    s = Store.from_url(url)
    migrate(s.engine)
    s.upsert_subscriber("ana", name="Ana", email=EMAIL, phone="+33612345678")
    yield s
    with s.engine.begin() as conn:  # the PostgreSQL database is shared by the session
        for table in TABLES:
            conn.exec_driver_sql(f"DELETE FROM {table}")
    s.close()


def sent_row(store: Store, key: str, message_id: str | None, provider: str = "ses") -> int:
    with store.session() as s, s.begin():
        row = Delivery(
            idempotency_key=key,
            workflow_id="loan-L1",
            notification_id=f"{key}@x",
            subject_type="loan",
            subject_id="L1",
            kind="loan.reminder_j1",
            role="borrower",
            channel="email",
            subscriber_id="ana",
            provider=provider,
            recipient=EMAIL,
            status="sent" if message_id else "pending",
            attempts=1,
            provider_message_id=message_id,
            sent_at=T0 if message_id else None,
        )
        s.add(row)
        s.flush()
        return row.id


def event(
    state: State | None,
    *,
    minutes: int = 1,
    message_id: str = "m-1",
    key: str | None = None,
    suppress: bool = False,
    address: str | None = None,
    reason: str | None = None,
) -> ProviderEvent:
    return ProviderEvent(
        provider="ses",
        channel="email",
        provider_message_id=message_id,
        event_key=key or f"{message_id}:{state}",
        provider_status=str(state),
        state=state,
        occurred_at=T0 + timedelta(minutes=minutes),
        reason=reason,
        address=address,
        suppress=suppress,
    )


def status(store: Store, delivery_id: int) -> dict[str, object]:
    with store.session() as s:
        row = s.get(Delivery, delivery_id)
        assert row is not None
        return delivery_as_dict(row)


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations([State.DELIVERED, State.READ, None])),
    ids=lambda o: "-".join(str(s) for s in o),
)
def test_any_order_of_events_ends_read_with_every_time(
    store: Store, order: tuple[State | None, ...]
) -> None:
    rid = sent_row(store, "k1", "m-1")
    minutes = {State.DELIVERED: 1, State.READ: 2, None: 0}
    for state in order:
        receipts.apply_events(store, [event(state, minutes=minutes[state])])
    row = status(store, rid)
    assert row["status"] == "read"
    assert row["delivered_at"] == (T0 + timedelta(minutes=1)).isoformat()
    assert row["read_at"] == (T0 + timedelta(minutes=2)).isoformat()
    assert [s["state"] for s in row["life"]] == ["planned", "sent", "delivered", "read"]


def test_the_same_event_twice_is_stored_once(store: Store) -> None:
    sent_row(store, "k1", "m-1")
    first = receipts.apply_events(store, [event(State.DELIVERED)])
    again = receipts.apply_events(store, [event(State.DELIVERED), event(State.DELIVERED)])
    assert (first.recorded, first.duplicates, len(first.changes)) == (1, 0, 1)
    assert (again.recorded, again.duplicates, len(again.changes)) == (0, 2, 0)


@pytest.mark.parametrize(
    ("events", "final"),
    [
        ([State.DELIVERED, State.BOUNCED], "bounced"),  # the remote server bounced it later
        ([State.BOUNCED, State.DELIVERED], "bounced"),
        ([State.BOUNCED, State.COMPLAINED], "complained"),
        ([State.UNDELIVERED, State.DELIVERED], "undelivered"),
        ([State.UNDELIVERED, State.READ], "read"),  # read proves receipt
        ([State.COMPLAINED, State.READ], "complained"),
    ],
)
def test_a_row_moves_only_up_the_ranks(store: Store, events: list[State], final: str) -> None:
    rid = sent_row(store, "k1", "m-1")
    for n, state in enumerate(events):
        receipts.apply_events(store, [event(state, minutes=n + 1, reason=f"why {state}")])
    assert status(store, rid)["status"] == final


def test_an_event_before_the_send_is_recorded_waits_for_it(store: Store) -> None:
    outcome = receipts.apply_events(store, [event(State.DELIVERED, message_id="m-early")])
    assert outcome.unmatched == 1 and outcome.changes == []
    rid = sent_row(store, "k-early", None)
    store.update_delivery("k-early", status="sent", provider_message_id="m-early", sent_at=T0)
    [change] = receipts.catch_up(store, "k-early")
    assert change.state is State.DELIVERED
    assert status(store, rid)["status"] == "delivered"
    assert receipts.catch_up(store, "k-early") == []  # nothing moves twice


def test_a_row_never_sent_is_not_moved(store: Store) -> None:
    rid = sent_row(store, "k1", None)
    receipts.apply_events(store, [event(State.DELIVERED)])
    assert status(store, rid)["status"] == "pending"


def test_a_permanent_bounce_suppresses_once_and_lifting_keeps_the_record(store: Store) -> None:
    sent_row(store, "k1", "m-1")
    bounce = event(State.BOUNCED, suppress=True, address="Ana@Example.org", reason="550 unknown")
    outcome = receipts.apply_events(store, [bounce])
    [entry] = outcome.suppressed
    assert entry["address"] == EMAIL and entry["source"] == "ses:bounced:m-1:bounced"
    assert entry["reason"] == "permanent bounce: 550 unknown"
    contact = store.get_contact("ana")
    assert contact is not None
    why = receipts.suppressed_channels(store, contact)
    assert list(why) == [Channel.EMAIL] and "550 unknown" in why[Channel.EMAIL]
    # A second bounce (another message) adds no second active entry.
    sent_row(store, "k2", "m-2")
    again = event(State.BOUNCED, message_id="m-2", suppress=True, address=EMAIL)
    assert receipts.apply_events(store, [again]).suppressed == []
    [lifted] = receipts.lift(store, Channel.EMAIL, EMAIL, by="ops", reason="mailbox fixed")
    assert lifted["lifted_by"] == "ops" and lifted["lift_reason"] == "mailbox fixed"
    assert receipts.suppressed_channels(store, contact) == {}
    history = receipts.list_suppressions(store, include_lifted=True)
    assert [r["active"] for r in history] == [False]
    assert receipts.lift(store, Channel.EMAIL, EMAIL, by="ops", reason=None) == []


def test_a_transient_event_suppresses_nothing(store: Store) -> None:
    sent_row(store, "k1", "m-1")
    outcome = receipts.apply_events(store, [event(State.BOUNCED, address=EMAIL)])
    assert outcome.suppressed == [] and receipts.list_suppressions(store) == []


def test_the_window_opens_from_the_last_message_and_never_goes_back(store: Store) -> None:
    number = "+33698765432"

    def wrote(at: datetime) -> None:
        receipts.record_inbound(
            store, InboundMessage("meta", "whatsapp", number, f"w-{at}", "hi", at)
        )

    closed = receipts.whatsapp_window(store, number, timedelta(hours=24))
    assert closed.open_until is None and not closed.is_open(T0)
    wrote(T0)
    wrote(T0 - timedelta(hours=5))  # an older message delivered late
    window = receipts.whatsapp_window(store, number, timedelta(hours=24))
    assert window.last_inbound_at == T0
    assert window.is_open(T0 + timedelta(hours=23, minutes=59))
    assert not window.is_open(T0 + timedelta(hours=24))


def test_the_migrations_build_the_schema_the_models_describe(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []

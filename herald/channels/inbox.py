"""The in-app channel: a row in Herald's own inbox table, read by the application's bell."""

from __future__ import annotations

from typing import ClassVar

from herald.channels.base import OutgoingMessage, PermanentSendError, Receipt
from herald.db import InboxNotification
from herald.kinds import Channel
from herald.store import Store


def column_limit(name: str) -> int | None:
    """The length of an inbox column, as the table declares it (None: unbounded)."""
    return getattr(InboxNotification.__table__.c[name].type, "length", None)


def check_lengths(values: dict[str, str | None]) -> None:
    """Refuse a value longer than its column, on every database: SQLite would store it,
    PostgreSQL refuse it with an error no retry can fix."""
    for name, value in values.items():
        limit = column_limit(name)
        if value is not None and limit is not None and len(value) > limit:
            raise PermanentSendError(
                f"in-app {name} of {len(value)} characters is over its limit of {limit}: "
                "refused rather than cut"
            )


class InboxProvider:
    name: ClassVar[str] = "database"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.IN_APP})

    def __init__(self, store: Store) -> None:
        self.store = store

    def send(self, message: OutgoingMessage) -> Receipt:
        check_lengths(
            {
                "title": message.subject,
                "link": message.link,
                "kind": message.kind,
                "priority": message.priority,
                "subscriber_id": message.to,
                "delivery_key": message.key,
            }
        )
        # Idempotent on the delivery key: a retried activity finds the same row.
        row_id = self.store.add_inbox(
            delivery_key=message.key,
            subscriber_id=message.to,
            kind=message.kind,
            title=message.subject,
            body=message.text,
            priority=message.priority,
            link=message.link,
        )
        return Receipt(provider=self.name, message_id=str(row_id))

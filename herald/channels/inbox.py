"""The in-app channel: a row in Herald's own inbox table, read by the application's bell."""

from __future__ import annotations

from typing import ClassVar

from herald.channels.base import OutgoingMessage, Receipt
from herald.kinds import Channel
from herald.store import Store


class InboxProvider:
    name: ClassVar[str] = "database"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.IN_APP})

    def __init__(self, store: Store) -> None:
        self.store = store

    def send(self, message: OutgoingMessage) -> Receipt:
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

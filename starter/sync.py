"""A synchronous facade over :class:`starter.client.Herald`, for Django and other sync code.

One background thread runs an event loop with one Temporal connection, reused by every
call. In a Django ``post_save`` handler, call it from ``transaction.on_commit`` so a
rolled-back loan never starts a workflow; the README's Django example (run by the test
suite) shows the whole ``signals.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from herald.contracts import (
    AppliedEvent,
    FollowUpStatus,
    LoanStatus,
    MailboxStatus,
    NotifyResult,
    RepairStatus,
)
from herald.daily_summary import DailySummaryStatus
from herald.settings import Settings
from herald.store import Contact, PreferenceSet
from starter.client import Herald, LoanStarted, Started

T = TypeVar("T")


class SyncHerald:
    """Herald's operations as plain calls. By default over the service layer itself
    (Temporal and Herald's database, from ``settings`` or the environment); with
    :meth:`over_http`, over Herald's HTTP API with only a URL and an API key."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        timeout: float = 60.0,
        connect: Callable[[], Coroutine[Any, Any, Any]] | None = None,
    ) -> None:
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="herald-client", daemon=True
        )
        self._thread.start()
        try:
            opened = connect() if connect is not None else Herald.connect(settings)
            self._herald: Herald = self._call(opened)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            raise

    @classmethod
    def over_http(
        cls, url: str, api_key: str | None = None, *, timeout: float = 60.0
    ) -> SyncHerald:
        """The same calls over Herald's HTTP API (:class:`herald.http_client.HttpHerald`)."""
        from herald.http_client import HttpHerald

        async def open_client() -> Any:
            return HttpHerald(url, api_key, timeout=timeout)

        return cls(timeout=timeout, connect=open_client)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)

    @property
    def target(self) -> Any:
        """The async client underneath (:class:`Herald` or the HTTP client)."""
        return self._herald

    def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Any operation by name: ``call("start_loan", "L1", borrower_id=..., ...)``."""
        return self._call(getattr(self._herald, method)(*args, **kwargs))

    def close(self) -> None:
        close = getattr(self._herald, "aclose", None) or self._herald.close
        closing = close()
        if asyncio.iscoroutine(closing):  # the HTTP client closes its connections
            self._call(closing)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> SyncHerald:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert_subscriber(self, subscriber_id: str, **fields: Any) -> Contact:
        return self._call(self._herald.upsert_subscriber(subscriber_id, **fields))

    def set_preferences(self, subscriber_id: str, **toggles: Any) -> PreferenceSet:
        return self._call(self._herald.set_preferences(subscriber_id, **toggles))

    def start_loan(self, loan_id: str, **fields: Any) -> LoanStarted:
        return self._call(self._herald.start_loan(loan_id, **fields))

    def return_loan(
        self, loan_id: str, *, returned_at: datetime | None = None, wait: bool = False
    ) -> LoanStatus | None:
        """Defaults to not waiting, so a web request never blocks on the worker."""
        return self._call(self._herald.return_loan(loan_id, returned_at=returned_at, wait=wait))

    def extend_loan(self, loan_id: str, *, due_at: datetime) -> LoanStatus:
        return self._call(self._herald.extend_loan(loan_id, due_at=due_at))

    def cancel_loan(self, loan_id: str) -> None:
        self._call(self._herald.cancel_loan(loan_id))

    def loan_status(self, loan_id: str) -> LoanStatus:
        return self._call(self._herald.loan_status(loan_id))

    def deliveries(self, loan_id: str | None = None) -> list[dict[str, Any]]:
        return self._call(self._herald.deliveries(loan_id))

    def inbox(self, subscriber_id: str, **options: Any) -> list[dict[str, Any]]:
        return self._call(self._herald.inbox(subscriber_id, **options))

    def unread_count(self, subscriber_id: str) -> int:
        return self._call(self._herald.unread_count(subscriber_id))

    def mark_read(self, subscriber_id: str, notification_ids: list[int] | None = None) -> int:
        return self._call(self._herald.mark_read(subscriber_id, notification_ids))

    def start_repair(self, repair_id: str, **fields: Any) -> Started:
        return self._call(self._herald.start_repair(repair_id, **fields))

    def repair_event(self, repair_id: str, event_type: str, **fields: Any) -> AppliedEvent | None:
        """Waits for the worker by default; pass ``wait=False`` from a web request."""
        return self._call(self._herald.repair_event(repair_id, event_type, **fields))

    def repair_status(self, repair_id: str) -> RepairStatus:
        return self._call(self._herald.repair_status(repair_id))

    def create_group(self, name: str, description: str | None = None) -> bool:
        return self._call(self._herald.create_group(name, description))

    def add_to_group(self, name: str, subscriber_ids: list[str]) -> int:
        return self._call(self._herald.add_to_group(name, subscriber_ids))

    def remove_from_group(self, name: str, subscriber_ids: list[str]) -> int:
        return self._call(self._herald.remove_from_group(name, subscriber_ids))

    def notify(self, template: str, **options: Any) -> tuple[str, NotifyResult | None]:
        return self._call(self._herald.notify(template, **options))

    def start_followup(self, followup_id: str, **fields: Any) -> Started:
        return self._call(self._herald.start_followup(followup_id, **fields))

    def complete_followup(
        self, followup_id: str, *, completed_at: datetime | None = None, wait: bool = False
    ) -> FollowUpStatus | None:
        """Does not wait for a worker by default: a web request never blocks on it."""
        return self._call(
            self._herald.complete_followup(followup_id, completed_at=completed_at, wait=wait)
        )

    def reschedule_followup(self, followup_id: str, *, due_at: datetime) -> FollowUpStatus:
        return self._call(self._herald.reschedule_followup(followup_id, due_at=due_at))

    def reassign_followup(self, followup_id: str, *, assignee_id: str) -> FollowUpStatus:
        return self._call(self._herald.reassign_followup(followup_id, assignee_id=assignee_id))

    def cancel_followup(self, followup_id: str) -> None:
        self._call(self._herald.cancel_followup(followup_id))

    def followup_status(self, followup_id: str) -> FollowUpStatus:
        return self._call(self._herald.followup_status(followup_id))

    def lead_event(self, lead_id: str, event_type: str, **fields: Any) -> Started:
        return self._call(self._herald.lead_event(lead_id, event_type, **fields))

    def user_event(self, user_id: str, event_type: str, **fields: Any) -> Started:
        return self._call(self._herald.user_event(user_id, event_type, **fields))

    def mailbox(self, subscriber_id: str) -> MailboxStatus | None:
        return self._call(self._herald.mailbox(subscriber_id))

    def set_daily_summary(self, subscriber_id: str, *, at: str | None) -> DailySummaryStatus:
        return self._call(self._herald.set_daily_summary(subscriber_id, at=at))

    def daily_summary(self, subscriber_id: str) -> DailySummaryStatus:
        return self._call(self._herald.daily_summary(subscriber_id))

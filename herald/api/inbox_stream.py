"""The live unread count behind the bell: one watcher per API process, shared by every open
stream (``GET /v1/me/inbox/stream``).

Each tick, the watcher counts the unread notifications of all the people with a stream open,
in one grouped query (one per 500 people), and wakes the streams whose count changed. A
thousand open bells cost one query per tick, not a thousand. A change made through this
process (a notification marked read in one tab) wakes it at once, so the other tabs follow
without waiting for the tick. It runs while streams are open and stops with the last one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from herald import inbox_store
from herald.store import Store

log = logging.getLogger("herald.api")


@dataclass(eq=False)
class Listener:
    """One open stream: the count it last sent, and an event set when it changed."""

    subscriber_id: str
    count: int
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class UnreadWatcher:
    def __init__(self, store: Store, tick: float = 2.0) -> None:
        self.store = store
        self.tick = tick
        self.rounds = 0  # how many times it counted (one query per 500 people each; tests)
        self._listeners: dict[str, set[Listener]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    @property
    def watched(self) -> int:
        """How many people have a stream open."""
        return len(self._listeners)

    @asynccontextmanager
    async def listening(self, subscriber_id: str, count: int) -> AsyncIterator[Listener]:
        """Watch ``subscriber_id`` (whose unread count is ``count`` now) while the block runs."""
        listener = Listener(subscriber_id, count)
        self._listeners.setdefault(subscriber_id, set()).add(listener)
        self._start()
        try:
            yield listener
        finally:
            mine = self._listeners.get(subscriber_id)
            if mine is not None:
                mine.discard(listener)
                if not mine:
                    del self._listeners[subscriber_id]

    def poke(self) -> None:
        """Look now rather than at the next tick (this process changed someone's inbox)."""
        if self._wake is not None:
            self._wake.set()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="herald inbox watcher")

    async def _run(self) -> None:
        assert self._wake is not None
        while self._listeners:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()
            people = list(self._listeners)
            if not people:
                break
            try:
                counts = await asyncio.to_thread(inbox_store.unread_counts, self.store, people)
            except Exception as err:  # noqa: BLE001 - the database may be away; next tick
                log.warning("the inbox watcher could not count unread notifications: %s", err)
                continue
            finally:
                self.rounds += 1
            for person in people:
                now = counts.get(person, 0)
                for listener in list(self._listeners.get(person, ())):
                    if listener.count != now:
                        listener.count = now
                        listener.changed.set()

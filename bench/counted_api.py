"""``herald api`` that counts the SQL statements it runs, for ``bench.inbox_stream_bench``:
``python -m bench.counted_api api --port P`` is the ``herald`` command itself
(``starter.cli.main``) with one SQLAlchemy listener on every engine. On SIGUSR1 it writes
the counts so far to ``$HERALD_BENCH_COUNTS`` (JSON), so the benchmark reads them between
two moments without the server doing anything on a timer of its own. With
``$HERALD_BENCH_KEEPALIVE`` (seconds), the streams' keep-alive comments come that often
instead of every 15 s: a diagnostic of what they cost, never Herald's setting."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_lock = threading.Lock()
_counts = {"statements": 0, "grouped_unread_counts": 0}


@event.listens_for(Engine, "before_cursor_execute")
def _count(
    _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    # The stream watcher's query: each person's unread count, grouped (inbox_store).
    grouped = "count(" in statement.lower() and "GROUP BY" in statement and "inbox" in statement
    with _lock:
        _counts["statements"] += 1
        _counts["grouped_unread_counts"] += grouped


def _dump(_signum: int, _frame: Any) -> None:
    path = os.environ["HERALD_BENCH_COUNTS"]
    with _lock:
        counts = dict(_counts)
    with open(path + ".tmp", "w") as f:
        json.dump(counts, f)
    os.replace(path + ".tmp", path)


def main() -> int:
    signal.signal(signal.SIGUSR1, _dump)
    keepalive = os.environ.get("HERALD_BENCH_KEEPALIVE")
    if keepalive:  # a diagnostic only: what the streams' keep-alive comments cost
        from herald.api import me_routes

        me_routes.STREAM_PING = int(keepalive)
    from starter.cli import main as herald

    return herald(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

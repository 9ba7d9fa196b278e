"""The in-app inbox's queries beyond the bell (see :class:`herald.store.Store`): the list
filtered by read state, category and text, archived notifications, and the changes a
person makes to their own notifications (unread again, archived, restored).

A change names the person: an id that is not one of theirs changes nothing and comes back
in ``unknown`` (whether it exists for someone else is not told). Synchronous, like the
store; values must already be validated (see :mod:`herald.service.inbox`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update

from herald.db import InboxNotification, utcnow
from herald.store import Store

ESCAPE = "\\"


@dataclass(frozen=True)
class InboxFilter:
    read: bool | None = None  # None: read and unread
    category: str | None = None
    archived: bool = False  # True: only the archived ones
    search: str | None = None  # in the title and the body, any case


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, its own % and _ taken literally."""
    for char in (ESCAPE, "%", "_"):
        text = text.replace(char, ESCAPE + char)
    return f"%{text}%"


def _conditions(subscriber_id: str, f: InboxFilter) -> list[ColumnElement[bool]]:
    n = InboxNotification
    found: list[ColumnElement[bool]] = [
        n.subscriber_id == subscriber_id,
        n.archived_at.is_not(None) if f.archived else n.archived_at.is_(None),
    ]
    if f.read is not None:
        found.append(n.read_at.is_not(None) if f.read else n.read_at.is_(None))
    if f.category is not None:
        found.append(n.category == f.category)
    if f.search:
        pattern = like_pattern(f.search)
        found.append(
            or_(n.title.ilike(pattern, escape=ESCAPE), n.body.ilike(pattern, escape=ESCAPE))
        )
    return found


def list_inbox(
    store: Store, subscriber_id: str, f: InboxFilter, *, page: int = 1, page_size: int = 20
) -> list[InboxNotification]:
    """Unread first, then newest first; pages start at 1."""
    n = InboxNotification
    q = (
        select(n)
        .where(*_conditions(subscriber_id, f))
        .order_by(n.read_at.is_not(None), n.created_at.desc(), n.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    with store.session() as s:
        return list(s.scalars(q))


def _change(
    store: Store,
    subscriber_id: str,
    notification_ids: list[int] | None,
    still: ColumnElement[bool],
    values: dict[str, Any],
) -> dict[str, Any]:
    """Apply ``values`` to the person's notifications (the given ones, or all) that are
    ``still`` to change; returns how many changed and which ids are not theirs."""
    n = InboxNotification
    mine = [n.subscriber_id == subscriber_id]
    with store.session() as s, s.begin():
        unknown: list[int] = []
        if notification_ids is not None:
            wanted = list(dict.fromkeys(notification_ids))
            theirs = set(s.scalars(select(n.id).where(*mine, n.id.in_(wanted))))
            unknown = [i for i in wanted if i not in theirs]
            mine.append(n.id.in_(theirs))
        result = s.execute(update(n).where(*mine, still).values(**values))
        changed = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return {"subscriber_id": subscriber_id, "changed": changed, "unknown": unknown}


def mark_unread(store: Store, subscriber_id: str, notification_ids: list[int]) -> dict[str, Any]:
    return _change(
        store,
        subscriber_id,
        notification_ids,
        InboxNotification.read_at.is_not(None),
        {"read_at": None},
    )


def archive(store: Store, subscriber_id: str, notification_ids: list[int] | None) -> dict[str, Any]:
    return _change(
        store,
        subscriber_id,
        notification_ids,
        InboxNotification.archived_at.is_(None),
        {"archived_at": utcnow()},
    )


def unarchive(
    store: Store, subscriber_id: str, notification_ids: list[int] | None
) -> dict[str, Any]:
    """Back from the archive: in the list again, and in the unread count if unread."""
    return _change(
        store,
        subscriber_id,
        notification_ids,
        InboxNotification.archived_at.is_not(None),
        {"archived_at": None},
    )


# How many people one query of :func:`unread_counts` counts for (the IN list's size).
COUNT_BATCH = 500


def unread_counts(store: Store, subscriber_ids: list[str]) -> dict[str, int]:
    """Each person's unread notifications, archived ones left out (as
    :meth:`Store.count_unread`), for many people at once: one grouped query per
    :data:`COUNT_BATCH` people, on the (subscriber, read) index. People with none are absent."""
    n = InboxNotification
    counts: dict[str, int] = {}
    ids = list(dict.fromkeys(subscriber_ids))
    with store.session() as s:
        for start in range(0, len(ids), COUNT_BATCH):
            batch = ids[start : start + COUNT_BATCH]
            rows = s.execute(
                select(n.subscriber_id, func.count())
                .where(n.subscriber_id.in_(batch), n.read_at.is_(None), n.archived_at.is_(None))
                .group_by(n.subscriber_id)
            )
            counts.update({sid: int(count) for sid, count in rows})
    return counts

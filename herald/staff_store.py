"""Several groups or admin templates written in one transaction: all of them or none
(see :class:`herald.store.Store` for one at a time). Values must already be validated."""

from __future__ import annotations

from sqlalchemy import select

from herald.db import AdminTemplate, Group, utcnow
from herald.store import Store, TemplateText


def create_groups(
    store: Store, groups: list[tuple[str, str | None, str | None]]
) -> tuple[list[str], list[str]]:
    """Create the (name, display name, description) groups that are absent; returns the
    names created and the names that already existed (left as they are)."""
    names = [name for name, _, _ in groups]
    with store.session() as s, s.begin():
        present = set(s.scalars(select(Group.name).where(Group.name.in_(names))))
        s.add_all(
            Group(name=name, display_name=display_name, description=description)
            for name, display_name, description in groups
            if name not in present
        )
    return [n for n in names if n not in present], [n for n in names if n in present]


def upsert_templates(store: Store, templates: list[TemplateText]) -> tuple[list[str], list[str]]:
    """Create or replace each template in its locale; returns ``name/locale`` of those
    created and of those updated."""
    created: list[str] = []
    updated: list[str] = []
    with store.session() as s, s.begin():
        for t in templates:
            row = s.get(AdminTemplate, (t.name, t.locale))
            if row is None:
                row = AdminTemplate(name=t.name, locale=t.locale, subject=t.subject, body=t.body)
                s.add(row)
                created.append(f"{t.name}/{t.locale}")
            else:
                updated.append(f"{t.name}/{t.locale}")
            row.subject, row.body, row.short = t.subject, t.body, t.short
            row.updated_at = utcnow()
    return created, updated

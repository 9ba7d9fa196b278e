"""Staff alerts' channel choices and Meta templates in the database (groups.channels,
templates.channels and templates.meta_*), and the last hours of staff alerts counted per
template and per group. Values must already be validated (herald/service/staff_channels.py).

A template's channels and Meta template belong to its name: they are written on every
locale's row. Meta's review is per language, so each row keeps the status of its own."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from herald.contracts import DeliveryStatus
from herald.db import AdminTemplate, Delivery, Group, utcnow
from herald.store import Store

OPTION_FIELDS = ("channels", "meta_template", "meta_languages", "meta_params", "meta_buttons")
SENT = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.DIGESTED}
)
FAILED = frozenset({DeliveryStatus.FAILED, DeliveryStatus.PERMANENTLY_FAILED})
PENDING = frozenset({DeliveryStatus.PENDING, DeliveryStatus.HELD})


@dataclass(frozen=True)
class TemplateMeta:
    """One locale's row of an admin template: its channels, its Meta template and the
    status Meta gave that template's language."""

    name: str
    locale: str
    channels: list[str] | None = None
    meta_template: str | None = None
    language: str | None = None  # the Meta language code of this locale
    meta_params: list[str] = field(default_factory=list)
    meta_buttons: list[dict[str, Any]] = field(default_factory=list)
    meta_status: str | None = None
    meta_rejected_reason: str | None = None
    meta_synced_at: datetime | None = None


def _meta(row: AdminTemplate) -> TemplateMeta:
    languages = row.meta_languages or {}
    return TemplateMeta(
        name=row.name,
        locale=row.locale,
        channels=row.channels,
        meta_template=row.meta_template,
        language=languages.get(row.locale) or languages.get("*"),
        meta_params=list(row.meta_params or []),
        meta_buttons=list(row.meta_buttons or []),
        meta_status=row.meta_status,
        meta_rejected_reason=row.meta_rejected_reason,
        meta_synced_at=row.meta_synced_at,
    )


# ---------------------------------------------------------------- groups


def set_group_channels(store: Store, name: str, channels: list[str] | None) -> bool:
    """Whether the group exists (its channels are then set; None clears them)."""
    with store.session() as s, s.begin():
        row = s.get(Group, name)
        if row is None:
            return False
        row.channels = channels
        return True


def group_channels(store: Store, names: list[str]) -> dict[str, list[str]]:
    """The channels of those of ``names`` that chose some."""
    if not names:
        return {}
    with store.session() as s:
        rows = s.execute(select(Group.name, Group.channels).where(Group.name.in_(names)))
        return {name: list(channels) for name, channels in rows if channels}


# ---------------------------------------------------------------- templates


def set_template_options(store: Store, name: str, changes: dict[str, Any]) -> int:
    """Write ``changes`` (a subset of :data:`OPTION_FIELDS`) on every locale of ``name``;
    a new Meta template or language forgets the status read for the old one. Returns the
    rows changed (0: no such template)."""
    values = {k: v for k, v in changes.items() if k in OPTION_FIELDS}
    if "meta_template" in values or "meta_languages" in values:
        values.update(meta_status=None, meta_rejected_reason=None, meta_synced_at=None)
    if not values:
        with store.session() as s:
            return len(
                list(s.scalars(select(AdminTemplate.locale).where(AdminTemplate.name == name)))
            )
    values["updated_at"] = utcnow()
    with store.session() as s, s.begin():
        result = s.execute(update(AdminTemplate).where(AdminTemplate.name == name).values(**values))
        return int(getattr(result, "rowcount", 0) or 0)


def template_meta(store: Store, name: str, locale: str) -> TemplateMeta | None:
    """The row an alert in ``locale`` is rendered from (that locale, else the first)."""
    with store.session() as s:
        row = s.get(AdminTemplate, (name, locale)) or s.scalar(
            select(AdminTemplate).where(AdminTemplate.name == name).order_by(AdminTemplate.locale)
        )
        return None if row is None else _meta(row)


def template_channels(store: Store, name: str) -> list[str] | None:
    with store.session() as s:
        for channels in s.scalars(select(AdminTemplate.channels).where(AdminTemplate.name == name)):
            if channels:
                return list(channels)
    return None


def list_template_meta(store: Store) -> list[TemplateMeta]:
    with store.session() as s:
        rows = s.scalars(select(AdminTemplate).order_by(AdminTemplate.name, AdminTemplate.locale))
        return [_meta(r) for r in rows]


def record_meta_review(
    store: Store, reviews: dict[tuple[str, str], tuple[str, str | None]]
) -> list[TemplateMeta]:
    """Each mapped row takes the (status, rejected reason) Meta gave its (template name,
    language); a row whose template Meta does not have becomes ``MISSING``."""
    now = utcnow()
    with store.session() as s, s.begin():
        rows = list(
            s.scalars(
                select(AdminTemplate)
                .where(AdminTemplate.meta_template.is_not(None))
                .order_by(AdminTemplate.name, AdminTemplate.locale)
            )
        )
        for row in rows:
            meta = _meta(row)
            status, reason = reviews.get(
                (row.meta_template or "", meta.language or ""), ("MISSING", None)
            )
            row.meta_status, row.meta_rejected_reason, row.meta_synced_at = status, reason, now
        return [_meta(r) for r in rows]


# ---------------------------------------------------------------- the last hours


def staff_stats(store: Store, since: datetime) -> dict[str, dict[str, dict[str, int]]]:
    """Staff alerts' deliveries created since ``since``: sent, pending and failed per
    template and per group the recipient came from (``-`` when named directly)."""
    per_template: defaultdict[str, Counter[str]] = defaultdict(Counter)
    per_group: defaultdict[str, Counter[str]] = defaultdict(Counter)
    with store.session() as s:
        rows = s.execute(
            select(Delivery.notification_id, Delivery.status, Delivery.request).where(
                Delivery.subject_type == "staff", Delivery.created_at >= since
            )
        )
        for notification_id, status, request in rows:
            state = _state(status)
            if state is None:
                continue
            data = (request or {}).get("data") or {}
            template = data.get("template") or notification_id.rsplit("/", 1)[0]
            per_template[str(template)][state] += 1
            for group in data.get("groups") or ["-"]:
                per_group[str(group)][state] += 1
    zero = {"sent": 0, "pending": 0, "failed": 0}
    return {
        "templates": {k: {**zero, **v} for k, v in sorted(per_template.items())},
        "groups": {k: {**zero, **v} for k, v in sorted(per_group.items())},
    }


def _state(status: str) -> str | None:
    try:
        value = DeliveryStatus(status)
    except ValueError:
        return None
    if value in SENT:
        return "sent"
    if value in FAILED:
        return "failed"
    if value in PENDING:
        return "pending"
    return None  # skipped, suppressed: never meant to go

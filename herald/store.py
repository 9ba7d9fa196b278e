"""Everything Herald keeps in its own database: the directory, preferences, the delivery log.

Used by the client and CLI (directory, reading the log) and by activities (at send time).
Methods are synchronous: activities run them in the worker's thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, func, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from herald.contracts import ChannelDecision, DeliveryRequest, DeliveryStatus
from herald.db import (
    AdminTemplate,
    Delivery,
    Group,
    GroupMember,
    InboxNotification,
    Preferences,
    Subscriber,
    make_engine,
    utcnow,
)
from herald.holding import DigestMode, HoldRules, parse_clock
from herald.kinds import CATEGORY_OF_PREFIX, Channel

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_DIGEST_AT = time(18, 0)


@dataclass(frozen=True)
class Contact:
    """A subscriber as the senders see them (a plain value, detached from any session)."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    whatsapp: str | None
    locale: str
    timezone: str
    # When the address now on file was verified (herald/verification.py), or None.
    email_verified_at: datetime | None = None
    phone_verified_at: datetime | None = None
    whatsapp_verified_at: datetime | None = None

    def verified(self, channel: Channel) -> bool:
        """Whether the channel's address is verified (the inbox needs no verification)."""
        return channel is Channel.IN_APP or getattr(self, VERIFIED_AT[channel]) is not None

    def address(self, channel: Channel) -> str | None:
        """Where ``channel`` reaches this person; the in-app inbox is addressed by their id."""
        return {
            Channel.EMAIL: self.email,
            Channel.SMS: self.phone,
            Channel.WHATSAPP: self.whatsapp,
            Channel.IN_APP: self.id,
        }[channel]

    @property
    def display_name(self) -> str:
        return self.name or self.id


# What a channel toggle means when the person never set it, for notifications that are not
# routed by priority (loans): e-mail and the inbox on, paid or intrusive channels off.
UNROUTED_DEFAULTS: dict[Channel, bool] = {
    Channel.EMAIL: True,
    Channel.SMS: False,
    Channel.WHATSAPP: False,
    Channel.IN_APP: True,
}


@dataclass(frozen=True)
class PreferenceSet:
    """A person's toggles; ``None`` means never chosen, so the notification decides."""

    email: bool | None = None
    sms: bool | None = None
    whatsapp: bool | None = None
    kinds: dict[str, bool] = field(default_factory=dict)
    in_app: bool | None = None
    # category -> on/off, or the only channels the category may use ("leads": ["in_app"]).
    categories: dict[str, bool | list[str]] = field(default_factory=dict)
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest: DigestMode = DigestMode.OFF
    digest_at: time = DEFAULT_DIGEST_AT
    digest_weekday: int = 0
    updated_at: datetime | None = None

    def chosen(self, channel: Channel) -> bool | None:
        return {
            Channel.EMAIL: self.email,
            Channel.SMS: self.sms,
            Channel.WHATSAPP: self.whatsapp,
            Channel.IN_APP: self.in_app,
        }[channel]

    def channel_enabled(self, channel: Channel, default: bool | None = None) -> bool:
        """The person's choice, else ``default``, else the unrouted default."""
        value = self.chosen(channel)
        if value is not None:
            return value
        return UNROUTED_DEFAULTS[channel] if default is None else default

    def kind_enabled(self, kind: str) -> bool:
        return self.kinds.get(kind, True)

    def category_enabled(self, category: str | None) -> bool:
        return category is None or bool(self.categories.get(category, True))

    def category_channels(self, category: str | None) -> frozenset[Channel] | None:
        """The only channels the person lets this category use, or None (no restriction)."""
        value = self.categories.get(category) if category is not None else None
        if not isinstance(value, list):
            return None
        return frozenset(Channel(c) for c in value if c in CHANNEL_VALUES)

    def hold_rules(self, timezone: str) -> HoldRules:
        return HoldRules(
            timezone=timezone,
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            digest=self.digest,
            digest_at=self.digest_at,
            digest_weekday=self.digest_weekday,
            version=self.updated_at,
        )


@dataclass(frozen=True)
class GroupInfo:
    name: str
    description: str | None
    members: int
    display_name: str | None = None
    # The channels its members' staff alerts go by (None: the default).
    channels: list[str] | None = None


@dataclass(frozen=True)
class TemplateText:
    name: str
    locale: str
    subject: str
    body: str
    short: str | None


CHANNEL_VALUES = frozenset(c.value for c in Channel)
# Where each channel's verification time is kept, by channel and by address column.
VERIFIED_AT = {
    Channel.EMAIL: "email_verified_at",
    Channel.SMS: "phone_verified_at",
    Channel.WHATSAPP: "whatsapp_verified_at",
}
ADDRESS_VERIFIED_AT = {
    "email": "email_verified_at",
    "phone": "phone_verified_at",
    "whatsapp": "whatsapp_verified_at",
}
# Decisions whose reason is why nothing was sent (logged as the row's error).
NOT_SENT = frozenset({DeliveryStatus.SKIPPED, DeliveryStatus.SUPPRESSED})


def alembic_config(url: str) -> Config:
    # Alembic is imported by the commands that migrate, not by every command that reads.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("herald") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision (idempotent)."""
    from alembic import command

    with engine.begin() as conn:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table("deliveries")


def _contact(row: Subscriber) -> Contact:
    return Contact(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        whatsapp=row.whatsapp,
        locale=row.locale,
        timezone=row.timezone,
        email_verified_at=row.email_verified_at,
        phone_verified_at=row.phone_verified_at,
        whatsapp_verified_at=row.whatsapp_verified_at,
    )


_UNSET: Any = object()


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(make_engine(url))

    def session(self) -> Session:
        return self._sessions()

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ directory

    def upsert_subscriber(
        self,
        subscriber_id: str,
        *,
        name: str | None = _UNSET,
        email: str | None = _UNSET,
        phone: str | None = _UNSET,
        whatsapp: str | None = _UNSET,
        locale: str = _UNSET,
        timezone: str = _UNSET,
        default_locale: str = "fr",
        default_timezone: str = "Europe/Paris",
    ) -> tuple[Contact, bool]:
        """Create or update; fields left unset keep their value. Returns (contact, created).

        Values must already be validated (see :mod:`herald.contacts`).
        """
        with self.session() as s, s.begin():
            row = s.get(Subscriber, subscriber_id)
            created = row is None
            if row is None:
                row = Subscriber(id=subscriber_id, locale=default_locale, timezone=default_timezone)
                s.add(row)
                s.flush()  # the preferences row references it
                s.add(Preferences(subscriber_id=subscriber_id, kinds={}))
            for attr, value in (
                ("name", name),
                ("email", email),
                ("phone", phone),
                ("whatsapp", whatsapp),
                ("locale", locale),
                ("timezone", timezone),
            ):
                if value is not _UNSET:
                    if attr in ADDRESS_VERIFIED_AT and getattr(row, attr) != value:
                        # A new address is not the one that was verified.
                        setattr(row, ADDRESS_VERIFIED_AT[attr], None)
                    setattr(row, attr, value)
            s.flush()
            return _contact(row), created

    def get_contact(self, subscriber_id: str) -> Contact | None:
        with self.session() as s:
            row = s.get(Subscriber, subscriber_id)
            return _contact(row) if row else None

    def get_preferences(self, subscriber_id: str) -> PreferenceSet:
        with self.session() as s:
            row = s.get(Preferences, subscriber_id)
            if row is None:
                return PreferenceSet()
            return PreferenceSet(
                email=row.email_enabled,
                sms=row.sms_enabled,
                whatsapp=row.whatsapp_enabled,
                kinds=dict(row.kinds or {}),
                in_app=row.in_app_enabled,
                categories=dict(row.categories or {}),
                quiet_start=parse_clock(row.quiet_start) if row.quiet_start else None,
                quiet_end=parse_clock(row.quiet_end) if row.quiet_end else None,
                digest=DigestMode(row.digest or DigestMode.OFF),
                digest_at=parse_clock(row.digest_at) if row.digest_at else DEFAULT_DIGEST_AT,
                digest_weekday=row.digest_weekday or 0,
                updated_at=row.updated_at,
            )

    def hold_rules(self, subscriber_id: str) -> HoldRules:
        """The person's quiet hours and digest choice, in their time zone."""
        contact = self.get_contact(subscriber_id)
        timezone = contact.timezone if contact else "UTC"
        return self.get_preferences(subscriber_id).hold_rules(timezone)

    def set_preferences(
        self,
        subscriber_id: str,
        *,
        channels: dict[Channel, bool] | None = None,
        kinds: dict[str, bool] | None = None,
        categories: dict[str, bool | list[str]] | None = None,
        quiet_hours: tuple[time, time] | None = _UNSET,
        digest: DigestMode | None = None,
        digest_at: time | None = None,
        digest_weekday: int | None = None,
    ) -> PreferenceSet:
        """Change what is given; ``quiet_hours=None`` removes them. Values must already be
        validated (see the client)."""
        with self.session() as s, s.begin():
            row = s.get(Preferences, subscriber_id)
            if row is None:
                row = Preferences(subscriber_id=subscriber_id, kinds={})
                s.add(row)
            for channel, enabled in (channels or {}).items():
                setattr(row, f"{channel.value}_enabled", enabled)
            if kinds:
                # A new dict, so the JSON column is seen as changed.
                row.kinds = {**(row.kinds or {}), **kinds}
            if categories:
                row.categories = {**(row.categories or {}), **categories}
            if quiet_hours is not _UNSET:
                start, end = quiet_hours if quiet_hours else (None, None)
                row.quiet_start = f"{start:%H:%M}" if start else None
                row.quiet_end = f"{end:%H:%M}" if end else None
            if digest is not None:
                row.digest = digest.value
            if digest_at is not None:
                row.digest_at = f"{digest_at:%H:%M}"
            if digest_weekday is not None:
                row.digest_weekday = digest_weekday
            # Always moves forward, even when nothing changed: it orders readings of the rules.
            row.updated_at = utcnow()
        return self.get_preferences(subscriber_id)

    # ------------------------------------------------------------ delivery log

    def record_decisions(self, request: DeliveryRequest, decisions: list[ChannelDecision]) -> None:
        """Insert a row per decision unless its idempotency key already has one (one
        transaction for all the channels of a notification). A row still ``held`` (quiet
        hours, digest) takes the new decision when the notice is released."""
        keys = [d.idempotency_key for d in decisions]
        # Only a row still to send needs its request (a notice's rows are often all skipped).
        pending = any(d.status is DeliveryStatus.PENDING for d in decisions)
        payload = request.model_dump(mode="json") if pending else None
        with self.session() as s:
            rows = {
                r.idempotency_key: r
                for r in s.scalars(select(Delivery).where(Delivery.idempotency_key.in_(keys)))
            }
            present = set(rows)
            for d in decisions:
                row = rows.get(d.idempotency_key)
                if row is not None and row.status == DeliveryStatus.HELD.value:
                    skipped = d.status in NOT_SENT
                    row.status = d.status.value
                    row.recipient = d.recipient
                    row.error = d.reason if skipped else None
                    row.note = d.reason if not skipped else None
                    row.request = payload if d.status is DeliveryStatus.PENDING else None
                    row.updated_at = utcnow()
            s.add_all(
                Delivery(
                    idempotency_key=d.idempotency_key,
                    workflow_id=request.workflow_id,
                    notification_id=request.notification_id,
                    subject_type=request.subject_type,
                    subject_id=request.subject_id,
                    kind=request.kind,
                    role=request.role.value,
                    channel=d.channel.value,
                    subscriber_id=request.subscriber_id,
                    recipient=d.recipient,
                    status=d.status.value,
                    attempts=0,
                    scheduled_at=request.scheduled_at,
                    error=d.reason if d.status in NOT_SENT else None,
                    note=d.reason if d.status not in NOT_SENT else None,
                    request=payload if d.status is DeliveryStatus.PENDING else None,
                )
                for d in decisions
                if d.idempotency_key not in present
            )
            try:
                s.commit()
            except IntegrityError:
                # A concurrent attempt of the same activity inserted them first.
                s.rollback()

    def settle_held(
        self, keys: list[str], *, status: DeliveryStatus, note: str, error: str | None = None
    ) -> int:
        """Settle rows still ``held`` (collected into a digest, or dropped); returns how many.
        ``error`` is the reason a dropped row shows, like any skipped one."""
        if not keys:
            return 0
        with self.session() as s, s.begin():
            result = s.execute(
                update(Delivery)
                .where(
                    Delivery.idempotency_key.in_(keys),
                    Delivery.status == DeliveryStatus.HELD.value,
                )
                .values(status=status.value, note=note, error=error, updated_at=utcnow())
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def get_delivery(self, idempotency_key: str) -> Delivery | None:
        with self.session() as s:
            return s.scalar(select(Delivery).where(Delivery.idempotency_key == idempotency_key))

    def update_delivery(self, idempotency_key: str, **values: Any) -> None:
        with self.session() as s, s.begin():
            row = s.scalar(select(Delivery).where(Delivery.idempotency_key == idempotency_key))
            if row is None:
                raise LookupError(f"no delivery row for {idempotency_key}")
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = utcnow()

    def record_provider_error(
        self, idempotency_key: str, *, provider: str, attempt: int, code: str | None, error: str
    ) -> None:
        """Append one provider's failure to the row's history (kept even once sent)."""
        with self.session() as s, s.begin():
            row = s.scalar(select(Delivery).where(Delivery.idempotency_key == idempotency_key))
            if row is None:
                raise LookupError(f"no delivery row for {idempotency_key}")
            entry = {"provider": provider, "attempt": attempt, "code": code, "error": error}
            row.provider_errors = [*(row.provider_errors or []), entry]
            row.updated_at = utcnow()

    def list_deliveries(
        self,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        q = select(Delivery).order_by(Delivery.id)
        if after is not None:
            q = q.where(Delivery.id > after)
        if subject_type:
            q = q.where(Delivery.subject_type == subject_type)
        if subject_id:
            q = q.where(Delivery.subject_id == subject_id)
        if limit:
            q = q.limit(limit)
        with self.session() as s:
            return list(s.scalars(q))

    # ------------------------------------------------------------ groups

    def create_group(
        self, name: str, description: str | None = None, *, display_name: str | None = None
    ) -> bool:
        """Create the group if absent; returns whether it was created."""
        with self.session() as s:
            if s.get(Group, name) is not None:
                return False
            s.add(Group(name=name, description=description, display_name=display_name))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                return False
            return True

    def get_group(self, name: str) -> GroupInfo | None:
        with self.session() as s:
            row = s.get(Group, name)
            if row is None:
                return None
            count = s.scalar(
                select(func.count()).select_from(GroupMember).where(GroupMember.group_name == name)
            )
            return GroupInfo(row.name, row.description, int(count or 0), row.display_name)

    def list_groups(self) -> list[GroupInfo]:
        with self.session() as s:
            counts = dict(
                s.execute(
                    select(GroupMember.group_name, func.count()).group_by(GroupMember.group_name)
                ).all()
            )
            return [
                GroupInfo(
                    g.name, g.description, int(counts.get(g.name, 0)), g.display_name, g.channels
                )
                for g in s.scalars(select(Group).order_by(Group.name))
            ]

    def add_members(self, group: str, subscriber_ids: list[str]) -> int:
        """Add people to a group (already members are left as they are); returns how many."""
        with self.session() as s, s.begin():
            present = set(
                s.scalars(
                    select(GroupMember.subscriber_id).where(
                        GroupMember.group_name == group,
                        GroupMember.subscriber_id.in_(subscriber_ids),
                    )
                )
            )
            new = [sid for sid in dict.fromkeys(subscriber_ids) if sid not in present]
            s.add_all(GroupMember(group_name=group, subscriber_id=sid) for sid in new)
            return len(new)

    def remove_members(self, group: str, subscriber_ids: list[str]) -> int:
        with self.session() as s, s.begin():
            result = s.execute(
                delete(GroupMember).where(
                    GroupMember.group_name == group, GroupMember.subscriber_id.in_(subscriber_ids)
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def group_members(self, group: str, *, after: str | None = None, limit: int = 500) -> list[str]:
        """One page of member ids in id order, after ``after`` (keyset paging: stable and cheap
        on groups of any size)."""
        q = select(GroupMember.subscriber_id).where(GroupMember.group_name == group)
        if after is not None:
            q = q.where(GroupMember.subscriber_id > after)
        with self.session() as s:
            return list(s.scalars(q.order_by(GroupMember.subscriber_id).limit(limit)))

    def members_with_whatsapp(self, group: str, number: str) -> list[str]:
        """The members of ``group`` whose WhatsApp number is ``number``, by id."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Subscriber.id)
                    .join(GroupMember, GroupMember.subscriber_id == Subscriber.id)
                    .where(GroupMember.group_name == group, Subscriber.whatsapp == number)
                    .order_by(Subscriber.id)
                )
            )

    def existing_subscribers(self, subscriber_ids: list[str]) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(Subscriber.id).where(Subscriber.id.in_(subscriber_ids))))

    # ------------------------------------------------------------ admin templates

    def upsert_template(
        self, name: str, locale: str, *, subject: str, body: str, short: str | None
    ) -> bool:
        """Create or replace one template in one locale; returns whether it was created."""
        with self.session() as s, s.begin():
            row = s.get(AdminTemplate, (name, locale))
            created = row is None
            if row is None:
                row = AdminTemplate(name=name, locale=locale, subject=subject, body=body)
                s.add(row)
            row.subject, row.body, row.short = subject, body, short
            row.updated_at = utcnow()
            return created

    def get_template(self, name: str, locale: str) -> TemplateText | None:
        """The template in ``locale``, else in any other locale, else None."""
        with self.session() as s:
            row = s.get(AdminTemplate, (name, locale)) or s.scalar(
                select(AdminTemplate)
                .where(AdminTemplate.name == name)
                .order_by(AdminTemplate.locale)
            )
            if row is None:
                return None
            return TemplateText(row.name, row.locale, row.subject, row.body, row.short)

    def list_templates(self) -> list[TemplateText]:
        with self.session() as s:
            return [
                TemplateText(r.name, r.locale, r.subject, r.body, r.short)
                for r in s.scalars(
                    select(AdminTemplate).order_by(AdminTemplate.name, AdminTemplate.locale)
                )
            ]

    # ------------------------------------------------------------ in-app inbox

    def add_inbox(
        self,
        *,
        delivery_key: str,
        subscriber_id: str,
        kind: str,
        title: str,
        body: str,
        priority: str,
        link: str | None,
    ) -> int:
        """Insert the notification once per delivery key; returns its id."""
        with self.session() as s:
            existing = s.scalar(
                select(InboxNotification.id).where(InboxNotification.delivery_key == delivery_key)
            )
            if existing is not None:
                return existing
            row = InboxNotification(
                delivery_key=delivery_key,
                subscriber_id=subscriber_id,
                kind=kind,
                title=title,
                body=body,
                priority=priority,
                link=link,
                category=CATEGORY_OF_PREFIX.get(kind.split(".", 1)[0]),
            )
            s.add(row)
            try:
                s.commit()
            except IntegrityError:  # a concurrent attempt inserted it first
                s.rollback()
                found = s.scalar(
                    select(InboxNotification.id).where(
                        InboxNotification.delivery_key == delivery_key
                    )
                )
                assert found is not None
                return found
            return row.id

    def list_inbox(
        self, subscriber_id: str, *, page: int = 1, page_size: int = 20, unread_only: bool = False
    ) -> list[InboxNotification]:
        """Unread first, then newest first; pages start at 1."""
        q = (
            select(InboxNotification)
            .where(
                InboxNotification.subscriber_id == subscriber_id,
                InboxNotification.archived_at.is_(None),
            )
            .order_by(
                InboxNotification.read_at.is_not(None),
                InboxNotification.created_at.desc(),
                InboxNotification.id.desc(),
            )
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        if unread_only:
            q = q.where(InboxNotification.read_at.is_(None))
        with self.session() as s:
            return list(s.scalars(q))

    def count_unread(self, subscriber_id: str) -> int:
        with self.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(InboxNotification)
                    .where(
                        InboxNotification.subscriber_id == subscriber_id,
                        InboxNotification.read_at.is_(None),
                        InboxNotification.archived_at.is_(None),
                    )
                )
                or 0
            )

    def mark_read(self, subscriber_id: str, notification_ids: list[int] | None = None) -> int:
        """Mark some (or all) of a person's unread notifications read; returns how many."""
        q = update(InboxNotification).where(
            InboxNotification.subscriber_id == subscriber_id, InboxNotification.read_at.is_(None)
        )
        if notification_ids is not None:
            q = q.where(InboxNotification.id.in_(notification_ids))
        with self.session() as s, s.begin():
            return int(s.execute(q.values(read_at=utcnow())).rowcount or 0)  # type: ignore[attr-defined]


def purge_in_batches(
    store: Store,
    model: Any,
    *conditions: Any,
    batch_size: int,
    on_batch: Any = None,
    key: str = "id",
) -> tuple[int, int]:
    """Delete matching rows ``batch_size`` at a time, each batch its own short transaction,
    so the table is never locked for long; ``key`` is the model's primary key column.
    Returns (rows deleted, batches)."""
    column = getattr(model, key)
    deleted = batches = 0
    while True:
        with store.session() as s, s.begin():
            ids = list(
                s.scalars(select(column).where(*conditions).order_by(column).limit(batch_size))
            )
            if not ids:
                return deleted, batches
            s.execute(delete(model).where(column.in_(ids)))
        deleted += len(ids)
        batches += 1
        if on_batch is not None:
            on_batch(deleted)


def inbox_as_dict(row: InboxNotification) -> dict[str, Any]:
    return {
        "id": row.id,
        "subscriber_id": row.subscriber_id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "priority": row.priority,
        "link": row.link,
        "created_at": row.created_at.isoformat(),
        "read": row.read_at is not None,
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "category": row.category,
        "archived": row.archived_at is not None,
        "archived_at": row.archived_at.isoformat() if row.archived_at else None,
    }


def life_of(row: Delivery) -> list[dict[str, str]]:
    """The row's states with their times, in time order: planned, sent, delivered, read…
    (a state reported out of order still shows at its own time)."""
    steps = [("planned", row.created_at), ("sent", row.sent_at)]
    steps += [
        (state, getattr(row, f"{state}_at"))
        for state in ("delivered", "read", "bounced", "complained", "undelivered")
    ]
    life = [(state, at) for state, at in steps if at is not None]
    if row.status not in {s for s, _ in life} and row.status not in ("pending", "sent"):
        life.append((row.status, row.updated_at))
    life.sort(key=lambda step: step[1])
    return [{"state": state, "at": at.isoformat()} for state, at in life]


def delivery_as_dict(row: Delivery) -> dict[str, Any]:
    """The public JSON shape of a delivery log row (``herald deliveries --json``)."""

    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {
        "id": row.id,
        "loan_id": row.subject_id if row.subject_type == "loan" else None,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "workflow_id": row.workflow_id,
        "notification_id": row.notification_id,
        "idempotency_key": row.idempotency_key,
        "kind": row.kind,
        "role": row.role,
        "channel": row.channel,
        "provider": row.provider,
        "subscriber_id": row.subscriber_id,
        "recipient": row.recipient,
        "status": row.status,
        "attempts": row.attempts,
        "scheduled_at": iso(row.scheduled_at),
        "sent_at": iso(row.sent_at),
        "delivered_at": iso(row.delivered_at),
        "read_at": iso(row.read_at),
        "bounced_at": iso(row.bounced_at),
        "complained_at": iso(row.complained_at),
        "undelivered_at": iso(row.undelivered_at),
        "provider_reason": row.provider_reason,
        "life": life_of(row),
        "provider_message_id": row.provider_message_id,
        "error": row.error,
        "note": row.note,
        "provider_errors": row.provider_errors or [],
        "segments": row.segments,
        "encoding": row.encoding,
        "cost_estimate": row.cost_estimate,
        "cost_currency": row.cost_currency,
    }


__all__ = [
    "Contact",
    "DeliveryStatus",
    "PreferenceSet",
    "Store",
    "delivery_as_dict",
    "inbox_as_dict",
    "migrate",
]

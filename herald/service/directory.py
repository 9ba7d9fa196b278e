"""The directory: people, their contact points and their notification preferences."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from herald.contacts import check_locale, check_timezone, normalise_email, normalise_phone
from herald.contracts import RULES_CHANGED_SIGNAL, MailboxStatus, mailbox_workflow_id
from herald.errors import HeraldError, InvalidInput, NotFound
from herald.holding import (
    HoldRules,
    parse_clock,
    parse_digest_mode,
    parse_quiet_hours,
    parse_weekday,
)
from herald.kinds import ALL_CHANNELS, CATEGORIES, OPTIONAL_KINDS, Channel
from herald.service.base import UNSET, ServiceBase, log
from herald.store import Contact, PreferenceSet
from herald.validation import check_id, optional_text


class DirectoryService(ServiceBase):
    async def upsert_subscriber(
        self,
        subscriber_id: str,
        *,
        name: str | None = UNSET,
        email: str | None = UNSET,
        phone: str | None = UNSET,
        whatsapp: str | None = UNSET,
        locale: str = UNSET,
        timezone: str = UNSET,
    ) -> Contact:
        """Create or update a person. Unset fields keep their value; ``None`` or ``""`` clears one."""
        check_id(subscriber_id, "subscriber id")
        fields: dict[str, Any] = {}
        region = self.settings.default_phone_region
        if name is not UNSET:
            fields["name"] = optional_text(name, "name")
        if email is not UNSET:
            fields["email"] = (
                normalise_email(
                    email,
                    smtputf8=self.settings.email_smtputf8,
                    special_use_domains=self.settings.email_special_use_domains,
                )
                if email
                else None
            )
        if phone is not UNSET:
            fields["phone"] = normalise_phone(phone, region) if phone else None
        if whatsapp is not UNSET:
            fields["whatsapp"] = normalise_phone(whatsapp, region) if whatsapp else None
        if locale is not UNSET:
            fields["locale"] = check_locale(locale)
        before: Contact | None = None
        if timezone is not UNSET:
            fields["timezone"] = check_timezone(timezone)
            before = await asyncio.to_thread(self.store.get_contact, subscriber_id)
        contact, _ = await asyncio.to_thread(
            self.store.upsert_subscriber,
            subscriber_id,
            default_locale=self.settings.default_locale,
            default_timezone=self.settings.default_timezone,
            **fields,
        )
        if before is not None and before.timezone != contact.timezone:
            await self._timezone_changed(subscriber_id)
        return contact

    async def _timezone_changed(self, subscriber_id: str) -> None:
        """Called once a person's time zone changed; what follows their zone (the daily
        summary) overrides it."""

    async def get_subscriber(self, subscriber_id: str) -> Contact:
        check_id(subscriber_id, "subscriber id")
        contact = await asyncio.to_thread(self.store.get_contact, subscriber_id)
        if contact is None:
            raise NotFound(f"unknown subscriber {subscriber_id!r}")
        return contact

    async def set_preferences(
        self,
        subscriber_id: str,
        *,
        email: bool | None = None,
        sms: bool | None = None,
        whatsapp: bool | None = None,
        reminders: dict[str, bool] | None = None,
        in_app: bool | None = None,
        categories: dict[str, bool | list[str]] | None = None,
        quiet_hours: str | None = UNSET,
        digest: str | None = None,
        digest_at: str | None = None,
        digest_weekday: str | int | None = None,
    ) -> PreferenceSet:
        """Channel, kind and category toggles, quiet hours and digest mode; read by the worker
        when each notice falls due.

        ``quiet_hours="21:00-07:30"`` (local, in the person's zone) or ``None``/``"off"``;
        ``digest="daily"|"weekly"|"off"`` with ``digest_at="18:00"`` and, weekly,
        ``digest_weekday="friday"``. A change of quiet hours or digest applies at once to
        the notices already waiting.
        """
        contact = await self.get_subscriber(subscriber_id)
        for kind in reminders or {}:
            if kind not in OPTIONAL_KINDS:
                raise InvalidInput(
                    f"{kind!r} cannot be switched off: choose among {', '.join(OPTIONAL_KINDS)}"
                )
        for category in categories or {}:
            if category not in CATEGORIES:
                raise InvalidInput(
                    f"unknown category {category!r}: choose among {', '.join(CATEGORIES)}"
                )
        if categories is not None:
            categories = {c: _category_choice(c, v) for c, v in categories.items()}
        rules: dict[str, Any] = {}
        try:
            if quiet_hours is not UNSET:
                rules["quiet_hours"] = parse_quiet_hours(quiet_hours or "off")
            if digest is not None:
                rules["digest"] = parse_digest_mode(digest)
            if digest_at is not None:
                rules["digest_at"] = parse_clock(digest_at)
            if digest_weekday is not None:
                rules["digest_weekday"] = parse_weekday(digest_weekday)
        except ValueError as err:
            raise InvalidInput(str(err)) from None
        channels = {
            ch: on
            for ch, on in (
                (Channel.EMAIL, email),
                (Channel.SMS, sms),
                (Channel.WHATSAPP, whatsapp),
                (Channel.IN_APP, in_app),
            )
            if on is not None
        }
        prefs = await asyncio.to_thread(
            self.store.set_preferences,
            subscriber_id,
            channels=channels,
            kinds=reminders,
            categories=categories,
            **rules,
        )
        if rules:
            await self._wake_mailbox(subscriber_id, prefs.hold_rules(contact.timezone))
        return prefs

    async def get_preferences(self, subscriber_id: str) -> PreferenceSet:
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(self.store.get_preferences, subscriber_id)

    async def mailbox(self, subscriber_id: str) -> MailboxStatus | None:
        """What waits for the person's quiet hours to end or for their digest (None: nothing)."""
        await self.get_subscriber(subscriber_id)
        try:
            return await self._query(
                mailbox_workflow_id(subscriber_id), f"mailbox of {subscriber_id!r}", MailboxStatus
            )
        except NotFound:
            return None

    async def _wake_mailbox(self, subscriber_id: str, rules: HoldRules) -> None:
        """Tell the person's mailbox, if they have one, that their rules changed, so what
        waits follows the new rules now. Best effort: when Temporal cannot be reached, the
        mailbox still reads the rules again at its next wake-up."""
        try:
            client = await asyncio.wait_for(self.temporal(), 10)
            handle = client.get_workflow_handle(mailbox_workflow_id(subscriber_id))
            await asyncio.wait_for(handle.signal(RULES_CHANGED_SIGNAL, rules), 10)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:  # no mailbox: nothing waits
                log.warning("could not tell the mailbox of %s: %s", subscriber_id, err)
        except (HeraldError, TimeoutError) as err:
            log.warning("could not tell the mailbox of %s: %s", subscriber_id, err)


def _category_choice(category: str, choice: object) -> bool | list[str]:
    """On, off, or the only channels a category may use (at least one, each known once)."""
    if isinstance(choice, bool):
        return choice
    if not isinstance(choice, list | tuple) or not choice:
        raise InvalidInput(
            f"category {category!r}: give on/off or a non-empty list of channels "
            f"({', '.join(c.value for c in ALL_CHANNELS)})"
        )
    channels: list[str] = []
    known = {c.value for c in ALL_CHANNELS}
    for item in choice:
        if not isinstance(item, str) or item not in known:
            raise InvalidInput(
                f"category {category!r}: unknown channel {str(item)[:40]!r}: choose among "
                f"{', '.join(sorted(known))}"
            )
        if item not in channels:
            channels.append(item)
    return channels

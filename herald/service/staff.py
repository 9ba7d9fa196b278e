"""Staff alerts: groups of people, admin templates, and alerts sent from a template to
people and whole groups."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.common import WorkflowIDReusePolicy

from herald.admin_templates import AdminTemplateRenderer, Notice
from herald.contacts import check_locale
from herald.contracts import NotifyInput, NotifyResult
from herald.errors import InvalidInput
from herald.kinds import Channel
from herald.rendering import TemplateError
from herald.service.base import ServiceBase
from herald.staff_routing import staff_routing
from herald.store import GroupInfo, TemplateText
from herald.validation import (
    LIMITS,
    check_context,
    check_id,
    check_ids,
    check_link,
    optional_text,
    required_text,
    show,
)
from workflows.staff import StaffNotifyWorkflow


class StaffService(ServiceBase):
    # ------------------------------------------------------------------ groups

    async def create_group(
        self, name: str, description: str | None = None, *, display_name: str | None = None
    ) -> bool:
        """Create the group if absent (returns whether it was); ``name`` is the slug
        (``technical-admins``), ``display_name`` what people read ("Technical Admin")."""
        check_id(name, "group name")
        description = optional_text(description, "description")
        display_name = optional_text(display_name, "display_name")
        return await asyncio.to_thread(
            self.store.create_group, name, description, display_name=display_name
        )

    async def add_to_group(self, name: str, subscriber_ids: list[str]) -> int:
        await self._group(name)
        await self._existing(subscriber_ids)
        return await asyncio.to_thread(self.store.add_members, name, subscriber_ids)

    async def remove_from_group(self, name: str, subscriber_ids: list[str]) -> int:
        await self._group(name)
        subscriber_ids = check_ids(subscriber_ids, "subscriber id")
        return await asyncio.to_thread(self.store.remove_members, name, subscriber_ids)

    async def groups(self) -> list[GroupInfo]:
        return await asyncio.to_thread(self.store.list_groups)

    async def group_members(self, name: str) -> list[str]:
        await self._group(name)
        members: list[str] = []
        after: str | None = None
        while True:
            page = await asyncio.to_thread(self.store.group_members, name, after=after, limit=1000)
            members.extend(page)
            if len(page) < 1000:
                return members
            after = page[-1]

    # ------------------------------------------------------------------ admin templates

    async def set_template(
        self, name: str, *, locale: str, subject: str, body: str, short: str | None = None
    ) -> bool:
        """Create or replace an admin template; refused when a field is over 64 KiB (before
        parsing), when it does not parse, or when the short text is over 1,000 characters."""
        checked = await asyncio.to_thread(
            self._checked_template, name, locale=locale, subject=subject, body=body, short=short
        )
        return await asyncio.to_thread(
            self.store.upsert_template,
            checked.name,
            checked.locale,
            subject=checked.subject,
            body=checked.body,
            short=checked.short,
        )

    @staticmethod
    def _checked_template(
        name: object, *, locale: object, subject: object, body: object, short: object
    ) -> TemplateText:
        """One admin template's fields, cleaned and parsed, or InvalidInput."""
        slug = check_id(name, "template name")
        lang = check_locale(locale if isinstance(locale, str) else show(locale))
        title = required_text(subject, "subject", limit=LIMITS["template_subject"])
        text = required_text(body, "body", limit=LIMITS["template_text"], multiline=True)
        brief = optional_text(short, "short text", limit=LIMITS["template_text"], multiline=True)
        renderer = AdminTemplateRenderer()
        try:
            renderer.check_short(brief, f"template {slug!r} short")
            for part, value in (("subject", title), ("body", text), ("short", brief or "")):
                renderer.check(value, f"template {slug!r} {part}")
        except TemplateError as err:
            raise InvalidInput(str(err)) from None
        return TemplateText(slug, lang, title, text, brief)

    async def templates(self) -> list[TemplateText]:
        return await asyncio.to_thread(self.store.list_templates)

    async def preview_template(
        self, name: str, *, locale: str = "fr", context: dict[str, Any] | None = None
    ) -> Notice:
        """Render an admin template as a recipient would see it (the fallback if missing)."""
        check_id(name, "template name")
        check_locale(locale)
        context = check_context(context)
        template = await asyncio.to_thread(self.store.get_template, name, locale)
        full = {
            **(context or {}),
            "recipient": {"id": "preview", "name": "Preview", "locale": locale, "timezone": "UTC"},
            "brand": {"name": self.settings.brand_name},
        }
        try:
            # The worker's own code path and limits (a render process, killed when too long).
            return await asyncio.to_thread(AdminTemplateRenderer().render, name, template, full)
        except TemplateError as err:
            raise InvalidInput(str(err)) from None

    # ------------------------------------------------------------------ staff alerts

    async def notify(
        self,
        template: str,
        *,
        user_ids: list[str] | None = None,
        group_names: list[str] | None = None,
        context: dict[str, Any] | None = None,
        priority: str = "medium",
        channels: list[str] | None = None,
        link: str | None = None,
        request_id: str | None = None,
        wait: bool = False,
        event: str | None = None,
    ) -> tuple[str, NotifyResult | None]:
        """Send an admin template to people and whole groups, one delivery per person and
        channel. Returns the request id (and the totals when ``wait``).

        ``event`` (``invoice.processed``) instead of ``group_names``: the groups
        ``HERALD_EVENT_GROUPS`` names for it."""
        check_id(template, "template name")
        users = check_ids(user_ids or [], "subscriber id")
        groups = check_ids(group_names or [], "group name")
        if event is not None:
            if groups:
                raise InvalidInput("give either group names or an event, not both")
            groups = self._event_groups(event)
        if not users and not groups:
            raise InvalidInput("give at least one user or group")
        for g in groups:
            await self._group(g)
        await self._existing(users)
        if priority not in self.settings.priority_routes:
            raise InvalidInput(
                f"unknown priority {priority!r}: use one of {', '.join(self.settings.priority_routes)}"
            )
        try:
            wanted = [Channel(c) for c in channels] if channels else None
        except ValueError as err:
            raise InvalidInput(f"{err}: use email, sms, whatsapp or in_app") from None
        context = check_context(context)
        link = check_link(link)
        request_id = check_id(request_id, "request id") if request_id else uuid.uuid4().hex[:16]
        routing = await asyncio.to_thread(
            staff_routing, self.store, self.settings, template, groups, wanted
        )
        _, handle = await self._start(
            StaffNotifyWorkflow.run,
            NotifyInput(
                request_id=request_id,
                template=template,
                user_ids=users,
                group_names=groups,
                context=context,
                priority=priority,
                link=link,
                batch_size=self.settings.fanout_batch_size,
                tech_admins_group=self.settings.tech_admins_group,
                **routing,
            ),
            business_id=request_id,
            workflow_id=f"notify-{request_id}",
            what=f"alert {request_id}",
            ended=(
                f"request id {request_id!r} was already used by an alert that has ended; "
                "a new alert needs a new request id"
            ),
            reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"{template} to {', '.join(groups + users)[:80]}",
        )
        assert handle is not None  # an ended alert is refused above
        return request_id, (await handle.result()) if wait else None

    def _event_groups(self, event: object) -> list[str]:
        name = required_text(event, "event", limit=LIMITS["id"])
        groups = self.settings.event_groups.get(name)
        if not groups:
            raise InvalidInput(
                f"no groups for the event {show(name)}: map it in HERALD_EVENT_GROUPS"
            )
        return check_ids(list(groups), "group name")

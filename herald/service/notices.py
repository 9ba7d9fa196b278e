"""Ad-hoc notices (an application's ``create_notification(title, message, data)``): a title
and a message to people and whole groups, no template needed; at once or at a later time,
cancellable until then; and a dry run that answers who would get what on which channel.

A notice is a staff alert without a template (``StaffNotifyWorkflow``, kind
``staff.notice``): the same fan-out, delivery log, preferences, quiet hours and failure
alerts. The dry run decides each person's channels with the worker's own planning
(:func:`herald.planning.plan_channels`) and sends, writes and starts nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.common import WorkflowIDReusePolicy

from herald.contracts import (
    DeliveryRequest,
    DeliveryStatus,
    NoticeCancelled,
    NotifyInput,
    NotifyResult,
    Role,
)
from herald.errors import InvalidInput
from herald.holding import HoldReason
from herald.kinds import Channel
from herald.planning import plan_channels
from herald.service.staff import StaffService
from herald.validation import (
    LIMITS,
    aware_instant,
    check_context,
    check_id,
    check_ids,
    check_link,
    required_text,
)
from workflows.staff import NOTICE_KIND, StaffNotifyWorkflow

TITLE_LIMIT = LIMITS["title"]
MESSAGE_LIMIT = 10_000
# People a dry run lists one by one (the count covers everyone).
DRY_RUN_LISTED = 200
# How far ahead a notice may be scheduled.
SCHEDULE_HORIZON = timedelta(days=366)
DRY_RUN_STATUS = {
    DeliveryStatus.PENDING: "send",
    DeliveryStatus.SKIPPED: "skipped",
    DeliveryStatus.SUPPRESSED: "suppressed",
}


class NoticeService(StaffService):
    def _notice_input(
        self,
        title: object,
        message: object,
        *,
        user_ids: list[str] | None,
        group_names: list[str] | None,
        event: str | None,
        data: dict[str, Any] | None,
        priority: str,
        channels: list[str] | None,
        link: str | None,
        scheduled_for: datetime | None,
        request_id: str | None,
    ) -> NotifyInput:
        """Every field checked, as the workflow would take it (nothing read yet)."""
        title = required_text(title, "title", limit=TITLE_LIMIT)
        message = required_text(message, "message", limit=MESSAGE_LIMIT, multiline=True)
        users = check_ids(user_ids or [], "subscriber id")
        groups = check_ids(group_names or [], "group name")
        if event is not None:
            if groups:
                raise InvalidInput("give either group names or an event, not both")
            groups = self._event_groups(event)
        if not users and not groups:
            raise InvalidInput("give at least one user or group")
        if priority not in self.settings.priority_routes:
            raise InvalidInput(
                f"unknown priority {priority!r}: use one of {', '.join(self.settings.priority_routes)}"
            )
        try:
            wanted = [Channel(c) for c in channels] if channels else None
        except ValueError as err:
            raise InvalidInput(f"{err}: use email, sms, whatsapp or in_app") from None
        at = None
        if scheduled_for is not None:
            at = aware_instant(scheduled_for, "the scheduled time")
            now = datetime.now(UTC)
            if at <= now:
                raise InvalidInput(f"the scheduled time {at.isoformat()} is in the past")
            if at > now + SCHEDULE_HORIZON:
                raise InvalidInput(
                    f"the scheduled time {at.isoformat()} is more than a year from now"
                )
        return NotifyInput(
            request_id=check_id(request_id, "request id") if request_id else uuid.uuid4().hex[:16],
            template="",
            title=title,
            message=message,
            data=check_context(data, "the data"),
            user_ids=users,
            group_names=groups,
            priority=priority,
            channels=wanted,
            link=check_link(link),
            scheduled_for=at,
            batch_size=self.settings.fanout_batch_size,
            tech_admins_group=self.settings.tech_admins_group,
        )

    async def create_notice(
        self,
        title: str,
        message: str,
        *,
        user_ids: list[str] | None = None,
        group_names: list[str] | None = None,
        event: str | None = None,
        data: dict[str, Any] | None = None,
        priority: str = "medium",
        channels: list[str] | None = None,
        link: str | None = None,
        scheduled_for: datetime | None = None,
        request_id: str | None = None,
        wait: bool = False,
    ) -> tuple[str, NotifyResult | None]:
        """Send a title and a message (one line, and any number of lines) to people and
        whole groups, one delivery per person and channel; with ``scheduled_for``, at that
        time (cancel it until then with :meth:`cancel_notice`). ``data`` is the
        application's, kept with each delivery's request. Returns the request id (and the
        totals when ``wait``); the same request id twice sends once."""
        inp = self._notice_input(
            title,
            message,
            user_ids=user_ids,
            group_names=group_names,
            event=event,
            data=data,
            priority=priority,
            channels=channels,
            link=link,
            scheduled_for=scheduled_for,
            request_id=request_id,
        )
        await self._recipients_exist(inp)
        when = f" at {inp.scheduled_for:%Y-%m-%d %H:%M}Z" if inp.scheduled_for else ""
        _, handle = await self._start(
            StaffNotifyWorkflow.run,
            inp,
            business_id=inp.request_id,
            workflow_id=f"notify-{inp.request_id}",
            what=f"notice {inp.request_id}",
            ended=(
                f"request id {inp.request_id!r} was already used by an alert that has ended; "
                "a new notice needs a new request id"
            ),
            reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"{(inp.title or '')[:60]}{when}",
        )
        assert handle is not None  # an ended alert is refused above
        return inp.request_id, (await handle.result()) if wait else None

    async def cancel_notice(self, request_id: str) -> NoticeCancelled:
        """Cancel a notice scheduled for later, before it fires: nothing is sent. A notice
        that went out (or any alert sent at once) is a conflict."""
        check_id(request_id, "request id")
        what = f"notice {request_id}"
        handle = await self._running_workflow(f"notify-{request_id}", what)
        return await self._update(handle, "cancel", None, NoticeCancelled)

    async def preview_notice(
        self,
        title: str,
        message: str,
        *,
        user_ids: list[str] | None = None,
        group_names: list[str] | None = None,
        event: str | None = None,
        data: dict[str, Any] | None = None,
        priority: str = "medium",
        channels: list[str] | None = None,
        link: str | None = None,
        scheduled_for: datetime | None = None,
    ) -> dict[str, Any]:
        """A dry run of :meth:`create_notice`: who would get what on which channel (the
        address, or why not: preferences, no address, suppressed, quiet hours or digest),
        as the worker would decide now (or at ``scheduled_for``). Sends, writes and starts
        nothing. The first 200 people are listed; ``recipients`` counts everyone."""
        inp = self._notice_input(
            title,
            message,
            user_ids=user_ids,
            group_names=group_names,
            event=event,
            data=data,
            priority=priority,
            channels=channels,
            link=link,
            scheduled_for=scheduled_for,
            request_id=None,
        )
        await self._recipients_exist(inp)
        return await asyncio.to_thread(self._dry_run, inp)

    async def _recipients_exist(self, inp: NotifyInput) -> None:
        """Every group and person the notice names exists (else NotFound, nothing started)."""
        for g in inp.group_names:
            await self._group(g)
        await self._existing(inp.user_ids)

    def _dry_run(self, inp: NotifyInput) -> dict[str, Any]:
        people: list[str] = list(dict.fromkeys(inp.user_ids))
        seen = set(people)
        for group in inp.group_names:
            after: str | None = None
            while True:
                page = self.store.group_members(group, after=after, limit=1000)
                for member in page:
                    if member not in seen:
                        seen.add(member)
                        people.append(member)
                if len(page) < 1000:
                    break
                after = page[-1]
        providers = frozenset(c for c in Channel if self.settings.provider_chain(c))
        at = inp.scheduled_for or datetime.now(UTC)
        deliveries: list[dict[str, Any]] = []
        for subscriber_id in people[:DRY_RUN_LISTED]:
            request = DeliveryRequest(
                workflow_id=f"notify-{inp.request_id}",
                notification_id=f"notice/{subscriber_id}",
                kind=NOTICE_KIND,
                role=Role.STAFF,
                subscriber_id=subscriber_id,
                subject_type="staff",
                subject_id=inp.request_id,
                scheduled_at=at,
                priority=inp.priority,
                channels=inp.channels,
                data={"title": inp.title, "message": inp.message, "link": inp.link},
            )
            plan = plan_channels(self.store, self.settings, providers, request)
            held = None
            if plan.hold is not None and plan.prefs is not None and plan.contact is not None:
                tz = plan.contact.timezone
                held = (
                    f"held for quiet hours until "
                    f"{plan.hold.until.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} {tz}"
                    if plan.hold.reason is HoldReason.QUIET
                    else "collected for the digest"
                )
            for d in plan.decisions:
                sending = d.status is DeliveryStatus.PENDING
                deliveries.append(
                    {
                        "subscriber_id": subscriber_id,
                        "channel": d.channel.value,
                        "status": "held" if sending and held else DRY_RUN_STATUS[d.status],
                        "address": d.recipient,
                        "reason": (held if sending and held else d.reason),
                    }
                )
        return {
            "title": inp.title,
            "recipients": len(people),
            "listed": min(len(people), DRY_RUN_LISTED),
            "at": at.isoformat(),
            "deliveries": deliveries,
        }

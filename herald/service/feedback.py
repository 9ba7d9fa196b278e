"""The feedback loop, for ops and applications: the suppression list, a person's WhatsApp
window, and what providers reported about one delivery (see :mod:`herald.receipts`)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from herald import outbound, receipts, sms_budget
from herald.contacts import normalise_email, normalise_phone
from herald.db import utcnow
from herald.errors import InvalidInput, NotFound
from herald.kinds import Channel
from herald.service.directory import DirectoryService
from herald.validation import check_int, optional_text, required_text

SUPPRESSIBLE = {c.value: c for c in receipts.SUPPRESSIBLE}
MAX_SUPPRESSIONS_PAGE = 500
REASON_LIMIT = 500


class FeedbackService(DirectoryService):
    def _suppressible(self, channel: object) -> Channel:
        found = SUPPRESSIBLE.get(channel) if isinstance(channel, str) else None
        if found is None:
            raise InvalidInput(
                f"unknown channel {str(channel)[:40]!r} for the suppression list: use "
                f"{', '.join(SUPPRESSIBLE)}"
            )
        return found

    def _address(self, channel: Channel, address: object) -> str:
        if not isinstance(address, str):
            raise InvalidInput(f"the {channel.value} address must be text")
        if channel is Channel.EMAIL:
            s = self.settings
            return normalise_email(
                address, smtputf8=s.email_smtputf8, special_use_domains=s.email_special_use_domains
            )
        return normalise_phone(address, self.settings.default_phone_region)

    async def suppressions(
        self,
        channel: str | None = None,
        address: str | None = None,
        *,
        include_lifted: bool = False,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The suppression list, oldest first (active only unless ``include_lifted``)."""
        ch = self._suppressible(channel) if channel is not None else None
        if address is not None:
            address = (
                self._address(ch, address)
                if ch is not None
                else required_text(address, "address", limit=320)
            )
        if after is not None:
            check_int(after, "the cursor", low=0)
        if limit is not None:
            check_int(limit, "the page size", low=1, high=MAX_SUPPRESSIONS_PAGE)
        return await asyncio.to_thread(
            receipts.list_suppressions,
            self.store,
            channel=ch,
            address=address,
            include_lifted=bool(include_lifted),
            after=after,
            limit=limit or 100,
        )

    async def suppress(
        self, channel: str, address: str, *, reason: str, actor: str = "ops"
    ) -> dict[str, Any]:
        """Put an address on the suppression list of a channel: nothing more is sent to it
        there (a mandatory notice falls back to the person's other channels). Suppressing an
        address already suppressed answers the existing entry (``created``: false)."""
        ch = self._suppressible(channel)
        addr = self._address(ch, address)
        why = required_text(reason, "reason", limit=REASON_LIMIT)
        who = required_text(actor, "actor", limit=200)
        row, created = await asyncio.to_thread(
            receipts.suppress, self.store, ch, addr, reason=why, source=None, by=who
        )
        if created:
            await outbound.announce(
                self.store,
                self.temporal,
                "subscriber.suppressed",
                row,
                f"subscriber.suppressed:{row['id']}",
                settings=self.settings,
            )
        return {**row, "created": created}

    async def lift_suppression(
        self, channel: str, address: str, *, reason: str | None = None, actor: str = "ops"
    ) -> dict[str, Any]:
        """Lift an address's suppression; the entry stays, with who lifted it, when and why."""
        ch = self._suppressible(channel)
        addr = self._address(ch, address)
        why = optional_text(reason, "reason", limit=REASON_LIMIT)
        who = required_text(actor, "actor", limit=200)
        lifted = await asyncio.to_thread(receipts.lift, self.store, ch, addr, by=who, reason=why)
        if not lifted:
            raise NotFound(f"{addr} is not suppressed on {ch.value}")
        return lifted[-1]

    async def whatsapp_window(
        self, subscriber_id: str, *, at: datetime | None = None
    ) -> dict[str, Any]:
        """Whether the person's WhatsApp 24-hour window is open (they wrote within it), and
        until when; outside it only approved templates are delivered."""
        contact = await self.get_subscriber(subscriber_id)
        window = await asyncio.to_thread(
            receipts.whatsapp_window, self.store, contact.whatsapp, self.settings.whatsapp_window
        )
        return window.as_dict(at or utcnow())

    async def sms_spending(self, *, months: int = 6) -> list[dict[str, Any]]:
        """SMS sent, segments and estimated cost per calendar month (the organisation's
        zone), newest first, beside ``HERALD_SMS_MONTHLY_BUDGET``."""
        check_int(months, "the number of months", low=1, high=36)
        return await asyncio.to_thread(
            sms_budget.monthly_totals, self.store, self.settings, utcnow(), months
        )

    async def delivery_events(self, delivery_id: int) -> list[dict[str, Any]]:
        """Every event the provider reported for one delivery, oldest first, each with the
        provider's own status, the Herald state it meant and the raw event (bounded)."""
        check_int(delivery_id, "the delivery id", low=1)
        events = await asyncio.to_thread(receipts.delivery_events, self.store, delivery_id)
        if events is None:
            raise NotFound(f"no delivery {delivery_id}")
        return events

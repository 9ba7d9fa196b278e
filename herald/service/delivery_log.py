"""Ops tools around the delivery log: the log counted by status and channel."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from herald.delivery_log import summarise
from herald.service.deliveries import DeliveryService, log_filter


class DeliveryLogService(DeliveryService):
    async def delivery_summary(
        self,
        loan_id: str | None = None,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        subscriber_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """How many rows of the log match the filters of :meth:`deliveries`: ``total``,
        ``by_status`` and ``by_channel`` (status or channel → count, largest first)."""
        where = log_filter(
            loan_id=loan_id,
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            channel=channel,
            kind=kind,
            subscriber_id=subscriber_id,
            since=since,
            until=until,
        )
        return await asyncio.to_thread(summarise, self.store, where)

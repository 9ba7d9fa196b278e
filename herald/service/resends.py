"""A new attempt of a delivery that failed for good (``herald deliveries resend ID``).

The new attempt is a row of its own, logged as a resend of the original (its key is the
original's with ``|resend-N``; its note names the original and who asked), sent by a
``ResendWorkflow`` of its own. Never a silent duplicate: a row that was sent, or one still
being tried, is refused, and so is a second resend while the first has not failed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio.common import WorkflowIDReusePolicy

from herald.contracts import (
    DeliveryRequest,
    DeliveryStatus,
    ResendInput,
    ResendResult,
    resend_workflow_id,
)
from herald.db import Delivery
from herald.errors import Conflict, NotFound
from herald.kinds import Channel
from herald.receipts import ACCEPTED, suppressed_channels
from herald.service.base import ServiceBase
from herald.store import delivery_as_dict
from herald.validation import check_int, required_text
from workflows.resend import ResendWorkflow

RESEND_MARK = "|resend-"
# Rows a resend is for: failed for good and never accepted by a provider.
RESENDABLE = frozenset({DeliveryStatus.PERMANENTLY_FAILED.value})


class ResendService(ServiceBase):
    async def resend_delivery(
        self, delivery_id: int, *, actor: str = "ops", wait: bool = False
    ) -> dict[str, Any]:
        """A new attempt of a delivery that failed for good, on a new row logged as its
        resend (``resend_of``: the original's id), to the person's address as it is now.
        Refused for a row that was sent, one still being tried or never sent (skipped,
        suppressed), and while an earlier resend of it has not failed. ``wait``: answer
        once the attempt is over (its status in the row)."""
        check_int(delivery_id, "the delivery id", low=1)
        who = required_text(actor, "actor", limit=200)
        original = await asyncio.to_thread(self._row_by_id, delivery_id)
        if original is None:
            raise NotFound(f"no delivery {delivery_id}")
        if original.status in ACCEPTED:
            raise Conflict(
                f"delivery {delivery_id} was {original.status}: a resend would be a duplicate"
            )
        if original.status not in RESENDABLE:
            raise Conflict(
                f"delivery {delivery_id} is {original.status}: only a delivery that failed for "
                "good can be resent"
            )
        if original.request is None:
            raise Conflict(f"delivery {delivery_id} keeps no request to compose it again")
        channel = Channel(original.channel)
        contact = await self._reachable(original.subscriber_id, "recipient")
        address = contact.address(channel)
        if not address:
            raise Conflict(f"{contact.id} has no {channel.value} address any more")
        suppressed = await asyncio.to_thread(suppressed_channels, self.store, contact)
        if channel in suppressed:
            raise Conflict(f"not resent: {suppressed[channel]}")
        row = await asyncio.to_thread(self._new_row, original, address, who)
        await self._start(
            ResendWorkflow.run,
            ResendInput(
                idempotency_key=row.idempotency_key,
                channel=channel,
                original_id=original.id,
                retry=self.settings.retry_budget(channel),
            ),
            business_id=str(row.id),
            workflow_id=resend_workflow_id(row.idempotency_key),
            what=f"resend of delivery {delivery_id}",
            ended=f"the resend of delivery {delivery_id} has run already",
            reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Resend of delivery #{delivery_id} via {channel.value}",
        )
        if wait:
            handle = (await self.temporal()).get_workflow_handle(
                resend_workflow_id(row.idempotency_key), result_type=ResendResult
            )
            await handle.result()
            done = await asyncio.to_thread(self._row_by_id, row.id)
            row = done if done is not None else row
        return {**delivery_as_dict(row), "resend_of": original.id}

    def _row_by_id(self, delivery_id: int) -> Delivery | None:
        with self.store.session() as s:
            return s.get(Delivery, delivery_id)

    def _new_row(self, original: Delivery, address: str, actor: str) -> Delivery:
        """The resend's row, pending; refused while an earlier resend is not settled as
        failed (two asking at once: one of them gets the unique key first)."""
        root = original.idempotency_key.split(RESEND_MARK, 1)[0]
        with self.store.session() as s:
            earlier = list(
                s.scalars(
                    select(Delivery)
                    .where(Delivery.idempotency_key.startswith(root + RESEND_MARK, autoescape=True))
                    .order_by(Delivery.id)
                )
            )
            for row in earlier:
                if row.status not in RESENDABLE:
                    raise Conflict(
                        f"delivery {original.id} was already resent as delivery {row.id} "
                        f"({row.status})"
                    )
            request = DeliveryRequest.model_validate(original.request)
            request = request.model_copy(update={"manual": True, "release": False})
            row = Delivery(
                idempotency_key=f"{root}{RESEND_MARK}{len(earlier) + 1}",
                workflow_id=original.workflow_id,
                notification_id=original.notification_id,
                subject_type=original.subject_type,
                subject_id=original.subject_id,
                kind=original.kind,
                role=original.role,
                channel=original.channel,
                subscriber_id=original.subscriber_id,
                recipient=address,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                scheduled_at=original.scheduled_at,
                note=f"resend of delivery {original.id} by {actor}"[:1000],
                request=request.model_dump(mode="json"),
            )
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                raise Conflict(f"delivery {original.id} is being resent already") from None
            s.refresh(row)
            s.expunge(row)
            return row

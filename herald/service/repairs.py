"""Repairs: status changes routed by priority to SMS, e-mail and in-app."""

from __future__ import annotations

import uuid

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from herald.contracts import (
    AppliedEvent,
    RepairEvent,
    RepairEventType,
    RepairInput,
    RepairState,
    RepairStatus,
)
from herald.errors import InvalidInput
from herald.repairs import default_repair_policy
from herald.search_attributes import CUSTOMER_ID, REPAIR_STATUS, TECHNICIAN_ID
from herald.service.base import ServiceBase, Started
from herald.validation import LIMITS, check_id, check_int, check_link, optional_text, required_text
from workflows.repair import RepairWorkflow


def repair_workflow_id(repair_id: str) -> str:
    return f"repair-{repair_id}"


class RepairService(ServiceBase):
    async def start_repair(
        self,
        repair_id: str,
        *,
        title: str,
        customer_id: str,
        technician_id: str | None = None,
        link: str | None = None,
    ) -> Started:
        """Start the repair's workflow (pending approval); the customer hears about it."""
        check_id(repair_id, "repair id")
        title = required_text(title, "title")
        link = check_link(link)
        await self._reachable(customer_id, "customer")
        if technician_id is not None:
            await self._reachable(technician_id, "technician")
        attributes = [
            SearchAttributePair(REPAIR_STATUS, RepairState.PENDING_APPROVAL.value),
            SearchAttributePair(CUSTOMER_ID, customer_id),
        ]
        if technician_id:
            attributes.append(SearchAttributePair(TECHNICIAN_ID, technician_id))
        started, _ = await self._start(
            RepairWorkflow.run,
            RepairInput(
                repair_id=repair_id,
                title=title,
                customer_id=customer_id,
                technician_id=technician_id,
                link=link,
                policy=default_repair_policy(self.settings),
            ),
            business_id=repair_id,
            workflow_id=repair_workflow_id(repair_id),
            what=f"repair {repair_id}",
            ended=f"repair {repair_id} is already closed; use a new repair id",
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=f"Repair {repair_id}: {title[:60]} for {customer_id}",
        )
        return started

    async def repair_event(
        self,
        repair_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        technician_id: str | None = None,
        reason: str | None = None,
        batch_id: str | None = None,
        batch_size: int | None = None,
        reward_name: str | None = None,
        reward_points: int | None = None,
        wait: bool = True,
    ) -> AppliedEvent | None:
        """Report a status change. Give the app's own ``event_id`` so a retried webhook is
        recognised; an impossible transition raises :class:`~herald.errors.Conflict`."""
        check_id(repair_id, "repair id")
        try:
            kind = RepairEventType(event_type)
        except ValueError:
            raise InvalidInput(
                f"unknown repair event {event_type!r}: use one of {', '.join(e.value for e in RepairEventType)}"
            ) from None
        if kind in (RepairEventType.ASSIGNED, RepairEventType.REASSIGNED):
            if not technician_id:
                raise InvalidInput(f"'{kind.value}' needs a technician")
            await self._reachable(technician_id, "technician")
        if batch_size is not None:
            check_int(batch_size, "the batch size", low=1, high=LIMITS["batch_size"])
        if reward_points is not None:
            check_int(reward_points, "the reward points")
        event = RepairEvent(
            event_id=check_id(event_id, "event id") if event_id else uuid.uuid4().hex,
            type=kind,
            technician_id=technician_id,
            reason=optional_text(reason, "reason", multiline=True),
            batch_id=check_id(batch_id, "batch id") if batch_id else None,
            batch_size=batch_size,
            reward_name=optional_text(reward_name, "reward"),
            reward_points=reward_points,
            batch_window_seconds=self._batch_window(),
        )
        what = f"repair {repair_id}"
        handle = await self._running_workflow(repair_workflow_id(repair_id), what)
        if not wait:
            await self._signal(handle, what, "event", event)
            return None
        return await self._update(
            handle, "apply_event", event, AppliedEvent, update_id=event.event_id
        )

    def _batch_window(self) -> int | None:
        """HERALD_REPAIR_BATCH_WINDOW in whole seconds (None when 0: no batching)."""
        seconds = int(self.settings.repair_batch_window.total_seconds())
        return seconds or None

    async def repair_status(self, repair_id: str) -> RepairStatus:
        check_id(repair_id, "repair id")
        return await self._query(
            repair_workflow_id(repair_id), f"repair {repair_id!r}", RepairStatus
        )

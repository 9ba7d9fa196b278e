"""One event that names several repairs (``repair_events``): "these twelve were approved
together". It is applied to each repair's workflow, and their notices to one person go out
as one ``repair.batch`` (see :mod:`workflows.repair_batch`), whatever
``HERALD_REPAIR_BATCH_WINDOW`` says."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from herald.contracts import AppliedEvent, RepairEvent, RepairEventType
from herald.errors import Conflict, InvalidInput, NotFound
from herald.service.base import ServiceBase
from herald.service.repairs import repair_workflow_id
from herald.validation import LIMITS, check_id, check_ids, check_int, optional_text

MAX_REPAIRS = 500
# The window of an event naming several repairs, at least: long enough for every repair's
# workflow to hand its notice over.
MIN_WINDOW_SECONDS = 10
RUNNING_AT_ONCE = 10


class RepairBatchService(ServiceBase):
    async def repair_events(
        self,
        repair_ids: list[str],
        event_type: str,
        *,
        event_id: str | None = None,
        technician_id: str | None = None,
        reason: str | None = None,
        batch_id: str | None = None,
        batch_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """Report one status change of several repairs at once (``batch_approved`` of a lot,
        say): each repair applies it as ``<event_id>/<repair_id>`` (a retry is harmless), and
        the notices to one person go out as one notice listing the repairs. Answers each
        repair's outcome (``applied``, ``duplicate``, ``refused``, ``unknown``), in order."""
        ids = list(dict.fromkeys(check_ids(repair_ids, "repair id")))
        if not ids:
            raise InvalidInput("name at least one repair")
        if len(ids) > MAX_REPAIRS:
            raise InvalidInput(f"at most {MAX_REPAIRS} repairs in one event, got {len(ids)}")
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
        base = check_id(event_id, "event id") if event_id else uuid.uuid4().hex
        window = max(int(self.settings.repair_batch_window.total_seconds()), MIN_WINDOW_SECONDS)
        template = RepairEvent(
            event_id=base,
            type=kind,
            technician_id=technician_id,
            reason=optional_text(reason, "reason", multiline=True),
            batch_id=check_id(batch_id, "batch id") if batch_id else None,
            batch_size=batch_size if batch_size is not None else len(ids),
            batch_window_seconds=window,
        )
        gate = asyncio.Semaphore(RUNNING_AT_ONCE)

        async def one(repair_id: str) -> dict[str, Any]:
            event = template.model_copy(update={"event_id": f"{base}/{repair_id}"})
            async with gate:
                try:
                    handle = await self._running_workflow(
                        repair_workflow_id(repair_id), f"repair {repair_id}"
                    )
                    applied = await self._update(
                        handle, "apply_event", event, AppliedEvent, update_id=event.event_id
                    )
                except NotFound as err:
                    return {"repair_id": repair_id, "outcome": "unknown", "detail": str(err)}
                except Conflict as err:
                    return {"repair_id": repair_id, "outcome": "refused", "detail": str(err)}
            return {
                "repair_id": repair_id,
                "outcome": applied.outcome,
                "detail": applied.detail,
            }

        return list(await asyncio.gather(*(one(r) for r in ids)))

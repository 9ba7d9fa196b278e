"""Repairs: the ``repair`` variable, and the unassigned-repair alert dropped once the repair
is closed or has a technician."""

from __future__ import annotations

from typing import Any

from herald.contracts import DeliveryRequest, RepairStatus
from herald.kinds import STALE_WHEN_CLOSED
from herald.rendering import format_datetime, format_duration
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, closed, register

UNASSIGNED_KIND = "repair.unassigned"


class Repair(Subject):
    type = "repair"
    variable = "repair"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        d = request.data
        unassigned = d.get("unassigned_seconds")
        return {
            "repair": {
                "id": d["repair_id"],
                "title": d["title"],
                "status": d["status"],
                "customer_id": d["customer_id"],
                "customer_name": env.name(d["customer_id"], recipient) or d["customer_id"],
                "technician_id": d.get("technician_id"),
                "technician_name": env.name(d.get("technician_id"), recipient),
                "previous_technician_name": env.name(d.get("previous_technician_id"), recipient),
                "reason": d.get("reason"),
                "batch_id": d.get("batch_id"),
                "batch_size": d.get("batch_size"),
                "reward_name": d.get("reward_name"),
                "reward_points": d.get("reward_points"),
                "unassigned_for": format_duration(unassigned, recipient.locale)
                if unassigned
                else None,
                "alert_number": d.get("alert_number"),
                "event_at": format_datetime(
                    request.scheduled_at, recipient.timezone, recipient.locale
                ),
                "link": d.get("link"),
            }
        }

    def obsolete(self, request: DeliveryRequest, env: SubjectEnv) -> str | None:
        if request.kind not in STALE_WHEN_CLOSED:
            return None
        if reason := closed(request, env):
            return reason
        if request.kind == UNASSIGNED_KIND:
            repair = env.require_workflows("check a held notice's repair").status(
                request.workflow_id, RepairStatus
            )
            if repair.technician_id:
                return f"repair {request.subject_id} was assigned while the notice waited"
        return None


register(Repair())

"""Repairs: the ``repair`` variable, and the unassigned-repair alert dropped once the repair
is closed or has a technician."""

from __future__ import annotations

from datetime import datetime
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


# What happened to each repair of a batch, by the notice its own workflow would have sent.
EVENT_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "repair.created": "demande reçue",
        "repair.approved": "approuvée",
        "repair.denied": "refusée",
        "repair.assigned": "vous est assignée",
        "repair.reassigned_away": "confiée à un autre technicien",
        "repair.in_progress": "en cours",
        "repair.completed": "terminée",
        "repair.batch_approved": "approuvée avec son lot",
        "repair.batch_denied": "refusée avec son lot",
        "repair.reward_redeemed": "récompense utilisée",
    },
    "en": {
        "repair.created": "request received",
        "repair.approved": "approved",
        "repair.denied": "denied",
        "repair.assigned": "assigned to you",
        "repair.reassigned_away": "given to another technician",
        "repair.in_progress": "in progress",
        "repair.completed": "completed",
        "repair.batch_approved": "approved with its batch",
        "repair.batch_denied": "denied with its batch",
        "repair.reward_redeemed": "reward redeemed",
    },
}


class RepairBatch(Subject):
    """Several repairs' notices to one person, sent as one (``repair.batch``)."""

    type = "repair_batch"
    variable = "batch"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        labels = EVENT_LABELS.get(recipient.locale, EVENT_LABELS["en"])
        items = []
        for d in request.data.get("items", []):
            at = d.get("at")
            items.append(
                {
                    "id": d.get("repair_id"),
                    "title": d.get("title"),
                    "status": d.get("status"),
                    "event": labels.get(d.get("kind", ""), d.get("kind")),
                    "kind": d.get("kind"),
                    "reason": d.get("reason"),
                    "batch_id": d.get("batch_id"),
                    "customer_name": env.name(d.get("customer_id"), recipient)
                    or d.get("customer_id"),
                    "link": d.get("link"),
                    "at": format_datetime(
                        datetime.fromisoformat(at), recipient.timezone, recipient.locale
                    )
                    if isinstance(at, str)
                    else None,
                }
            )
        batch_ids = sorted({i["batch_id"] for i in items if i["batch_id"]})
        return {
            "batch": {
                "count": len(items),
                "repairs": items,
                "batch_ids": batch_ids,
                "priority": request.priority or "medium",
            }
        }


register(Repair())
register(RepairBatch())

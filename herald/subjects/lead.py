"""CRM leads: the ``lead`` variable; a lead event is news whenever it arrives."""

from __future__ import annotations

from typing import Any

from herald.contracts import DeliveryRequest
from herald.rendering import format_datetime
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, register


class Lead(Subject):
    type = "lead"
    variable = "lead"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        d = request.data
        return {
            "lead": {
                "id": request.subject_id,
                "name": d.get("name") or request.subject_id,
                "company": d.get("company"),
                "value": d.get("value"),
                "stage": d.get("stage"),
                "previous_stage": d.get("previous_stage"),
                "fulfilment": d.get("fulfilment"),
                "assignee_name": env.name(d.get("assignee_id"), recipient),
                "previous_assignee_name": env.name(d.get("previous_assignee_id"), recipient),
                "changed_by_name": env.name(d.get("changed_by_id"), recipient),
                "event_at": format_datetime(
                    request.scheduled_at, recipient.timezone, recipient.locale
                ),
                "link": d.get("link"),
            }
        }


register(Lead())

"""CRM follow-ups: the ``followup`` variable, and reminders dropped once the task is closed,
rescheduled or given to someone else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herald.contracts import DeliveryRequest, FollowUpStatus, Role
from herald.kinds import STALE_WHEN_CLOSED
from herald.rendering import format_datetime, format_duration, format_time
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, closed, moved, register


class FollowUp(Subject):
    type = "followup"
    variable = "followup"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        d = request.data
        tz, loc = recipient.timezone, recipient.locale
        due_at = datetime.fromisoformat(d["due_at"])
        late = (request.scheduled_at - due_at).total_seconds() if d.get("alert_number") else None
        return {
            "followup": {
                "id": d["followup_id"],
                "title": d["title"],
                "customer": d.get("customer"),
                "assignee_name": env.name(d["assignee_id"], recipient),
                "due_at": format_datetime(due_at, tz, loc),
                "due_time": format_time(due_at, tz),
                "overdue_by": format_duration(late, loc) if late and late > 0 else None,
                "alert_number": d.get("alert_number"),
                "max_alerts": d.get("max_alerts"),
                "link": d.get("link"),
            }
        }

    def obsolete(self, request: DeliveryRequest, env: SubjectEnv) -> str | None:
        if request.kind not in STALE_WHEN_CLOSED:
            return None
        if reason := closed(request, env):
            return reason
        task = env.require_workflows("check a held notice's follow-up").status(
            request.workflow_id, FollowUpStatus
        )
        what = f"followup {request.subject_id}"
        if moved(request, task.due_at):
            return f"{what} was rescheduled while the notice waited"
        if request.role is Role.ASSIGNEE and task.assignee_id != request.subscriber_id:
            return f"{what} was reassigned while the notice waited"
        return None


register(FollowUp())

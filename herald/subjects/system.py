"""System alerts: a delivery that failed for good, as the log has it when the alert goes
out; a housekeeping run that failed for good."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herald.contracts import DeliveryRequest
from herald.rendering import format_datetime, format_time
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, register


class System(Subject):
    type = "system"
    variable = "failure"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        data = request.data
        if request.kind == "system.window_closing":
            closes = datetime.fromisoformat(str(data["closes_at"]))
            return {
                "window": {
                    "closes_at": format_datetime(closes, recipient.timezone, recipient.locale),
                    "closes_time": format_time(closes, recipient.timezone),
                }
            }
        if request.kind == "system.sms_budget":
            return {"budget": dict(data)}
        if request.kind == "system.housekeeping_failed":
            return {
                "housekeeping": {
                    "workflow_id": request.workflow_id,
                    "run_id": data.get("run_id"),
                    "error": data.get("error") or "no reason recorded",
                }
            }
        row = env.store.get_delivery(data["notification_id"])
        failed_for = data["recipient_id"]
        return {
            "failure": {
                "kind": row.kind if row else None,
                "channel": row.channel if row else None,
                "provider": row.provider if row else None,
                "error": (row.error if row else None) or "no reason recorded",
                "notification_id": data["notification_id"],
                "subject_id": row.subject_id if row else None,
                "recipient_id": failed_for,
                "recipient_name": env.name(failed_for) or failed_for,
            }
        }


register(System())

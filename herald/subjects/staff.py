"""Staff alerts: the admin's template, read and rendered in the sandbox when it is sent."""

from __future__ import annotations

from typing import Any

from herald.contracts import DeliveryRequest
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, register


class Staff(Subject):
    type = "staff"
    variable = "notice"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        name = request.data["template"]
        context = {
            **request.data.get("context", {}),
            "recipient": base["recipient"],
            "brand": base["brand"],
        }
        notice = env.admin_templates.render(
            name, env.store.get_template(name, recipient.locale), context
        )
        return {
            "notice": {
                "title": notice.title,
                "body": notice.body,
                "short": notice.short,
                "priority": request.priority or "medium",
                "link": request.data.get("link"),
            }
        }


register(Staff())

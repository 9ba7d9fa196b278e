"""Staff alerts: the admin's template, read and rendered in the sandbox when it is sent, or an
ad-hoc notice's title and message as given."""

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
        if "template" not in request.data:
            return {"notice": adhoc_notice(request)}
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


def adhoc_notice(request: DeliveryRequest) -> dict[str, Any]:
    """An ad-hoc notice (``create_notice``): the title and message as given, no template."""
    title = str(request.data.get("title") or "")
    message = str(request.data.get("message") or "")
    return {
        "title": title,
        "body": message,
        "short": f"*{title}*\n{message}" if message else title,
        "priority": request.priority or "medium",
        "link": request.data.get("link"),
    }


register(Staff())

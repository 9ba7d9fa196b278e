"""User accounts: the ``account`` variable; an account event is news whenever it arrives."""

from __future__ import annotations

from typing import Any

from herald.contracts import DeliveryRequest
from herald.rendering import format_datetime
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, register


class User(Subject):
    type = "user"
    variable = "account"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        d = request.data
        return {
            "account": {
                "user_id": request.subject_id,
                "name": env.name(request.subject_id, recipient) or request.subject_id,
                "role": d.get("role"),
                "previous_role": d.get("previous_role"),
                "changed_by_name": env.name(d.get("changed_by_id"), recipient),
                "event_at": format_datetime(
                    request.scheduled_at, recipient.timezone, recipient.locale
                ),
                "link": d.get("link"),
            }
        }


register(User())

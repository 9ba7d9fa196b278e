"""Loans: the ``loan`` variable, and reminders dropped once the loan is closed or extended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herald.contracts import DeliveryRequest, LoanStatus, Role
from herald.kinds import STALE_WHEN_CLOSED
from herald.rendering import format_datetime, format_duration, format_time
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, closed, moved, register


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def loan_context(
    data: dict[str, Any], recipient: Contact, borrower: Contact | None, scheduled_at: datetime
) -> dict[str, Any]:
    """The ``loan`` template variable, with instants shown in the recipient's zone and language."""
    tz, loc = recipient.timezone, recipient.locale
    due_at = _parse(data["due_at"])
    returned_at = _parse(data.get("returned_at"))
    assert due_at is not None
    late_seconds: float | None = data.get("late_by_seconds")
    if data.get("alert_number") and late_seconds is None:
        late_seconds = (scheduled_at - due_at).total_seconds()
    return {
        "id": data["loan_id"],
        "item": data["item"],
        "borrower_id": data["borrower_id"],
        "borrower_name": borrower.display_name if borrower else data["borrower_id"],
        "borrowed_at": format_datetime(_parse(data["borrowed_at"]) or due_at, tz, loc),
        "due_at": format_datetime(due_at, tz, loc),
        "due_time": format_time(due_at, tz),
        "returned_at": format_datetime(returned_at, tz, loc) if returned_at else None,
        "late_by": format_duration(late_seconds, loc)
        if late_seconds and late_seconds > 0
        else None,
        "alert_number": data.get("alert_number"),
        "max_alerts": data.get("max_alerts"),
    }


class Loan(Subject):
    type = "loan"
    variable = "loan"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        borrower_id = request.data.get("borrower_id")
        borrower = (
            recipient
            if borrower_id == recipient.id
            else env.store.get_contact(borrower_id)
            if borrower_id
            else None
        )
        return {"loan": loan_context(request.data, recipient, borrower, request.scheduled_at)}

    def obsolete(self, request: DeliveryRequest, env: SubjectEnv) -> str | None:
        if request.kind not in STALE_WHEN_CLOSED:
            return None
        if reason := closed(request, env):
            return reason
        loan = env.require_workflows("check a held notice's loan").status(
            request.workflow_id, LoanStatus
        )
        if moved(request, loan.due_at):
            return f"loan {request.subject_id} was extended while the notice waited"
        return None

    def planned(self, request: DeliveryRequest, env: SubjectEnv) -> None:
        """The borrower's overdue alerts and thank-you are also the application's
        ``loan.overdue`` and ``loan.returned`` events (manager copies add none)."""
        if env.publish is None or request.role is not Role.BORROWER:
            return
        data = request.data
        if data.get("alert_number") is not None:
            type_ = "loan.overdue"
        elif request.kind == "loan.returned":
            type_ = "loan.returned"
        else:
            return
        event: dict[str, Any] = {
            "loan_id": request.subject_id,
            "borrower_id": data.get("borrower_id"),
            "manager_id": data.get("manager_id"),
            "item": data.get("item"),
            "borrowed_at": data.get("borrowed_at"),
            "due_at": data.get("due_at"),
        }
        if type_ == "loan.overdue":
            event.update(
                level=data["alert_number"],
                max_level=data.get("max_alerts"),
                alert_at=request.scheduled_at,
            )
        else:
            event.update(
                returned_at=data.get("returned_at"), late_by_seconds=data.get("late_by_seconds")
            )
        env.publish(type_, event, key=f"{request.workflow_id}/{request.notification_id}")


register(Loan())

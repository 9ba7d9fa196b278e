"""Sample notices for previewing the built-in templates (``herald template preview KIND``).

Each kind gets the facts a real notice of its subject type carries (a loan of a tripod, a
repair of a bike, a lead from a bakery...), and its template variables are built by the
subject's own code (:mod:`herald.subjects`), so a preview shows exactly the variables a
send would have, formatted for the recipient's language and time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from herald.admin_templates import AdminTemplateRenderer
from herald.branding import brand_context
from herald.contracts import DeliveryRequest, FollowUpState, Role
from herald.crm_facts import FollowUpFact, LeadAssignmentFact
from herald.daily_summary import SUMMARY_KIND, SUMMARY_SUBJECT, assemble, summary_window
from herald.kinds import KINDS, kind_info
from herald.rendering import Renderer
from herald.settings import Settings
from herald.store import Contact
from herald.subjects import SubjectEnv, subject_for

# A fixed moment, so a preview reads the same every time: a Tuesday, 10:00 in Paris.
DUE = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
BORROWED = DUE - timedelta(days=4)

PEOPLE = {
    "u-camille": "Camille Dupré",
    "u-jeanluc": "Jean-Luc Mercier",
    "u-sam": "Sam Lee",
    "u-noor": "Noor Haddad",
}

# Who each subject type's sample is addressed to, and as what.
RECIPIENTS: dict[str, tuple[str, Role]] = {
    "loan": ("u-camille", Role.BORROWER),
    "repair": ("u-camille", Role.CUSTOMER),
    "followup": ("u-sam", Role.ASSIGNEE),
    "lead": ("u-sam", Role.ASSIGNEE),
    "user": ("u-camille", Role.USER),
    "staff": ("u-sam", Role.STAFF),
    "system": ("u-sam", Role.STAFF),
    "digest": ("u-camille", Role.SUBSCRIBER),
    "repair_batch": ("u-sam", Role.TECHNICIAN),
    SUMMARY_SUBJECT: ("u-sam", Role.SUBSCRIBER),
}
# Kinds addressed to someone else than their subject type's usual recipient (the repair
# event table of herald/repairs.py, the lead notices of herald/crm.py).
KIND_RECIPIENTS: dict[str, tuple[str, Role]] = {
    **{
        f"repair.{event}": ("u-sam", Role.TECHNICIAN)
        for event in (
            "approved",
            "denied",
            "assigned",
            "batch_approved",
            "batch_denied",
            "reward_redeemed",
        )
    },
    "repair.reassigned_away": ("u-sam", Role.TECHNICIAN),
    "repair.unassigned": ("u-jeanluc", Role.MANAGER),
    "lead.reassigned_away": ("u-sam", Role.PREVIOUS_ASSIGNEE),
}


def _loan(kind: str) -> tuple[dict[str, Any], datetime]:
    data: dict[str, Any] = {
        "loan_id": "L-1001",
        "item": "Trépied Manfrotto 055",
        "borrower_id": "u-camille",
        "manager_id": "u-jeanluc",
        "borrowed_at": BORROWED.isoformat(),
        "due_at": DUE.isoformat(),
    }
    at = {
        "loan.created": BORROWED,
        "loan.reminder_j2": DUE - timedelta(days=2),
        "loan.reminder_j1": DUE - timedelta(days=1),
        "loan.due_today": DUE - timedelta(hours=2),
        "loan.reminder_2h": DUE - timedelta(hours=2),
        "loan.overdue": DUE + timedelta(days=2, hours=3),
        "loan.returned": DUE + timedelta(days=2, hours=5),
    }.get(kind, BORROWED)
    if kind == "loan.overdue":
        data.update(alert_number=2, max_alerts=3)
    if kind == "loan.returned":
        data.update(returned_at=at.isoformat(), late_by_seconds=(at - DUE).total_seconds())
    return data, at


def _repair(kind: str) -> dict[str, Any]:
    event = kind.split(".", 1)[1]
    data: dict[str, Any] = {
        "repair_id": "R-2045",
        "title": "Vélo cargo : frein arrière",
        "status": {"created": "pending"}.get(event, event),
        "customer_id": "u-camille",
        "technician_id": "u-sam",
        "link": "https://repairs.example.org/r/R-2045",
    }
    if event in ("created", "unassigned"):
        data["technician_id"] = None
    if event == "reassigned_away":
        data.update(technician_id="u-noor", previous_technician_id="u-sam")
    if event in ("denied", "batch_denied"):
        data["reason"] = "Pièce plus fabriquée"
    if event.startswith("batch_"):
        data.update(batch_id="B-77", batch_size=6)
    if event == "reward_redeemed":
        data.update(reward_name="Bon d'achat atelier", reward_points=250)
    if event == "unassigned":
        data.update(unassigned_seconds=26 * 3600, alert_number=2)
    return data


def _followup(kind: str) -> tuple[dict[str, Any], datetime]:
    data: dict[str, Any] = {
        "followup_id": "F-310",
        "title": "Rappeler pour le devis",
        "customer": "Boulangerie Morel",
        "assignee_id": "u-sam",
        "due_at": DUE.isoformat(),
        "link": "https://crm.example.org/f/F-310",
    }
    if kind == "followup.overdue":
        data.update(alert_number=1, max_alerts=3)
        return data, DUE + timedelta(hours=5)
    return data, DUE - timedelta(days=1)


def _lead(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Équipement du fournil",
        "company": "Boulangerie Morel",
        "value": "12 400 €",
        "stage": "qualified",
        "assignee_id": "u-sam",
        "changed_by_id": "u-jeanluc",
        "link": "https://crm.example.org/l/LD-88",
    }
    if kind == "lead.stage_changed":
        data.update(stage="won", previous_stage="negotiation")
    if kind == "lead.reassigned_away":
        data.update(assignee_id="u-noor", previous_assignee_id="u-sam")
    if kind == "lead.fulfilment_changed":
        data["fulfilment"] = "fulfilled"
    return data


def _user(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = {"changed_by_id": "u-jeanluc", "link": "https://app.example.org/me"}
    if kind == "user.role_changed":
        data.update(role="manager", previous_role="member")
    elif kind in ("user.welcome", "user.activated"):
        data["role"] = "member"
    return data


def _daily_summary(at: datetime, timezone: str) -> dict[str, Any]:
    """Sam's day: one follow-up overdue, two due later, one completed, one new lead."""
    window = summary_window(at, at.astimezone(ZoneInfo(timezone)).time(), timezone, None)

    def followup(fid: str, title: str, customer: str | None, due: datetime, **kw: Any) -> Any:
        return FollowUpFact(
            followup_id=fid,
            assignee_id="u-sam",
            title=title,
            customer=customer,
            due_at=due,
            state=kw.pop("state", FollowUpState.OPEN),
            link=f"https://crm.example.org/f/{fid}",
            **kw,
        )

    followups = [
        followup("F-297", "Envoyer le contrat signé", "Fromagerie Vidal", at - timedelta(days=1)),
        followup("F-310", "Rappeler pour le devis", "Boulangerie Morel", at + timedelta(hours=4)),
        followup("F-312", "Démonstration du four", None, at + timedelta(hours=7)),
        followup(
            "F-305",
            "Relancer la facture 2026-118",
            "Café des Arts",
            at - timedelta(hours=20),
            state=FollowUpState.COMPLETED,
            completed_at=at - timedelta(hours=18),
        ),
    ]
    leads = [
        LeadAssignmentFact(
            lead_id="LD-88",
            assignee_id="u-sam",
            assigned_at=at - timedelta(hours=15),
            event_id="evt-88-2",
            name="Équipement du fournil",
            company="Boulangerie Morel",
            link="https://crm.example.org/l/LD-88",
        )
    ]
    return assemble("u-sam", window, followups, leads).model_dump(mode="json")


def sample_request(kind: str, timezone: str = "Europe/Paris") -> DeliveryRequest:
    """A realistic notice of ``kind`` (a built-in kind) to its usual recipient."""
    kind_info(kind)
    # A batch of repairs' notices has a subject type of its own.
    subject_type = {"repair.batch": "repair_batch", SUMMARY_KIND: SUMMARY_SUBJECT}.get(
        kind, kind.split(".", 1)[0]
    )
    at = DUE - timedelta(hours=3)
    subject_id = {
        "loan": "L-1001",
        "repair": "R-2045",
        "followup": "F-310",
        "lead": "LD-88",
        "user": "u-camille",
        "staff": "maintenance",
        "system": "L-1001",
        "digest": "u-camille",
        "repair_batch": "u-sam",
        SUMMARY_SUBJECT: "u-sam",
    }[subject_type]
    data: dict[str, Any]
    if subject_type == "loan":
        data, at = _loan(kind)
    elif subject_type == "repair_batch":
        data = {
            "items": [
                {
                    **_repair("repair.batch_approved"),
                    "repair_id": rid,
                    "title": title,
                    "kind": "repair.batch_approved",
                    "at": at.isoformat(),
                }
                for rid, title in (
                    ("R-2045", "Vélo cargo : frein arrière"),
                    ("R-2046", "Trottinette : pneu avant"),
                    ("R-2047", "Vélo de ville : dérailleur"),
                )
            ]
        }
    elif subject_type == SUMMARY_SUBJECT:
        at = DUE - timedelta(hours=2)  # 08:00 in Paris
        data = _daily_summary(at, timezone)
    elif subject_type == "repair":
        data = _repair(kind)
    elif subject_type == "followup":
        data, at = _followup(kind)
    elif subject_type == "lead":
        data = _lead(kind)
    elif subject_type == "user":
        data = _user(kind)
    elif subject_type == "staff":
        data = {
            "template": "maintenance_window",
            "context": {"window": "22:00-23:00", "service": "le catalogue en ligne"},
            "link": "https://status.example.org",
        }
    elif kind == "system.sms_budget":
        subject_id = "2026-11"
        data = {
            "month": "2026-11",
            "spent": 41.3475,
            "limit": 50.0,
            "currency": "EUR",
            "reached": False,
            "near": True,
        }
    elif kind == "system.window_closing":
        subject_id = "u-camille"
        data = {"closes_at": (at + timedelta(hours=1)).isoformat()}
    elif kind == "system.housekeeping_failed":
        subject_id = "housekeeping"
        data = {
            "run_id": "5f0c2a7e-9d41-4c53-8a8e-3b1f0e6d2c11",
            "error": "purge_old_records: the database cannot be reached (connection refused)",
        }
    elif subject_type == "system":
        data = {"notification_id": "loan-L-1001/overdue-2/sms", "recipient_id": "u-camille"}
    else:
        period = "weekly" if kind == "digest.weekly" else "daily"
        start = at - timedelta(days=7 if period == "weekly" else 1)
        items = [
            sample_request(k).model_dump(mode="json")
            for k in ("loan.reminder_j2", "repair.in_progress", "lead.assigned")
        ]
        data = {
            "period": period,
            "period_start": start.isoformat(),
            "period_end": at.isoformat(),
            "items": items,
        }
    subscriber_id, role = KIND_RECIPIENTS.get(kind) or RECIPIENTS[subject_type]
    return DeliveryRequest(
        workflow_id=f"{subject_type}-{subject_id}",
        notification_id=f"preview-{kind}",
        kind=kind,
        role=role,
        subscriber_id=subscriber_id,
        subject_type=subject_type,
        subject_id=subject_id,
        scheduled_at=at,
        data=data,
    )


class _SampleStore:
    """The little of the store the subjects read, answered from the sample people."""

    def __init__(self, locale: str, timezone: str) -> None:
        self.locale, self.timezone = locale, timezone

    def get_contact(self, subscriber_id: str) -> Contact | None:
        name = PEOPLE.get(subscriber_id)
        if name is None:
            return None
        return Contact(subscriber_id, name, None, None, None, self.locale, self.timezone)

    def get_delivery(self, key: str) -> Any:
        return SimpleNamespace(
            kind="loan.overdue",
            channel="sms",
            provider="twilio",
            error="twilio 21610: the recipient replied STOP",
            subject_id="L-1001",
        )

    def get_template(self, name: str, locale: str) -> None:
        return None  # the staff alert's facts, as Herald shows an alert with no template


def sample_context(
    kind: str, *, locale: str, settings: Settings, renderer: Renderer
) -> dict[str, Any]:
    """The full template context of :func:`sample_request`'s notice, in ``locale``."""
    timezone = settings.default_timezone
    store: Any = _SampleStore(locale, timezone)

    def context_of(request: DeliveryRequest, recipient: Contact) -> dict[str, Any]:
        base: dict[str, Any] = {
            "kind": request.kind,
            "color": kind_info(request.kind).color,
            "role": request.role.value,
            "recipient": {
                "id": recipient.id,
                "name": recipient.display_name,
                "locale": recipient.locale,
                "timezone": recipient.timezone,
            },
            "brand": brand_context(settings),
        }
        base.update(subject_for(request.subject_type).context(request, recipient, base, env))
        return base

    env = SubjectEnv(
        store=store,
        renderer=renderer,
        admin_templates=AdminTemplateRenderer(),
        context_of=context_of,
    )
    request = sample_request(kind, timezone)
    recipient = store.get_contact(request.subscriber_id)
    assert recipient is not None
    return context_of(request, recipient)


BUILT_IN_KINDS = tuple(KINDS)

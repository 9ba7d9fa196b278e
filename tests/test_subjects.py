"""The subjects registry: every subject type a workflow sends is known, an unknown one is a
permanent error, and each subject's obsolescence rule against real workflows on the
time-skipping server and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.delivery import DeliveryActivities
from herald.contracts import CrmSubject, DeliveryRequest, Role
from herald.db import Base
from herald.subjects import (
    UNKNOWN_SUBJECT_ERROR,
    Subject,
    register,
    subject_for,
    subject_types,
)
from herald.subjects.loan import Loan
from starter.client import followup_workflow_id, loan_workflow_id, repair_workflow_id
from tests.smtp_server import SmtpServer
from tests.workflows.test_loan_workflow import Desk, open_desk

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def test_every_subject_type_the_workflows_send_is_registered() -> None:
    sent = set()
    for source in WORKFLOWS.glob("*.py"):
        sent |= set(re.findall(r'subject_type="([a-z_]+)"', source.read_text()))
    sent |= {s.value for s in CrmSubject}  # CRM events name their subject in the event
    assert {"loan", "repair", "followup", "staff", "system", "digest"} <= sent
    assert subject_types() == sent
    for subject_type in subject_types():
        subject = subject_for(subject_type)
        assert isinstance(subject, Subject) and subject.type == subject_type


def test_an_unknown_subject_type_is_a_clear_permanent_error() -> None:
    with pytest.raises(ApplicationError) as caught:
        subject_for("invoice")
    err = caught.value
    assert err.non_retryable and err.type == UNKNOWN_SUBJECT_ERROR
    assert "unknown subject type 'invoice'" in str(err)
    assert "loan" in str(err) and "followup" in str(err)


def test_a_subject_type_is_registered_once() -> None:
    current = subject_for("loan")
    assert register(current) is current  # registering the same rules again is harmless
    with pytest.raises(ValueError, match="'loan' is already registered"):
        register(Loan())
    assert subject_for("loan") is current


def test_planning_a_notice_of_an_unknown_subject_fails_for_good(tmp_path: Path) -> None:
    from herald.settings import Settings
    from herald.store import Store, migrate

    store = Store.from_url(f"sqlite:///{tmp_path / 'herald.db'}")
    migrate(store.engine)
    store.upsert_subscriber("ana", name="Ana", email="ana@example.org")
    activities = DeliveryActivities(store, {}, Settings())
    request = DeliveryRequest(
        workflow_id="invoice-1",
        notification_id="n1",
        kind="lead.created",
        role=Role.SUBSCRIBER,
        subscriber_id="ana",
        subject_type="invoice",
        subject_id="1",
        scheduled_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    with pytest.raises(ApplicationError) as caught:
        ActivityEnvironment().run(activities.plan_delivery, request)
    assert caught.value.non_retryable
    assert store.list_deliveries() == []  # nothing logged for a notice nobody can build
    store.close()


def test_a_request_carries_its_deadline_or_falls_back_on_the_due_time_it_shows() -> None:
    due = datetime(2026, 12, 4, 22, 50, tzinfo=UTC)
    base = DeliveryRequest(
        workflow_id="loan-A",
        notification_id="n",
        kind="loan.reminder_2h",
        role=Role.BORROWER,
        subscriber_id="ana",
        subject_type="loan",
        subject_id="A",
        scheduled_at=due - timedelta(hours=2),
    )
    assert base.deadline() is None
    assert base.model_copy(update={"data": {"due_at": due.isoformat()}}).deadline() == due
    later = due + timedelta(days=1)
    assert base.model_copy(update={"expires_at": later}).deadline() == later


# ---------------------------------------------------------------- obsolescence, for real


@pytest.fixture
async def desk(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path, postgres_url: str
) -> AsyncIterator[Desk]:
    async with open_desk(ts_env, smtp, tmp_path, database_url=postgres_url) as d:
        for sid in ("ana", "ben", "cust", "boss"):
            await d.herald.upsert_subscriber(sid, name=sid.title(), email=f"{sid}@example.org")
        for group in ("repair-managers", "sales-managers"):
            await d.herald.create_group(group)
            await d.herald.add_to_group(group, ["boss"])
        yield d
        with d.store.engine.begin() as conn:  # the database is shared by the session
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


async def obsolete(desk: Desk, request: DeliveryRequest) -> str | None:
    """The subject's verdict through the delivery activities' own view of the workflows
    (their calls run on the event loop, the rule on a thread, as on a worker)."""
    activities = DeliveryActivities(desk.store, {}, desk.herald.settings, client=desk.env.client)
    subject = subject_for(request.subject_type)
    return await asyncio.to_thread(subject.obsolete, request, activities.env)


def notice(
    subject_type: str,
    subject_id: str,
    workflow_id: str,
    kind: str,
    *,
    role: Role = Role.BORROWER,
    subscriber_id: str = "ana",
    **data: Any,
) -> DeliveryRequest:
    return DeliveryRequest(
        workflow_id=workflow_id,
        notification_id=f"{kind}@x",
        kind=kind,
        role=role,
        subscriber_id=subscriber_id,
        subject_type=subject_type,
        subject_id=subject_id,
        scheduled_at=datetime(2026, 12, 1, tzinfo=UTC),
        data={k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()},
    )


async def test_a_loan_reminder_is_obsolete_once_the_loan_is_extended_or_returned(
    desk: Desk,
) -> None:
    h = desk.herald
    now = await desk.now()
    due = now + timedelta(days=5)
    await h.start_loan("S-L1", borrower_id="ana", item="Perceuse", due_at=due, borrowed_at=now)
    wid = loan_workflow_id("S-L1")
    reminder = notice("loan", "S-L1", wid, "loan.reminder_j1", due_at=due)
    assert await obsolete(desk, reminder) is None

    await h.extend_loan("S-L1", due_at=due + timedelta(days=2))
    assert await obsolete(desk, reminder) == "loan S-L1 was extended while the notice waited"
    moved = notice("loan", "S-L1", wid, "loan.reminder_j1", due_at=due + timedelta(days=2))
    assert await obsolete(desk, moved) is None

    await h.return_loan("S-L1")
    assert await obsolete(desk, moved) == "loan S-L1 was closed while the notice waited"
    # A thank-you is never obsolete: the loan being over is its news.
    assert await obsolete(desk, notice("loan", "S-L1", wid, "loan.returned", due_at=due)) is None
    unknown = notice("loan", "S-none", loan_workflow_id("S-none"), "loan.reminder_2h", due_at=due)
    assert await obsolete(desk, unknown) == "loan S-none is no longer known to Temporal"


async def test_a_followup_reminder_is_obsolete_once_rescheduled_reassigned_or_done(
    desk: Desk,
) -> None:
    h = desk.herald
    due = await desk.now() + timedelta(days=4)
    await h.start_followup("S-F1", title="Relance", assignee_id="ana", due_at=due)
    wid = followup_workflow_id("S-F1")

    def reminder(due_at: datetime, role: Role = Role.ASSIGNEE) -> DeliveryRequest:
        return notice("followup", "S-F1", wid, "followup.due_tomorrow", role=role, due_at=due_at)

    assert await obsolete(desk, reminder(due)) is None
    later = due + timedelta(days=1)
    await h.reschedule_followup("S-F1", due_at=later)
    assert (
        await obsolete(desk, reminder(due))
        == "followup S-F1 was rescheduled while the notice waited"
    )
    await h.reassign_followup("S-F1", assignee_id="ben")
    assert (
        await obsolete(desk, reminder(later))
        == "followup S-F1 was reassigned while the notice waited"
    )
    # A manager's copy is still wanted: the task is still open and due then.
    assert await obsolete(desk, reminder(later, Role.MANAGER)) is None
    await h.complete_followup("S-F1")
    await h.client.get_workflow_handle(wid).result()
    assert await obsolete(desk, reminder(later, Role.MANAGER)) == (
        "followup S-F1 was closed while the notice waited"
    )


async def test_an_unassigned_repair_alert_is_obsolete_once_a_technician_has_it(
    desk: Desk,
) -> None:
    h = desk.herald
    await h.start_repair("S-R1", title="Serveur", customer_id="cust")
    await h.repair_event("S-R1", "approved", event_id="S-R1-a")
    wid = repair_workflow_id("S-R1")
    alert = notice(
        "repair", "S-R1", wid, "repair.unassigned", role=Role.MANAGER, subscriber_id="boss"
    )
    assert await obsolete(desk, alert) is None
    await h.repair_event("S-R1", "assigned", event_id="S-R1-t", technician_id="ana")
    assert await obsolete(desk, alert) == "repair S-R1 was assigned while the notice waited"
    # Other repair notices are news whatever happened since.
    assert await obsolete(desk, notice("repair", "S-R1", wid, "repair.approved")) is None
    await h.repair_event("S-R1", "closed", event_id="S-R1-close")
    await h.client.get_workflow_handle(wid).result()
    assert await obsolete(desk, alert) == "repair S-R1 was closed while the notice waited"


@pytest.mark.parametrize(
    ("subject_type", "kind"),
    [
        ("lead", "lead.assigned"),
        ("user", "user.welcome"),
        ("staff", "staff.notice"),
        ("system", "system.delivery_failed"),
        ("digest", "digest.daily"),
    ],
)
def test_events_alerts_and_digests_are_never_obsolete(
    tmp_path: Path, subject_type: str, kind: str
) -> None:
    from herald.settings import Settings
    from herald.store import Store

    store = Store.from_url(f"sqlite:///{tmp_path / 'herald.db'}")
    # No Temporal client at all: their rules do not even ask about the workflow.
    env = DeliveryActivities(store, {}, Settings()).env
    request = notice(subject_type, "x", f"{subject_type}-gone", kind, role=Role.SUBSCRIBER)
    assert subject_for(subject_type).obsolete(request, env) is None
    store.close()

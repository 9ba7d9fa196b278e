"""``herald.contrib.django`` in a real Django project (tests/django_project.py: SQLite, one
loan app whose ``signals.py`` is the README's snippet), relayed to a real Herald: the
time-skipping Temporal server, the workers, SQLite and SMTP.

The web side only writes outbox rows in its own transaction; the relay, run here with
``drain()`` or ``manage.py herald_relay --once``, hands them to Herald."""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import WorkflowEnvironment

from herald.contracts import LoanState, LoanStatus
from herald.errors import HeraldError, NotFound
from starter.client import loan_workflow_id
from tests.django_project import django_project, django_snippet, reset_outbox
from tests.smtp_server import SmtpServer, free_port
from tests.workflows.test_loan_workflow import Desk, open_desk

PARIS = ZoneInfo("Europe/Paris")
T = TypeVar("T")


def orm(fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
    """Django's ORM refuses to run on the event loop: run ``fn`` on a thread."""
    return asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))


def herald_setting(desk: Desk, **extra: Any) -> dict[str, Any]:
    """``HERALD`` for a project talking straight to the desk's Temporal and database."""
    settings = desk.herald.settings
    return {
        "MODE": "direct",
        "SETTINGS": {
            "temporal_address": desk.env.client.service_client.config.target_host,
            "temporal_namespace": desk.env.client.namespace,
            "task_queue": settings.task_queue,
            "database_url": settings.resolved_database_url,
        },
        "OPEN_LOANS": "lending.reconcile.open_loans",
        "CLOSED_LOANS": "lending.reconcile.closed_loans",
        **extra,
    }


@pytest.fixture
async def lending(
    ts_env: WorkflowEnvironment, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Desk]:
    """The Django project, its outbox empty, relaying to a loan desk."""
    await orm(django_project)  # migrates: not on the event loop
    from django.test import override_settings

    async with open_desk(ts_env, smtp, tmp_path) as desk:
        with override_settings(HERALD=herald_setting(desk)):
            await orm(reset_outbox)
            try:
                yield desk
            finally:
                # Loans left running would keep firing timers on the shared time-skipping
                # server, with no worker once this desk is gone.
                for loan_id in await orm(started_loans):
                    with contextlib.suppress(HeraldError):
                        await desk.cancel(loan_id)  # and waits until it has closed
                await orm(reset_outbox)


def started_loans() -> list[str]:
    from lending.models import Loan, Material, Member

    from herald.contrib.django.models import OutboxItem

    keys = OutboxItem.objects.filter(method="start_loan").values_list("object_key", flat=True)
    loans = {key.split(":", 1)[1] for key in keys} | {
        str(pk) for pk in Loan.objects.values_list("pk", flat=True)
    }
    Loan.objects.all().delete()
    Material.objects.all().delete()
    Member.objects.all().delete()
    return sorted(loans)


def drain() -> Any:
    from herald.contrib.django.relay import Relay

    relay = Relay()
    try:
        return relay.drain()
    finally:
        relay.close()


def outbox() -> list[tuple[str, str, str]]:
    from herald.contrib.django.models import OutboxItem

    return list(OutboxItem.objects.order_by("id").values_list("method", "object_key", "status"))


def local_naive(instant: datetime, days: int, at: time = time(14, 0)) -> datetime:
    """A wall-clock time in Paris ``days`` after ``instant``, naive as Django keeps it."""
    day = instant.astimezone(PARIS).date() + timedelta(days=days)
    return datetime.combine(day, at)


def save(loan_id: str, **changes: Any) -> None:
    from lending.models import Loan  # type: ignore[import-not-found]

    loan = Loan.objects.get(pk=loan_id)
    for name, value in changes.items():
        setattr(loan, name, value)
    loan.save()


def test_the_readme_snippet_is_the_one_the_project_runs() -> None:
    snippet = django_snippet()
    compile(snippet, "README.md", "exec")  # valid Python as printed
    root = django_project()
    assert (root / "lending" / "signals.py").read_text() == snippet
    assert "from herald.contrib.django import enqueue" in snippet


async def test_a_loan_life_goes_through_the_outbox_exactly_once(lending: Desk) -> None:
    desk = lending
    due = local_naive(await desk.now(), 3)

    def create() -> str:
        from django.db import transaction
        from lending.models import Loan, Material, Member

        with transaction.atomic():
            member = Member.objects.create(id="ines", name="Inès Roy", email="ines@example.org")
            drill = Material.objects.create(name="Perceuse Bosch")
            loan = Loan.objects.create(user=member, material=drill, due_at=due)
        # A loan whose transaction rolls back leaves no hand-off behind.
        with pytest.raises(RuntimeError), transaction.atomic():
            Loan.objects.create(id="dj-ghost", user=member, material=drill, due_at=due)
            raise RuntimeError("the request failed")
        return str(loan.pk)

    loan_id = await orm(create)
    assert await orm(outbox) == [
        ("upsert_subscriber", "subscriber:ines", "pending"),
        ("start_loan", f"loan:{loan_id}", "pending"),
    ]
    # The request only wrote rows: Herald knows nothing yet.
    with pytest.raises(NotFound):
        await desk.herald.loan_status(loan_id)

    report = await orm(drain)
    assert (report.sent, report.failed, report.retrying) == (2, 0, 0)
    status = await desk.herald.loan_status(loan_id)
    assert status.borrower_id == "ines" and status.item == "Perceuse Bosch"
    assert status.due_at == due.replace(tzinfo=PARIS)  # the naive value read in TIME_ZONE
    assert (await desk.herald.get_subscriber("ines")).email == "ines@example.org"

    # A save that moves the due date extends; a save that changes nothing Herald knows of
    # hands nothing off.
    later = local_naive(await desk.now(), 6)
    await orm(save, loan_id, due_at=later)
    await orm(save, loan_id, note="rayure sur le boîtier")
    assert [m for m, _, s in await orm(outbox) if s == "pending"] == ["extend_loan"]
    assert (await orm(drain)).sent == 1
    status = await desk.herald.loan_status(loan_id)
    assert status.due_at == later.replace(tzinfo=PARIS) and status.extensions == 1

    # The save that records the return ends the workflow with the thank-you.
    returned = datetime.now(PARIS).replace(tzinfo=None, microsecond=0)
    await orm(save, loan_id, returned_at=returned)
    assert (await orm(drain)).sent == 1
    handle = desk.herald.client.get_workflow_handle(
        loan_workflow_id(loan_id), result_type=LoanStatus
    )
    final = await handle.result()
    assert final.state is LoanState.RETURNED
    assert final.returned_at == returned.replace(tzinfo=PARIS)

    # Later saves of the returned loan hand nothing off.
    before = await orm(outbox)
    await orm(save, loan_id, note="rendu complet")
    assert await orm(outbox) == before
    assert all(s == "sent" for _, _, s in before)
    # One confirmation, one thank-you.
    assert desk.sent(loan_id) == ["loan.created", "loan.returned"]


async def test_deleting_an_open_loan_cancels_it(lending: Desk) -> None:
    desk = lending
    due = local_naive(await desk.now(), 4)

    def create_and_delete() -> str:
        from django.db import transaction
        from lending.models import Loan, Material, Member

        member = Member.objects.create(id="ugo", name="Ugo", email="ugo@example.org")
        loan = Loan.objects.create(
            user=member, material=Material.objects.create(name="Ponceuse"), due_at=due
        )
        with transaction.atomic():
            loan_id = str(loan.pk)
            loan.delete()
        return loan_id

    loan_id = await orm(create_and_delete)
    assert [m for m, _, _ in await orm(outbox)] == [
        "upsert_subscriber",
        "start_loan",
        "cancel_loan",
    ]
    assert (await orm(drain)).sent == 3
    handle = desk.herald.client.get_workflow_handle(
        loan_workflow_id(loan_id), result_type=LoanStatus
    )
    assert (await handle.result()).state is LoanState.CANCELLED
    assert desk.sent(loan_id) == ["loan.created"]


async def test_a_refused_hand_off_is_kept_with_its_reason_and_blocks_nothing(
    lending: Desk,
) -> None:
    """Bad data fails for good, once, with Herald's reason; the items behind it (of the
    same object and of others) go on; the admin shows it and can queue it again."""
    desk = lending
    due = (await desk.now()).astimezone(PARIS) + timedelta(days=3)

    def enqueue_all() -> None:
        from herald.contrib.django import enqueue

        enqueue.start_loan("bad-1", borrower_id="nobody", item="Scie", due_at=due)
        enqueue.return_loan("bad-1")
        enqueue.start_loan("good-1", borrower_id="camille", item="Scie", due_at=due)

    await orm(enqueue_all)
    report = await orm(drain)
    assert (report.sent, report.failed, report.retrying) == (1, 2, 0)

    def rows() -> list[tuple[str, str, str, int]]:
        from herald.contrib.django.models import OutboxItem

        return list(
            OutboxItem.objects.order_by("id").values_list(
                "object_key", "status", "last_error", "attempts"
            )
        )

    (
        (start, start_state, start_reason, start_attempts),
        (_, ret_state, ret_reason, _),
        good,
    ) = await orm(rows)
    assert (start, start_state, start_attempts) == ("loan:bad-1", "failed", 1)
    assert "unknown borrower 'nobody'" in start_reason and "\n" not in start_reason
    assert ret_state == "failed" and "no loan 'bad-1'" in ret_reason
    assert good[1] == "sent"
    assert (await desk.herald.loan_status("good-1")).state is LoanState.ACTIVE
    # Nothing is retried: a second drain has nothing to do.
    assert (await orm(drain)).attempted == 0

    def admin_pages() -> tuple[str, int]:
        from django.contrib.auth.models import User
        from django.test import Client

        from herald.contrib.django.models import OutboxItem

        admin = User.objects.filter(username="admin").first() or User.objects.create_superuser(
            "admin", "admin@example.org", "pw"
        )
        client = Client()
        client.force_login(admin)
        listing = client.get("/admin/herald_outbox/outboxitem/?status__exact=failed")
        assert listing.status_code == 200
        failed = OutboxItem.objects.get(object_key="loan:bad-1", method="start_loan")
        answer = client.post(
            "/admin/herald_outbox/outboxitem/",
            {"action": "retry", "_selected_action": [failed.pk]},
        )
        assert answer.status_code == 302
        return listing.content.decode(), OutboxItem.objects.filter(status="pending").count()

    page, pending = await orm(admin_pages)
    assert "unknown borrower" in page and "loan:bad-1" in page and "loan:good-1" not in page
    assert pending == 1  # the retry action queued the failed start again


async def test_with_temporal_unreachable_the_request_succeeds_and_the_relay_waits(
    lending: Desk,
) -> None:
    desk = lending
    from django.test import override_settings

    due = local_naive(await desk.now(), 3)
    down = herald_setting(desk)
    down["SETTINGS"] = {**down["SETTINGS"], "temporal_address": f"127.0.0.1:{free_port()}"}

    def create() -> str:
        from django.db import transaction
        from lending.models import Loan, Material, Member

        with transaction.atomic():
            member = Member.objects.create(id="lea", name="Léa", email="lea@example.org")
            loan = Loan.objects.create(
                user=member, material=Material.objects.create(name="Niveau laser"), due_at=due
            )
        return str(loan.pk)

    def drain_while_down() -> Any:
        with override_settings(HERALD=down):
            return drain()

    loan_id = await orm(create)
    # Directory calls need only Herald's database; the start needs Temporal.
    first = await orm(drain_while_down)
    assert first.down and first.sent == 1 and first.failed == 0
    second = await orm(drain_while_down)  # still down: the start waits, nothing is lost
    assert second.down and second.sent == 0

    def start_item() -> tuple[str, int, str]:
        from herald.contrib.django.models import OutboxItem

        item = OutboxItem.objects.get(method="start_loan")
        return item.status, item.attempts, item.last_error

    state, attempts, reason = await orm(start_item)
    assert state == "pending" and attempts == 2 and "cannot reach Temporal" in reason

    back = await orm(drain)  # Temporal is reachable again
    assert (back.sent, back.failed, back.down) == (1, 0, False)
    assert (await desk.herald.loan_status(loan_id)).state is LoanState.ACTIVE
    await eventually_sent(desk, loan_id, ["loan.created"])


async def eventually_sent(desk: Desk, loan_id: str, kinds: list[str]) -> None:
    from tests.conftest import eventually

    await eventually(lambda: desk.sent(loan_id) == kinds)


async def test_the_relay_command_delivers_and_reports(lending: Desk) -> None:
    desk = lending
    due = (await desk.now()).astimezone(PARIS) + timedelta(days=2)
    loan_id = f"cmd-{uuid.uuid4().hex[:6]}"

    def run_command() -> str:
        from django.core.management import call_command

        from herald.contrib.django import enqueue

        enqueue.start_loan(loan_id, borrower_id="camille", item="Marteau", due_at=due)
        out = io.StringIO()
        call_command("herald_relay", "--once", stdout=out)
        return out.getvalue()

    assert "sent 1, failed 0, retrying 0" in await orm(run_command)
    assert (await desk.herald.loan_status(loan_id)).item == "Marteau"


async def test_reconcile_repairs_the_drift_between_the_app_and_herald(lending: Desk) -> None:
    """A hand-off lost before the outbox existed (an open loan Herald never heard of) and a
    return recorded without the signal (a bulk update) are found and repaired."""
    desk = lending
    due = local_naive(await desk.now(), 5)

    def setup() -> tuple[str, str]:
        from lending.models import Loan, Material, Member

        from herald.contrib.django.models import OutboxItem

        member = Member.objects.create(id="noe", name="Noé", email="noe@example.org")
        tool = Material.objects.create(name="Scie sauteuse")
        lost = Loan.objects.create(user=member, material=tool, due_at=due)
        kept = Loan.objects.create(user=member, material=tool, due_at=due)
        # The lost loan's hand-off never made it.
        OutboxItem.objects.filter(object_key=f"loan:{lost.pk}").delete()
        return str(lost.pk), str(kept.pk)

    lost, kept = await orm(setup)
    assert (await orm(drain)).sent == 2  # the member and the kept loan
    returned = datetime.now(PARIS).replace(tzinfo=None, microsecond=0)

    def bulk_return() -> None:
        from lending.models import Loan

        Loan.objects.filter(pk=kept).update(returned_at=returned)  # no signal

    await orm(bulk_return)

    def reconcile(apply: bool) -> Any:
        from herald.contrib.django.reconcile import reconcile as run

        return run(apply=apply)

    dry = await orm(reconcile, False)
    assert (dry.started, dry.returned) == ([lost], [kept])
    with pytest.raises(NotFound):
        await desk.herald.loan_status(lost)  # a dry run changes nothing

    done = await orm(reconcile, True)
    assert (done.started, done.returned) == ([lost], [kept])
    assert done.delivery is not None and done.delivery.sent == 2
    assert (await desk.herald.loan_status(lost)).state is LoanState.ACTIVE
    handle = desk.herald.client.get_workflow_handle(loan_workflow_id(kept), result_type=LoanStatus)
    assert (await handle.result()).state is LoanState.RETURNED

    again = await orm(reconcile, True)
    assert (again.started, again.returned) == ([], [])  # nothing left to repair


def test_the_system_check_reports_missing_or_wrong_settings() -> None:
    django_project()
    from django.core.checks import run_checks
    from django.test import override_settings

    def ids(value: Any) -> set[str]:
        with override_settings(HERALD=value):
            return {m.id for m in run_checks() if m.id and m.id.startswith("herald_outbox")}

    assert ids(None) == {"herald_outbox.E001"}
    assert ids({"MODE": "smoke-signals"}) == {"herald_outbox.E002"}
    assert ids({"MODE": "http"}) == {"herald_outbox.E003"}
    assert ids({"MODE": "direct", "SETTINGS": {"smtp_port": "not-a-port"}}) == {
        "herald_outbox.E004"
    }
    assert ids({"MODE": "http", "API_URL": "http://h", "OPEN_LOANS": "no.such.thing"}) == {
        "herald_outbox.E005"
    }
    assert ids({"MODE": "http", "API_URL": "http://h", "RELAY_BATCH": 0}) == {"herald_outbox.E006"}
    assert ids({"MODE": "http", "API_URL": "http://h", "RELAY_CONCURRENCY": 2.5}) == {
        "herald_outbox.E006"
    }
    assert ids({"MODE": "http", "API_URL": "http://h", "API_KEYS": "x"}) == {"herald_outbox.W001"}
    assert ids({"MODE": "http", "API_URL": "http://h"}) == set()


class Flaky:
    """The real transport, except that the first call of one operation on one object
    fails the way an unexpected server error does (neither a refusal nor an outage)."""

    def __init__(self, inner: Any, method: str, object_id: str) -> None:
        self.inner, self.method, self.object_id = inner, method, object_id
        self.calls: list[tuple[str, str]] = []
        self.failed = False

    def call(self, method: str, arguments: dict[str, Any], *, idempotency_key: str) -> Any:
        target = next(iter(arguments.values()))
        self.calls.append((method, target))
        if not self.failed and (method, target) == (self.method, self.object_id):
            self.failed = True
            raise HeraldError("Herald failed: try again")
        return self.inner.call(method, arguments, idempotency_key=idempotency_key)

    def close(self) -> None:
        self.inner.close()


async def test_an_item_to_retry_holds_back_its_object_and_nothing_else(lending: Desk) -> None:
    desk = lending
    due = (await desk.now()).astimezone(PARIS) + timedelta(days=3)

    def enqueue_all() -> None:
        from herald.contrib.django import enqueue

        enqueue.start_loan("ord-x", borrower_id="camille", item="Scie", due_at=due)
        enqueue.extend_loan("ord-x", due_at=due + timedelta(days=2))
        enqueue.start_loan("ord-y", borrower_id="camille", item="Scie", due_at=due)

    def drains() -> tuple[Any, Any, list[tuple[str, str]]]:
        from herald.contrib.django.conf import herald_config
        from herald.contrib.django.relay import Relay
        from herald.contrib.django.transport import transport_from_settings

        config = herald_config()
        flaky = Flaky(transport_from_settings(config), "start_loan", "ord-x")
        relay = Relay(flaky, config=config, now=lambda: datetime.now(PARIS).replace(tzinfo=None))
        try:
            first = relay.drain()
            # Later: its backoff has passed.
            relay.now = lambda: datetime.now(PARIS).replace(tzinfo=None) + timedelta(hours=1)
            second = relay.drain()
        finally:
            relay.close()
        return first, second, flaky.calls

    await orm(enqueue_all)
    first, second, calls = await orm(drains)
    assert (first.sent, first.retrying, first.failed) == (1, 1, 0)
    assert (second.sent, second.retrying, second.failed) == (2, 0, 0)
    # The extension never overtook the start it depends on.
    x = [m for m, target in calls if target == "ord-x"]
    assert x == ["start_loan", "start_loan", "extend_loan"]
    status = await desk.herald.loan_status("ord-x")
    assert status.extensions == 1 and status.due_at == due + timedelta(days=2)

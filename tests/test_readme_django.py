"""The README's Django example, run as written: a real Django project (SQLite, one app with
a Loan model) whose ``signals.py`` is the snippet taken from README.md, against the
time-skipping Temporal server and the Herald workers."""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowExecutionStatus

from herald.contracts import LoanState, LoanStatus
from starter.client import loan_workflow_id
from tests.workflows.conftest import desk  # noqa: F401  (fixture)
from tests.workflows.test_loan_workflow import Desk

README = Path(__file__).resolve().parent.parent / "README.md"
PARIS = ZoneInfo("Europe/Paris")

MODELS = """
import uuid

from django.db import models


def new_id():
    return f"dj-{uuid.uuid4().hex[:10]}"


class Member(models.Model):
    id = models.CharField(primary_key=True, max_length=64)


class Material(models.Model):
    name = models.CharField(max_length=200)


class Loan(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    user = models.ForeignKey(Member, on_delete=models.PROTECT)
    material = models.ForeignKey(Material, on_delete=models.PROTECT)
    due_at = models.DateTimeField()
    returned_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
"""

APPS = """
from django.apps import AppConfig


class LendingConfig(AppConfig):
    name = "lending"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        from . import signals  # noqa: F401
"""


def django_snippet() -> str:
    """The fenced Python block right after the README's ``<!-- django-snippet -->`` marker."""
    found = re.search(r"<!-- django-snippet -->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert found, "README.md has no <!-- django-snippet --> block"
    return found.group(1)


def make_project(root: Path) -> None:
    app = root / "lending"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "apps.py").write_text(textwrap.dedent(APPS))
    (app / "models.py").write_text(textwrap.dedent(MODELS))
    (app / "signals.py").write_text(django_snippet())


def test_the_readme_snippet_is_the_one_this_test_runs() -> None:
    snippet = django_snippet()
    compile(snippet, "README.md", "exec")  # valid Python as printed
    for needed in ("from django.dispatch import receiver", "transaction.on_commit", "aware("):
        assert needed in snippet


async def test_readme_django_signals_start_once_return_once(
    desk: Desk,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "project"
    make_project(project)
    monkeypatch.syspath_prepend(str(project))
    settings = desk.herald.settings
    monkeypatch.setenv("TEMPORAL_ADDRESS", desk.env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", desk.env.client.namespace)
    monkeypatch.setenv("HERALD_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("HERALD_DATABASE_URL", settings.resolved_database_url)

    # Naive local datetimes, as Django gives them with USE_TZ = False.
    due_local = (datetime.now(PARIS) + timedelta(days=3)).replace(
        hour=14, minute=0, second=0, microsecond=0, tzinfo=None
    )

    def boot_and_create() -> str:
        import django
        from django.conf import settings as dj
        from django.core.management import call_command
        from django.db import transaction

        dj.configure(
            INSTALLED_APPS=["lending.apps.LendingConfig"],
            DATABASES={
                "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": tmp_path / "dj.db"}
            },
            USE_TZ=False,
            TIME_ZONE="Europe/Paris",
        )
        django.setup()  # imports lending.signals: the README's code, SyncHerald() included
        call_command("migrate", run_syncdb=True, verbosity=0)
        from lending.models import Loan, Material, Member  # type: ignore[import-not-found]

        member = Member.objects.create(id="camille")
        drill = Material.objects.create(name="Perceuse Bosch")
        with transaction.atomic():
            loan = Loan.objects.create(user=member, material=drill, due_at=due_local)
            # Not started before the commit.
            assert not _workflow_exists(loan.pk)
        return str(loan.pk)

    def _workflow_exists(loan_id: str) -> bool:
        from lending.signals import herald  # type: ignore[import-not-found]

        try:
            herald.loan_status(loan_id)
        except Exception:
            return False
        return True

    def save_again(loan_id: str, **changes: Any) -> None:
        from lending.models import Loan

        loan = Loan.objects.get(pk=loan_id)
        for name, value in changes.items():
            setattr(loan, name, value)
        loan.save()

    def rolled_back_loan() -> str:
        from django.db import transaction
        from lending.models import Loan, Material, Member

        loan_id = f"dj-rollback-{uuid.uuid4().hex[:6]}"
        with pytest.raises(RuntimeError), transaction.atomic():
            Loan.objects.create(
                id=loan_id,
                user=Member.objects.get(pk="camille"),
                material=Material.objects.get(),
                due_at=due_local,
            )
            raise RuntimeError("the request failed")
        return loan_id

    try:
        loan_id = await asyncio.to_thread(boot_and_create)
        handle = desk.herald.client.get_workflow_handle(
            loan_workflow_id(loan_id), result_type=LoanStatus
        )
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        status = await handle.query("status", result_type=LoanStatus)
        assert status.borrower_id == "camille" and status.item == "Perceuse Bosch"
        # The naive Django value was read in TIME_ZONE, not as UTC.
        assert status.due_at == due_local.replace(tzinfo=PARIS)

        # Saving an active loan again (another field changes) starts nothing and returns nothing.
        await asyncio.to_thread(save_again, loan_id, note="rayure sur le boîtier")
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        assert (await handle.query("status", result_type=LoanStatus)).state is LoanState.ACTIVE

        # The save that records the return ends the workflow with the thank-you.
        returned_local = datetime.now(PARIS).replace(tzinfo=None, microsecond=0)
        await asyncio.to_thread(save_again, loan_id, returned_at=returned_local)
        final = await handle.result()  # the workflow has ended
        assert final.state is LoanState.RETURNED
        assert final.returned_at == returned_local.replace(tzinfo=PARIS)
        assert "loan.returned" in [r.kind for r in final.notifications]

        # Later saves of the returned loan do not raise (the ended workflow is left alone).
        await asyncio.to_thread(save_again, loan_id, note="rendu complet")
        await asyncio.to_thread(save_again, loan_id)

        # A loan whose transaction rolls back never reaches Herald.
        ghost = await asyncio.to_thread(rolled_back_loan)
        assert not await asyncio.to_thread(_workflow_exists, ghost)
    finally:
        signals = sys.modules.get("lending.signals")
        if signals is not None:
            await asyncio.to_thread(signals.herald.close)

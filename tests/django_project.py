"""A real Django project for the tests: ``herald.contrib.django`` and one loan app
(``lending``: Member, Material, Loan) whose ``signals.py`` is the snippet printed in
README.md, on an SQLite database.

Django is configured once per process: :func:`django_project` builds the project on first
use and every later call returns it. Tests choose their Herald (``HERALD`` setting) with
``override_settings`` and clear the outbox between them.
"""

from __future__ import annotations

import re
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

MODELS = """
import uuid

from django.db import models


def new_id():
    return f"dj-{uuid.uuid4().hex[:10]}"


class Member(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)


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

# What reconcile compares with Herald: the app's open loans and its closed ones.
RECONCILE = """
from django.utils import timezone

from .models import Loan


def open_loans():
    for loan in Loan.objects.filter(returned_at__isnull=True).select_related("material"):
        yield {
            "loan_id": loan.pk,
            "borrower_id": loan.user_id,
            "item": loan.material.name,
            "due_at": timezone.make_aware(loan.due_at) if timezone.is_naive(loan.due_at) else loan.due_at,
        }


def closed_loans():
    for loan in Loan.objects.filter(returned_at__isnull=False):
        at = loan.returned_at
        yield {"loan_id": loan.pk, "returned_at": timezone.make_aware(at) if timezone.is_naive(at) else at}
"""

_lock = threading.Lock()
_root: Path | None = None


def django_snippet() -> str:
    """The fenced Python block right after the README's ``<!-- django-snippet -->`` marker."""
    found = re.search(r"<!-- django-snippet -->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert found, "README.md has no <!-- django-snippet --> block"
    return found.group(1)


def django_project() -> Path:
    """Build, configure and migrate the project once; its folder."""
    global _root
    with _lock:
        if _root is not None:
            return _root
        root = Path(tempfile.mkdtemp(prefix="herald-django-"))
        app = root / "lending"
        app.mkdir()
        (app / "__init__.py").write_text("")
        (app / "apps.py").write_text(textwrap.dedent(APPS))
        (app / "models.py").write_text(textwrap.dedent(MODELS))
        (app / "reconcile.py").write_text(textwrap.dedent(RECONCILE))
        (app / "signals.py").write_text(django_snippet())
        sys.path.insert(0, str(root))

        import django
        from django.conf import settings
        from django.core.management import call_command

        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-only",
            ALLOWED_HOSTS=["testserver"],
            INSTALLED_APPS=[
                "django.contrib.admin",
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "django.contrib.sessions",
                "django.contrib.messages",
                "herald.contrib.django",
                "lending.apps.LendingConfig",
            ],
            MIDDLEWARE=[
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.middleware.common.CommonMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django.contrib.messages.middleware.MessageMiddleware",
            ],
            ROOT_URLCONF="tests.django_urls",
            TEMPLATES=[
                {
                    "BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True,
                    "OPTIONS": {
                        "context_processors": [
                            "django.template.context_processors.request",
                            "django.contrib.auth.context_processors.auth",
                            "django.contrib.messages.context_processors.messages",
                        ]
                    },
                }
            ],
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": root / "app.db",
                    # Tests call the ORM from several threads (the relay's among them): wait
                    # rather than fail on a lock, and take the write lock when a transaction
                    # begins, so a read that turns into a write cannot be refused midway.
                    "OPTIONS": {"timeout": 60, "transaction_mode": "IMMEDIATE"},
                }
            },
            # Naive local datetimes, as the seeds' apps run (USE_TZ = False).
            USE_TZ=False,
            TIME_ZONE="Europe/Paris",
            HERALD={"MODE": "direct", "OPEN_LOANS": "lending.reconcile.open_loans"},
        )
        django.setup()
        call_command("migrate", run_syncdb=True, verbosity=0)
        _root = root
        return root


def reset_outbox() -> None:
    from herald.contrib.django.models import OutboxItem

    OutboxItem.objects.all().delete()

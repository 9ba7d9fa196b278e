"""What the command line and the client import before they do anything.

``herald --help`` builds a parser: it must not load the Temporal SDK, the database layer,
the web stack or the settings machinery. A client that reads and writes must not load the
migration tool or the worker's sandbox. Each check runs in a fresh interpreter, so what an
earlier test imported cannot hide a regression.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("temporalio", "sqlalchemy", "alembic", "pydantic_settings", "fastapi", "jinja2", "boto3")


def _modules_after(code: str) -> set[str]:
    """Every module a fresh interpreter holds once ``code`` has run."""
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def _imported_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds once ``code`` has run."""
    return {name.split(".")[0] for name in _modules_after(code)}


def test_help_builds_a_parser_and_nothing_heavy() -> None:
    code = (
        "from starter.cli import build_parser\n"
        "import contextlib, io\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    build_parser().parse_args(['--help'])\n"
    )
    assert not _imported_after(code) & set(HEAVY)


@pytest.mark.parametrize("command", [["loan", "--help"], ["api-key", "--help"], ["--help"]])
def test_the_console_script_answers_help(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "starter.cli", *command], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: herald")


def test_the_client_leaves_migrations_and_the_sandbox_to_the_commands_that_use_them() -> None:
    imported = _imported_after("import starter\nstarter.Herald\nstarter.SyncHerald\n")
    assert {"temporalio", "sqlalchemy"} <= imported  # what a client really uses
    assert "alembic" not in imported
    assert "temporalio.worker.workflow_sandbox" not in _modules_after("import starter.client")


def test_an_unknown_name_in_the_package_is_an_attribute_error() -> None:
    import starter

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = starter.Nope  # type: ignore[attr-defined]

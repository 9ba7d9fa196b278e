#!/usr/bin/env python3
"""Set up and run Herald from a fresh clone with nothing but Python 3.11+.

    python3 tasks.py dev     # the embedded stack: Temporal dev server, migrations, worker
    python3 tasks.py demo    # the same, plus demo loans whose reminders fire within minutes
    python3 tasks.py test    # lint, type-check and the whole test suite
    python3 tasks.py setup   # only create .venv and install (with test tools)

Creates ``.venv`` beside this file on first use and reinstalls when ``pyproject.toml``
changes. Extra arguments go to the underlying command (``herald dev`` or ``pytest``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
MARKER = VENV / ".herald-installed"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under any python3, before the venv
        sys.exit(f"Herald needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if MARKER.exists() and MARKER.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing Herald and its test tools (first run only)", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "-qq", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "-qq", "-e", f"{ROOT}[test]"])
    MARKER.write_text(wanted)


def run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def test(extra: list[str]) -> int:
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
    ]
    for step in steps:
        print(
            f"$ {' '.join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step))}",
            flush=True,
        )
        if subprocess.run(step, cwd=ROOT).returncode != 0:
            return 1
    # One process per core, two at least and four at most: the end-to-end tests spend most
    # of their time waiting on real timers and child processes, while the Temporal servers
    # the tests start need a share of the CPU on a busy machine.
    workers = os.environ.get("HERALD_TEST_WORKERS") or str(max(2, min(os.cpu_count() or 1, 4)))
    # Whole modules per process: a module's fixtures (its Temporal server) are set up once.
    parallel = [] if workers in ("0", "1") else ["-n", workers, "--dist", "loadfile"]
    print(f"$ pytest {' '.join(parallel)}".rstrip(), flush=True)
    return subprocess.run(
        [str(BIN / "pytest"), "-q", "-ra", "--durations=10", *parallel, *extra], cwd=ROOT
    ).returncode


def main() -> int:
    command, extra = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in ("dev", "demo", "test", "setup"):
        print(__doc__)
        return 2
    ensure_environment()
    if command == "setup":
        return 0
    if command == "test":
        return test(extra)
    herald = str(BIN / "herald")
    args = [herald, "dev", *(["--demo"] if command == "demo" else []), *extra]
    os.execv(herald, args)  # Ctrl-C goes straight to herald dev
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``herald --help`` of several checkouts side by side: ``python -m bench.cli_startup OLD NEW``.

Each checkout's ``starter.cli`` runs in a fresh interpreter (``python -m starter.cli --help``
run in the checkout, with it first on ``PYTHONPATH``), interleaved with ``python -c pass``, the floor
every Python command pays. Prints the medians and the ratios against that floor as Markdown.
The whole-stack figure (``herald loan status`` of a running loan) is section 5 of
``bench.benchmark``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_startup", description=__doc__)
    parser.add_argument("checkouts", nargs="+", type=Path, help="folders holding starter/")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    envs = {str(path): {**os.environ, "PYTHONPATH": str(path.resolve())} for path in args.checkouts}
    floor: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(args.runs):
        floor.append(wall([sys.executable, "-c", "pass"], dict(os.environ)))
        for name, env in envs.items():
            cmd = [sys.executable, "-m", "starter.cli", "--help"]
            times[name].append(wall(cmd, env, cwd=env["PYTHONPATH"]))
    base = statistics.median(floor)
    print("| command | median wall time (s) | against `python -c pass` | runs |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| `python -c pass` | {base:.3f} | 1.0 | {args.runs} |")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| `herald --help` ({name}) | {m:.3f} | {m / base:.1f} | {args.runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Diagnostics only (``--metrics``): time spent in Python's cyclic garbage collector.

``install(path)`` records every collection (generation, duration) and rewrites ``path``
with the totals once a second, so the benchmark can read them while the process runs.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from pathlib import Path
from typing import Any


def install(path: str) -> None:
    totals: dict[str, float] = {"gen0_s": 0.0, "gen1_s": 0.0, "gen2_s": 0.0}
    counts: dict[str, int] = {"gen0": 0, "gen1": 0, "gen2": 0}
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            gen = info["generation"]
            totals[f"gen{gen}_s"] += time.perf_counter() - started[0]
            counts[f"gen{gen}"] += 1

    gc.callbacks.append(callback)
    target = Path(path)

    def dump() -> None:
        while True:
            time.sleep(1)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps({**totals, **counts}))
            tmp.replace(target)

    threading.Thread(target=dump, daemon=True, name="gcstats").start()

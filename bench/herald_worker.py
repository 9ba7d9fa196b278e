"""``herald worker`` with Temporal's worker metrics exposed (diagnostics only).

``python -m bench.herald_worker`` installs a Temporal runtime serving Prometheus metrics on
``127.0.0.1:$BENCH_METRICS_PORT`` (sticky cache hits and misses, replays...) and, with
``BENCH_GC_STATS``, records the garbage collector's time; then runs exactly what
``herald worker`` runs. The benchmark uses it only with ``--metrics``.
"""

from __future__ import annotations

import os
import sys

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


def main() -> None:
    port = os.environ.get("BENCH_METRICS_PORT")
    if port:
        Runtime.set_default(
            Runtime(
                telemetry=TelemetryConfig(
                    metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}")
                )
            )
        )
    if os.environ.get("BENCH_GC_STATS"):
        from bench.gcstats import install

        install(os.environ["BENCH_GC_STATS"])
    from starter.cli import entrypoint

    sys.argv = ["herald", "worker"]
    entrypoint()


if __name__ == "__main__":
    main()

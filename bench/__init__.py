"""Benchmarks of Herald against a bare Temporal baseline (see docs/PERFORMANCE.md).

Run with ``.venv/bin/python -m bench.benchmark``; nothing here is collected by pytest.
"""

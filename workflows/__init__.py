"""Workflows: deterministic code only (timers, state, decisions).

This package imports nothing on purpose: Temporal's sandbox executes it again each time a
workflow is loaded into the worker's cache. The list the worker registers is in
:mod:`workflows.registry`.
"""

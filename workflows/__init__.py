"""Workflows: deterministic code only (timers, state, decisions)."""

from workflows.loan import LoanWorkflow

WORKFLOWS = [LoanWorkflow]

__all__ = ["WORKFLOWS", "LoanWorkflow"]

"""Workflows: deterministic code only (timers, state, decisions)."""

from workflows.loan import LoanWorkflow
from workflows.repair import RepairWorkflow
from workflows.staff import StaffBatchWorkflow, StaffNotifyWorkflow

WORKFLOWS = [LoanWorkflow, RepairWorkflow, StaffNotifyWorkflow, StaffBatchWorkflow]

__all__ = [
    "WORKFLOWS",
    "LoanWorkflow",
    "RepairWorkflow",
    "StaffBatchWorkflow",
    "StaffNotifyWorkflow",
]

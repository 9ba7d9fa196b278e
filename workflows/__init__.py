"""Workflows: deterministic code only (timers, state, decisions)."""

from workflows.housekeeping import HousekeepingWorkflow
from workflows.loan import LoanWorkflow
from workflows.repair import RepairWorkflow
from workflows.staff import StaffBatchWorkflow, StaffNotifyWorkflow

WORKFLOWS = [
    LoanWorkflow,
    RepairWorkflow,
    StaffNotifyWorkflow,
    StaffBatchWorkflow,
    HousekeepingWorkflow,
]

__all__ = [
    "WORKFLOWS",
    "HousekeepingWorkflow",
    "LoanWorkflow",
    "RepairWorkflow",
    "StaffBatchWorkflow",
    "StaffNotifyWorkflow",
]

"""Every workflow type the worker registers.

Kept out of `workflows/__init__.py`: the sandbox loads a workflow's package each time a
workflow enters the worker's cache, and an empty package keeps that to the modules the
workflow itself imports."""

from workflows.crm import CrmEventWorkflow
from workflows.daily_summary import DailySummaryWorkflow
from workflows.failure_alert import FailureAlertWorkflow
from workflows.followup import FollowUpWorkflow
from workflows.housekeeping import HousekeepingWorkflow
from workflows.loan import LoanWorkflow
from workflows.mailbox import MailboxWorkflow
from workflows.repair import RepairWorkflow
from workflows.repair_batch import RepairBatchWorkflow
from workflows.resend import ResendWorkflow
from workflows.staff import StaffBatchWorkflow, StaffNotifyWorkflow
from workflows.verification import ContactVerificationWorkflow
from workflows.webhooks import WebhookDeliveryWorkflow
from workflows.window import WhatsAppWindowWorkflow

WORKFLOWS = [
    LoanWorkflow,
    RepairWorkflow,
    StaffNotifyWorkflow,
    StaffBatchWorkflow,
    HousekeepingWorkflow,
    FollowUpWorkflow,
    CrmEventWorkflow,
    MailboxWorkflow,
    WebhookDeliveryWorkflow,
    FailureAlertWorkflow,
    ContactVerificationWorkflow,
    WhatsAppWindowWorkflow,
    ResendWorkflow,
    RepairBatchWorkflow,
    DailySummaryWorkflow,
]

__all__ = [
    "WORKFLOWS",
    "ContactVerificationWorkflow",
    "CrmEventWorkflow",
    "DailySummaryWorkflow",
    "FailureAlertWorkflow",
    "FollowUpWorkflow",
    "MailboxWorkflow",
    "HousekeepingWorkflow",
    "LoanWorkflow",
    "RepairBatchWorkflow",
    "RepairWorkflow",
    "ResendWorkflow",
    "StaffBatchWorkflow",
    "StaffNotifyWorkflow",
    "WebhookDeliveryWorkflow",
    "WhatsAppWindowWorkflow",
]

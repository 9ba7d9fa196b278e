"""The Python client applications use to hand loans, repairs, follow-ups and alerts to
Herald.

It is Herald's service layer itself (:mod:`herald.service`): everything is validated
before Temporal or the database sees it, and a refused call raises
:class:`~herald.errors.InvalidInput` and starts or changes nothing.

    herald = await Herald.connect()
    await herald.upsert_subscriber("u42", name="Alice", email="alice@example.org")
    await herald.start_loan("L1", borrower_id="u42", item="Drill", due_at=due)

From synchronous code (a Django ``post_save`` handler), use :class:`starter.sync.SyncHerald`.
"""

from __future__ import annotations

from herald.service import (
    WORKER_WAIT,
    Herald,
    Started,
    crm_event_workflow_id,
    followup_workflow_id,
    loan_workflow_id,
    repair_workflow_id,
)
from herald.service import temporal_refusal as _temporal_refusal

LoanStarted = Started  # the name loan desks already use

__all__ = [
    "WORKER_WAIT",
    "Herald",
    "LoanStarted",
    "Started",
    "_temporal_refusal",
    "crm_event_workflow_id",
    "followup_workflow_id",
    "loan_workflow_id",
    "repair_workflow_id",
]

"""What the technical admins must hear of, from the delivery activities: a loan's,
repair's or CRM notice's delivery that failed for good, and the month's SMS spending
nearing or passing its budget. Each starts one ``FailureAlertWorkflow`` whose id is the
failed row (or the month and the level), so a retried activity alerts nobody twice.
Staff alerts tell their admins from their own workflow; an alert about an alert is never
sent."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from herald.contracts import FAILURE_ALERT_WORKFLOW, FailureAlertInput, failure_alert_workflow_id
from herald.db import utcnow
from herald.settings import Settings
from herald.sms_budget import SMS_BUDGET_KIND, spending
from herald.staff_routing import admin_channels
from herald.store import Store

log = logging.getLogger(__name__)

# Subjects whose failed deliveries alert nobody from here: staff alerts alert from their
# own workflow, and system notices are the alerts themselves.
NO_FAILURE_ALERT = frozenset({"staff", "system"})


class AdminAlerts:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        client: Client | None,
        run: Callable[[Coroutine[Any, Any, Any]], Any],
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.run = run  # a client call on the worker's loop, from an activity thread

    def failed(self, key: str) -> None:
        """The delivery row ``key`` failed for good."""
        if self.client is None:
            return
        try:
            row = self.store.get_delivery(key)
            if row is None or row.subject_type in NO_FAILURE_ALERT:
                return
            alert = FailureAlertInput(
                idempotency_key=key,
                subject_id=row.subject_id,
                recipient_id=row.subscriber_id,
                tech_admins_group=self.settings.tech_admins_group,
                channels=admin_channels(self.store, self.settings),
            )
            self._start(alert, f"delivery failed: {row.kind} to {row.subscriber_id}")
        except Exception:
            # Never in the way of the failure itself: the row and the event say it already.
            log.exception("failure alert for %s not started", key)

    def sms_sent(self) -> None:
        """An SMS went out: near the month's budget, and past it, the admins hear (once a
        month each)."""
        if self.client is None or self.settings.sms_monthly_budget is None:
            return
        try:
            month = spending(self.store, self.settings, utcnow())
            if not month.near:
                return
            level = "reached" if month.reached else "near"
            self._start(
                FailureAlertInput(
                    idempotency_key=f"sms-budget:{month.month}:{level}",
                    subject_id=month.month,
                    recipient_id="",
                    tech_admins_group=self.settings.tech_admins_group,
                    channels=admin_channels(self.store, self.settings),
                    kind=SMS_BUDGET_KIND,
                    data=month.as_dict(),
                ),
                f"SMS budget {level} for {month.month}",
            )
        except Exception:
            log.exception("SMS budget alert not started")

    def _start(self, alert: FailureAlertInput, summary: str) -> None:
        assert self.client is not None
        with contextlib.suppress(WorkflowAlreadyStartedError):
            self.run(
                self.client.start_workflow(
                    FAILURE_ALERT_WORKFLOW,
                    alert,
                    id=failure_alert_workflow_id(alert.idempotency_key),
                    task_queue=self.settings.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=summary,
                )
            )

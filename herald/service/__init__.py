"""Herald's service layer: every operation, validated once, for every front door.

Each domain lives in its own module (``directory``, ``loans``, ``repairs``, ``followups``,
``summaries``, ``staff``, ``staff_setup``, ``notices``, ``inbox``, ``deliveries``,
``delivery_log``, ``resends``, ``feedback``, ``verification``, ``stats``, ``webhooks``,
``subscriber_tokens``, ``operations``); :class:`Herald` offers them all. The Python client
(:mod:`starter.client`), the CLI (:mod:`starter.cli`) and the HTTP API (:mod:`herald.api`)
translate to and from these methods and hold no rule of their own: a refused call raises
:class:`~herald.errors.InvalidInput` (or :class:`~herald.errors.Conflict`,
:class:`~herald.errors.NotFound`, :class:`~herald.errors.Unavailable`) and starts or
changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from herald.service.base import WORKER_WAIT, Started, one_line, temporal_refusal
from herald.service.delivery_log import DeliveryLogService
from herald.service.directory import DirectoryService
from herald.service.feedback import FeedbackService
from herald.service.followups import FollowUpService, crm_event_workflow_id, followup_workflow_id
from herald.service.inbox import InboxService
from herald.service.loans import LoanService, loan_workflow_id
from herald.service.notices import NoticeService
from herald.service.operations import OperationsService
from herald.service.repair_batches import RepairBatchService
from herald.service.repairs import RepairService, repair_workflow_id
from herald.service.resends import ResendService
from herald.service.staff_channels import StaffChannelService
from herald.service.staff_setup import StaffSetupService
from herald.service.stats import StatsService
from herald.service.subscriber_tokens import SubscriberTokenService
from herald.service.summaries import DailySummaryService
from herald.service.verification import VerificationService
from herald.service.webhooks import WebhookService

if TYPE_CHECKING:
    from herald.http_client import HttpHerald


class Herald(
    InboxService,
    SubscriberTokenService,
    FeedbackService,
    VerificationService,
    DailySummaryService,
    DirectoryService,
    LoanService,
    RepairService,
    RepairBatchService,
    FollowUpService,
    StaffChannelService,
    StaffSetupService,
    NoticeService,
    DeliveryLogService,
    ResendService,
    StatsService,
    WebhookService,
    OperationsService,
):
    """All of Herald's operations: the directory, preferences, groups, templates and the
    delivery log (database) and the loans, repairs, follow-ups and alerts (Temporal,
    connected on first use, so directory work needs no Temporal server).

        herald = await Herald.connect()
        await herald.upsert_subscriber("u42", name="Alice", email="alice@example.org")
        await herald.start_loan("L1", borrower_id="u42", item="Drill", due_at=due)

    Or the same operations over Herald's HTTP API, with neither Herald's database nor
    Temporal at hand: ``async with Herald.over_http(url, api_key) as herald: ...``.
    """

    @staticmethod
    def over_http(url: str, api_key: str | None = None, *, timeout: float = 60.0) -> HttpHerald:
        """A client of Herald's HTTP API with this class's methods, arguments, results and
        errors (:class:`herald.http_client.HttpHerald`)."""
        from herald.http_client import HttpHerald

        return HttpHerald(url, api_key, timeout=timeout)


__all__ = [
    "WORKER_WAIT",
    "Herald",
    "Started",
    "crm_event_workflow_id",
    "followup_workflow_id",
    "loan_workflow_id",
    "one_line",
    "repair_workflow_id",
    "temporal_refusal",
]

"""Delivery activities: all of Herald's I/O for sending one notification.

``plan_delivery`` reads the directory and preferences *when the notification is due*,
decides the channels and writes one delivery-log row per channel. ``deliver`` then runs
once per channel: it checks the row first (a row already ``sent`` is never sent again),
renders, calls the provider and records the outcome. Every failure goes through
:func:`~herald.channels.failures.classify_failure`: what a retry can fix (network, throttling,
database unreachable) raises a retryable error (Temporal retries with backoff); anything
else, unknown exceptions included, is recorded ``permanently_failed`` in the same attempt
and raises a non-retryable one. Reasons are bounded, so Temporal always keeps the failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.service import RPCError, RPCStatusCode

from activities.admin_alerts import AdminAlerts
from herald import outbound
from herald.admin_templates import AdminTemplateRenderer
from herald.branding import brand_context
from herald.channels import (
    OutgoingMessage,
    PermanentSendError,
    Provider,
    Receipt,
    SendError,
    TransientSendError,
    WhatsAppTemplate,
)
from herald.channels.base import ERROR_TEXT_LIMIT, FAILURE_MESSAGE_LIMIT, bounded_text
from herald.channels.chain import send_through_chain
from herald.channels.failures import classify_failure
from herald.channels.segments import count_sms
from herald.channels.staff_whatsapp import staff_template
from herald.channels.whatsapp_templates import TemplateSpec, load_whatsapp_templates
from herald.contracts import (
    DROP_HELD,
    HOLD_RULES,
    HOLD_SIGNAL,
    MAILBOX_WORKFLOW,
    PLAN_DELIVERIES,
    PLAN_NOTIFICATION,
    PURGE_OLD_RECORDS,
    RECIPIENTS_PAGE,
    WINDOW_PEOPLE,
    ChannelDecision,
    ChannelResult,
    ChannelSend,
    DeliveryPlan,
    DeliveryPlans,
    DeliveryRequest,
    DeliveryRequests,
    DeliveryStatus,
    DroppedNotices,
    HeldNotice,
    MailboxInput,
    PlanSummary,
    PurgeInput,
    PurgeResult,
    RecipientsPage,
    RecipientsPageInput,
    WindowPeopleInput,
    mailbox_workflow_id,
)
from herald.crm_store import purge_crm_facts
from herald.db import Delivery, InboxNotification, utcnow
from herald.holding import HoldReason, HoldRules
from herald.kinds import MAX_LENGTH, Channel, kind_info
from herald.planning import plan_channels
from herald.receipts import (
    ACCEPTED,
    REPORTING_PROVIDERS,
    catch_up,
    whatsapp_window,
)
from herald.rendering import Renderer
from herald.retry_budget import RetryBudget
from herald.settings import Settings
from herald.store import Contact, Store, purge_in_batches
from herald.subjects import SubjectEnv, subject_for

log = logging.getLogger(__name__)

PERMANENT_ERROR = "PermanentSendError"
TRANSIENT_ERROR = "TransientSendError"

# WhatsApp providers that deliver through Meta, bound by the 24-hour window.
WINDOW_PROVIDERS = frozenset({"twilio", "meta"})

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _now(not_before: datetime | None = None) -> datetime:
    """Temporal's time when this attempt was scheduled (the test server's skipped time too),
    outside an activity the machine's clock; never before ``not_before``.

    A local activity's attempt is scheduled by the worker, on the worker's clock, which the
    test server's skipped time runs ahead of: the notice's own scheduled instant (workflow
    time) is then the later, truer figure.
    """
    try:
        now = activity.info().current_attempt_scheduled_time
    except RuntimeError:
        now = utcnow()
    return now if not_before is None else max(now, not_before)


class TemporalWorkflows:
    """The subjects' view of their workflows, through the worker's client."""

    def __init__(self, client: Client, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
        self.client = client
        self.run = run

    def running(self, workflow_id: str) -> bool | None:
        client = self.client
        try:
            # The raw call: only the status is needed, no search attribute decoding.
            description = self.run(
                client.workflow_service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(
                        namespace=client.namespace,
                        execution=WorkflowExecution(workflow_id=workflow_id),
                    )
                )
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return None
        status = description.workflow_execution_info.status
        return bool(status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING)

    def status(self, workflow_id: str, result_type: type[M]) -> M:
        handle = self.client.get_workflow_handle(workflow_id)
        return cast(M, self.run(handle.query("status", result_type=result_type)))


class DeliveryActivities:
    """Bound to a store, a renderer and the configured providers; registered on the worker."""

    def __init__(
        self,
        store: Store,
        providers: dict[Channel, list[Provider]],
        settings: Settings,
        renderer: Renderer | None = None,
        client: Client | None = None,
    ) -> None:
        self.store = store
        self.providers = providers
        self.settings = settings
        self.renderer = renderer or Renderer.with_overrides(settings.templates_dir)
        # Hands held notices to mailboxes and checks on subjects; its calls run on the
        # worker's event loop, these activities on threads.
        self.client = client
        self._loop: asyncio.AbstractEventLoop | None = None
        if client is not None:
            self._loop = asyncio.get_running_loop()
        self.whatsapp_templates: dict[str, TemplateSpec] = load_whatsapp_templates(
            settings.whatsapp_templates
        )
        self.admin_templates = AdminTemplateRenderer()
        # WhatsApp's 24-hour rule is Meta's: it binds the real providers, not the outbox.
        self._window_applies = any(
            p.name in WINDOW_PROVIDERS for p in providers.get(Channel.WHATSAPP, [])
        )
        self.alerts = AdminAlerts(store, settings, client, self._run)
        self.env = SubjectEnv(
            store=store,
            renderer=self.renderer,
            admin_templates=self.admin_templates,
            context_of=self._context,
            workflows=TemporalWorkflows(client, self._run) if client is not None else None,
            publish=self.publish,
        )

    # ---------------------------------------------------------------- plan

    @activity.defn(name="plan_delivery")
    def plan_delivery(self, request: DeliveryRequest) -> DeliveryPlan:
        subject = subject_for(request.subject_type)
        dropped = subject.obsolete(request, self.env) if request.release else None
        plan = plan_channels(
            self.store,
            self.settings,
            frozenset(self.providers),
            request,
            dropped=dropped,
            clock=_now,
        )
        decisions = plan.decisions
        if plan.hold is not None:
            assert plan.prefs is not None and plan.contact is not None
            assert plan.priority is not None and plan.now is not None
            notice = HeldNotice(
                request=request,
                priority=plan.priority,
                hold=plan.hold,
                held_at=plan.now,
                rules=plan.prefs.hold_rules(plan.contact.timezone),
            )
            return self._hold(notice, decisions)
        subject.planned(request, self.env)
        self.store.record_decisions(request, decisions)
        for d in decisions:
            if d.status is DeliveryStatus.SUPPRESSED and outbound.wanted(
                self.store, "delivery.suppressed"
            ):
                row = self.store.get_delivery(d.idempotency_key)
                if row is not None:
                    self._publish("delivery.suppressed", row, d.idempotency_key)
        return DeliveryPlan(decisions=decisions, retry=self._retry(decisions))

    def _retry(self, decisions: list[ChannelDecision]) -> dict[Channel, RetryBudget]:
        """The configured retry budget of each channel to send (none: the default)."""
        budgets = {}
        for d in decisions:
            if d.status is DeliveryStatus.PENDING:
                budget = self.settings.retry_budget(d.channel)
                if budget is not None:
                    budgets[d.channel] = budget
        return budgets

    def _hold(self, notice: HeldNotice, decisions: list[ChannelDecision]) -> DeliveryPlan:
        """Log the channels as ``held`` and hand the notice to the person's mailbox workflow
        (signal-with-start: one mailbox per person, started by the first notice it holds).
        A retried attempt signals again; the mailbox ignores a notice it already has."""
        request, rules, hold = notice.request, notice.rules, notice.hold
        note = (
            f"quiet hours until {hold.until.astimezone(ZoneInfo(rules.timezone)):%Y-%m-%d %H:%M} "
            f"{rules.timezone}"
            if hold.reason is HoldReason.QUIET
            else f"collected for the {rules.digest.value} digest"
        )
        held = [
            d.model_copy(update={"status": DeliveryStatus.HELD, "reason": note})
            if d.status is DeliveryStatus.PENDING
            else d
            for d in decisions
        ]
        notice.keys = [d.idempotency_key for d in held if d.status is DeliveryStatus.HELD]
        self.store.record_decisions(request, held)
        client = self._require_client("hold a notice for quiet hours or a digest")
        self._run(
            client.start_workflow(
                MAILBOX_WORKFLOW,
                MailboxInput(subscriber_id=request.subscriber_id, rules=rules),
                id=mailbox_workflow_id(request.subscriber_id),
                task_queue=self.settings.task_queue,
                start_signal=HOLD_SIGNAL,
                start_signal_args=[notice],
                static_summary=f"Mailbox of {request.subscriber_id}",
            )
        )
        log.info("held %s for %s: %s", request.kind, request.subscriber_id, note)
        return DeliveryPlan(decisions=held)

    def _require_client(self, why: str) -> Client:
        if self.client is None:
            raise ApplicationError(
                f"this worker has no Temporal client to {why}", non_retryable=True
            )
        return self.client

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a client call on the worker's event loop from this activity's thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    @activity.defn(name=HOLD_RULES)
    def hold_rules(self, subscriber_id: str) -> HoldRules:
        """A person's quiet hours and digest choice, as they are now."""
        return self.store.hold_rules(subscriber_id)

    @activity.defn(name=DROP_HELD)
    def drop_held(self, dropped: DroppedNotices) -> int:
        """Settle held notices that will not go out (their moment passed) as skipped, with
        the reason; returns how many delivery rows were settled."""
        settled = 0
        for notice in dropped.notices:
            settled += self.store.settle_held(
                notice.keys, status=DeliveryStatus.SKIPPED, note=notice.reason, error=notice.reason
            )
            log.info(
                "dropped held %s for %s (%s): %s",
                notice.kind,
                notice.subscriber_id,
                notice.notification_id,
                notice.reason,
            )
        return settled

    @activity.defn(name=PLAN_DELIVERIES)
    def plan_deliveries(self, batch: DeliveryRequests) -> DeliveryPlans:
        """Plan a batch at once: one activity for fifty people instead of fifty."""
        return DeliveryPlans(plans=[self.plan_delivery(r) for r in batch.requests])

    @activity.defn(name=PLAN_NOTIFICATION)
    def plan_notification(self, request: DeliveryRequest) -> PlanSummary:
        """:meth:`plan_delivery`, answering only each channel's status: run as a local
        activity, its result is a marker in the workflow's history for ever."""
        plan = self.plan_delivery(request)
        return PlanSummary(channels={d.channel: d.status for d in plan.decisions}, retry=plan.retry)

    # ---------------------------------------------------------------- send

    @activity.defn(name="deliver")
    def deliver(self, send: ChannelSend) -> ChannelResult:
        try:
            result = self._deliver(send)
            if send.request is None:
                # A lean-notify workflow reads only the status; the provider, its message
                # id and the time are on the delivery row, not copied into history.
                return ChannelResult(channel=result.channel, status=result.status)
            return result
        except (ApplicationError, CancelledError):
            raise
        except Exception as exc:
            # Reading or writing the row failed: bounded, and retried only when a retry helps.
            failure = classify_failure(exc)
            transient = isinstance(failure, TransientSendError)
            raise ApplicationError(
                bounded_text(
                    f"delivery {send.idempotency_key}: {failure.reason}", FAILURE_MESSAGE_LIMIT
                ),
                type=TRANSIENT_ERROR if transient else PERMANENT_ERROR,
                non_retryable=not transient,
            ) from None

    def _failed(
        self, key: str, attempt: int, failure: SendError, max_attempts: int | None = None
    ) -> ApplicationError:
        """Record a failed attempt on the row; the error to raise for Temporal.

        Transient failures are retried with backoff; anything else is ``permanently_failed``
        at once, with its reason: no attempt after this one."""
        transient = isinstance(failure, TransientSendError)
        if transient and max_attempts is not None and attempt >= max_attempts:
            # The channel's retry budget (HERALD_RETRY_*) ends here: settled for good, so
            # the row says so and the admins hear of it, like any permanent failure.
            failure = PermanentSendError(
                f"gave up after {attempt} attempts: {failure.reason}", recipient_fault=False
            )
            transient = False
        status = DeliveryStatus.FAILED if transient else DeliveryStatus.PERMANENTLY_FAILED
        reason = bounded_text(failure.reason, ERROR_TEXT_LIMIT)
        self.store.update_delivery(key, status=status.value, attempts=attempt, error=reason)
        if not transient:
            self._publish_failed(key)
            self.alerts.failed(key)
        if transient:
            assert isinstance(failure, TransientSendError)
            log.warning("transient failure %s (attempt %d): %s", key, attempt, reason)
            return ApplicationError(
                bounded_text(failure.reason, FAILURE_MESSAGE_LIMIT),
                type=TRANSIENT_ERROR,
                next_retry_delay=timedelta(seconds=failure.retry_after)
                if failure.retry_after
                else None,
            )
        log.warning("permanent failure %s: %s", key, reason)
        return ApplicationError(
            bounded_text(failure.reason, FAILURE_MESSAGE_LIMIT),
            type=PERMANENT_ERROR,
            non_retryable=True,
        )

    def _deliver(self, send: ChannelSend) -> ChannelResult:
        key = send.idempotency_key
        row = self.store.get_delivery(key)
        if row is None:
            raise ApplicationError(f"no delivery row for {key}", non_retryable=True)
        if row.status in ACCEPTED:
            # Already accepted by a provider (an earlier attempt got that far): never twice.
            # Its event again (recorded once): the attempt that sent it may have failed
            # before publishing it.
            self._publish("delivery.sent", row, key)
            return ChannelResult(
                channel=send.channel,
                status=DeliveryStatus.SENT,
                provider=row.provider,
                provider_message_id=row.provider_message_id,
                sent_at=row.sent_at,
            )
        if send.request is None:
            if row.request is None:
                raise ApplicationError(
                    f"delivery row {key} holds no request to compose", non_retryable=True
                )
            send = send.model_copy(update={"request": DeliveryRequest.model_validate(row.request)})
        attempt = activity.info().attempt
        try:
            message = self._compose(send, recipient_address=row.recipient)
            receipt = self._send_through_chain(send.channel, message, key, attempt)
        except CancelledError:
            raise
        except Exception as exc:
            raise self._failed(key, attempt, classify_failure(exc), send.max_attempts) from None
        sent_at = utcnow()
        self.store.update_delivery(
            key,
            status=DeliveryStatus.SENT.value,
            attempts=attempt,
            provider=receipt.provider,
            provider_message_id=receipt.message_id,
            sent_at=sent_at,
            error=None,
            **self._sms_cost(send.channel, message.text, receipt.provider),
        )
        if send.channel is Channel.SMS:
            self.alerts.sms_sent()
        if receipt.message_id and receipt.provider in REPORTING_PROVIDERS:
            # The provider's callbacks may have come in before this row said sent.
            catch_up(self.store, key)
        log.info("sent %s via %s (%s)", key, send.channel.value, receipt.provider)
        self._publish(
            "delivery.sent",
            row,
            key,
            status=DeliveryStatus.SENT.value,
            attempts=attempt,
            provider=receipt.provider,
            provider_message_id=receipt.message_id,
            sent_at=sent_at,
            error=None,
        )
        return ChannelResult(
            channel=send.channel,
            status=DeliveryStatus.SENT,
            provider=receipt.provider,
            provider_message_id=receipt.message_id,
            sent_at=sent_at,
        )

    def _publish(self, type_: str, row: Delivery, key: str, **changes: Any) -> None:
        """The row's ``delivery.*`` event for the application's webhooks (nothing but one
        cached check while no endpoint subscribes)."""
        if outbound.wanted(self.store, type_):
            self.publish(type_, outbound.delivery_data(row, **changes), key=key)

    def _publish_failed(self, key: str) -> None:
        """``delivery.failed`` for a row that failed for good; never in the way of the
        failure itself (raising here would retry a send that must not be)."""
        try:
            if outbound.wanted(self.store, "delivery.failed"):
                row = self.store.get_delivery(key)
                if row is not None:
                    self._publish("delivery.failed", row, key)
        except Exception:
            log.exception("delivery.failed event of %s not recorded", key)

    def publish(self, type_: str, data: dict[str, Any], *, key: str) -> str | None:
        """An event for the application's webhooks, from this activity's thread."""
        return outbound.publish_sync(
            self.store, self.client, self._loop, type_, data, key=key, settings=self.settings
        )

    def _send_through_chain(
        self, channel: Channel, message: OutgoingMessage, key: str, attempt: int
    ) -> Receipt:
        """Try the channel's providers in order.

        The first provider alone is tried for the first ``failover_after_attempts`` attempts
        of a transient failure (Temporal's backoff in between); after that, each attempt
        walks the whole chain. A provider's own permanent failure (auth, unverified sender,
        region not enabled) moves on at once; a recipient's (invalid number, opted out)
        stops the chain: no other provider would do better.
        """

        def record(provider: Provider, err: SendError) -> None:
            self.store.record_provider_error(
                key,
                provider=provider.name,
                attempt=attempt,
                code=err.code,
                error=bounded_text(err.reason, ERROR_TEXT_LIMIT),
            )

        return send_through_chain(
            self.providers.get(channel) or [],
            message,
            walk_chain=attempt > self.settings.failover_after_attempts,
            on_failure=record,
        )

    def _sms_cost(self, channel: Channel, text: str, provider: str) -> dict[str, Any]:
        if channel is not Channel.SMS:
            return {}
        count = count_sms(text)
        unit_cost = getattr(self.settings, f"{provider}_sms_segment_cost", None)
        return {
            "segments": count.segments,
            "encoding": count.encoding,
            "cost_estimate": round(count.segments * unit_cost, 4)
            if unit_cost is not None
            else None,
            "cost_currency": self.settings.sms_cost_currency if unit_cost is not None else None,
        }

    def _compose(self, send: ChannelSend, *, recipient_address: str | None) -> OutgoingMessage:
        request = send.request
        assert request is not None, "resolved from the delivery row by _deliver"
        # Fresh from the directory: a name or language changed since the loan began is used.
        contact = self.store.get_contact(request.subscriber_id)
        if contact is None:
            raise PermanentSendError(f"unknown subscriber {request.subscriber_id!r}")
        address = recipient_address or contact.address(send.channel)
        if not address:
            raise PermanentSendError(
                f"subscriber {contact.id!r} has no {send.channel.value} address"
            )
        context = self._context(request, contact)
        in_app = send.channel is Channel.IN_APP
        rendered = self.renderer.render(
            request.kind,
            contact.locale,
            context,
            email=send.channel is Channel.EMAIL,
            short=send.channel in (Channel.SMS, Channel.WHATSAPP),
            inbox=in_app,
        )
        kind = kind_info(request.kind)
        common: dict[str, Any] = {
            "channel": send.channel,
            "to": address,
            "subject": rendered.subject,
            "key": send.idempotency_key,
            "kind": request.kind,
            "priority": request.priority or kind.priority,
        }
        if send.channel is Channel.EMAIL:
            headers = {}
            if self.settings.email_list_unsubscribe:
                target = self.settings.email_list_unsubscribe.replace("{subscriber_id}", contact.id)
                headers["List-Unsubscribe"] = f"<{target}>"
                if target.startswith("https://"):
                    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            return OutgoingMessage(
                text=rendered.text, html=rendered.html, headers=headers, **common
            )
        limit = MAX_LENGTH.get(send.channel)
        if limit is not None and len(rendered.short) > limit:
            raise PermanentSendError(
                f"message of {len(rendered.short)} characters is over the {send.channel.value} "
                f"limit of {limit}: refused rather than cut",
                recipient_fault=True,
            )
        template = None
        if send.channel is Channel.WHATSAPP:
            staff = staff_template(
                self.store, self.admin_templates, request, contact.locale, context
            )
            template = (
                staff.template
                if staff
                else self._whatsapp_template(request.kind, contact.locale, context)
            )
            if self.settings.whatsapp_enforce_window and self._window_applies:
                template = self._inside_window(request.kind, address, template)
            if staff is not None and template is not None:
                staff.check_approved()
        return OutgoingMessage(
            text=rendered.inbox if in_app else rendered.short,
            html=None,
            template=template,
            link=request.data.get("link"),
            **common,
        )

    def _inside_window(
        self, kind: str, address: str, template: WhatsAppTemplate | None
    ) -> WhatsAppTemplate | None:
        """Free text inside the person's 24-hour window (opened by their last message),
        the kind's approved template outside it: Meta refuses free text there."""
        window = whatsapp_window(self.store, address, self.settings.whatsapp_window)
        if window.is_open(_now()):
            return None
        if template is None:
            since = (
                f"last message from {address} at {window.last_inbound_at:%Y-%m-%d %H:%M} UTC"
                if window.last_inbound_at
                else f"no message ever received from {address}"
            )
            raise PermanentSendError(
                f"outside WhatsApp's 24-hour window ({since}) and no approved template is "
                f"configured for {kind}: add one to HERALD_WHATSAPP_TEMPLATES",
                recipient_fault=True,
            )
        return template

    def _whatsapp_template(
        self, kind: str, locale: str, context: dict[str, Any]
    ) -> WhatsAppTemplate | None:
        spec = self.whatsapp_templates.get(kind)
        if spec is None:
            return None
        language = spec.language.get(locale) or next(iter(spec.language.values()))
        parameters = tuple(
            self.renderer.render_string(p, context, where=f"WhatsApp template {spec.name}")
            for p in spec.parameters
        )
        return WhatsAppTemplate(
            name=spec.name,
            language=language,
            parameters=parameters,
            twilio_content_sid=spec.twilio_content_sid,
        )

    def _context(self, request: DeliveryRequest, contact: Contact) -> dict[str, Any]:
        s = self.settings
        context: dict[str, Any] = {
            "kind": request.kind,
            "color": kind_info(request.kind).color,
            "role": request.role.value,
            "recipient": {
                "id": contact.id,
                "name": contact.display_name,
                "locale": contact.locale,
                "timezone": contact.timezone,
            },
            "brand": brand_context(s),
        }
        context.update(
            subject_for(request.subject_type).context(request, contact, context, self.env)
        )
        return context

    @activity.defn(name=PURGE_OLD_RECORDS)
    def purge_old_records(self, inp: PurgeInput) -> PurgeResult:
        """The seeds' 90-day policy: old delivery-log rows, in-app notifications that were
        read long ago (unread ones stay until read), follow-ups closed long ago and old lead
        assignments (open follow-ups stay)."""
        cutoff = utcnow() - timedelta(days=inp.retention_days)

        def beat(done: int) -> None:
            activity.heartbeat(done)

        deliveries, b1 = purge_in_batches(
            self.store,
            Delivery,
            Delivery.created_at < cutoff,
            batch_size=inp.batch_size,
            on_batch=beat,
        )
        inbox, b2 = purge_in_batches(
            self.store,
            InboxNotification,
            InboxNotification.read_at.is_not(None),
            InboxNotification.read_at < cutoff,
            batch_size=inp.batch_size,
            on_batch=beat,
        )
        crm_facts, b3 = purge_crm_facts(
            self.store, cutoff, batch_size=inp.batch_size, on_batch=beat
        )
        log.info(
            "purged %d delivery rows, %d read inbox entries and %d closed CRM facts",
            deliveries,
            inbox,
            crm_facts,
        )
        return PurgeResult(
            deliveries=deliveries, inbox=inbox, batches=b1 + b2 + b3, crm_facts=crm_facts
        )

    @activity.defn(name=WINDOW_PEOPLE)
    def window_people(self, inp: WindowPeopleInput) -> list[str]:
        """The members of ``inp.group`` whose WhatsApp number is ``inp.address``."""
        return self.store.members_with_whatsapp(inp.group, inp.address)

    @activity.defn(name=RECIPIENTS_PAGE)
    def recipients_page(self, page: RecipientsPageInput) -> RecipientsPage:
        """One page of the distinct recipients of a notice: named people and group members,
        in id order (keyset paging, so a group of any size is walked in bounded steps)."""
        ids: set[str] = {u for u in page.user_ids if page.after is None or u > page.after}
        members: dict[str, set[str]] = {}
        for group in page.group_names:
            members[group] = set(
                self.store.group_members(group, after=page.after, limit=page.limit)
            )
            ids.update(members[group])
        ordered = sorted(ids)[: page.limit]
        full = len(ordered) == page.limit
        came_from = {
            i: groups
            for i in ordered
            if (groups := [g for g in page.group_names if i in members[g]])
        }
        return RecipientsPage(
            ids=ordered, next_after=ordered[-1] if full else None, groups=came_from
        )

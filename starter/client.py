"""The Python client applications use to hand loans to Herald.

Everything is validated here, before Temporal sees it: a refused call raises
:class:`~herald.errors.InvalidInput` and starts or changes nothing.

    herald = await Herald.connect()
    await herald.upsert_subscriber("u42", name="Alice", email="alice@example.org")
    await herald.start_loan("L1", borrower_id="u42", item="Drill", due_at=due)

From synchronous code (a Django ``post_save`` handler), use :class:`starter.sync.SyncHerald`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from herald.admin_templates import AdminTemplateRenderer, Notice
from herald.contacts import (
    check_locale,
    check_timezone,
    normalise_email,
    normalise_phone,
)
from herald.contracts import (
    RULES_CHANGED_SIGNAL,
    AppliedEvent,
    CompleteInput,
    CrmEventInput,
    CrmSubject,
    ExtendInput,
    FollowUpInput,
    FollowUpStatus,
    LoanInput,
    LoanStatus,
    MailboxStatus,
    NotifyInput,
    NotifyResult,
    ReassignInput,
    RepairEvent,
    RepairEventType,
    RepairInput,
    RepairState,
    RepairStatus,
    RescheduleInput,
    ReturnInput,
    mailbox_workflow_id,
)
from herald.crm import MANAGERS, check_event, notices_for
from herald.errors import HeraldError, InvalidInput, NotFound
from herald.holding import (
    HoldRules,
    parse_clock,
    parse_digest_mode,
    parse_quiet_hours,
    parse_weekday,
)
from herald.kinds import CATEGORIES, OPTIONAL_KINDS, Channel
from herald.policy import LoanPolicy, load_policy
from herald.rendering import TemplateError
from herald.repairs import default_repair_policy
from herald.search_attributes import (
    ASSIGNEE_ID,
    BORROWER_ID,
    CUSTOMER_ID,
    DUE_AT,
    FOLLOWUP_STATUS,
    LOAN_STATUS,
    REPAIR_STATUS,
    TECHNICIAN_ID,
)
from herald.settings import Settings, load_settings
from herald.store import (
    Contact,
    GroupInfo,
    PreferenceSet,
    Store,
    TemplateText,
    delivery_as_dict,
    inbox_as_dict,
)
from herald.temporal import check_encrypted, connect, data_converter
from herald.validation import (
    LIMITS,
    aware_instant,
    check_context,
    check_id,
    check_ids,
    check_int,
    check_link,
    check_workflow_id,
    optional_text,
    required_text,
)
from workflows.crm import CrmEventWorkflow
from workflows.followup import FollowUpWorkflow
from workflows.loan import LoanWorkflow
from workflows.repair import RepairWorkflow
from workflows.staff import StaffNotifyWorkflow

T = TypeVar("T")
log = logging.getLogger("herald.client")
# How long a call that needs a worker (extend, return and wait, status) waits for one.
WORKER_WAIT = timedelta(seconds=30)
_UNSET: Any = object()


def loan_workflow_id(loan_id: str) -> str:
    return f"loan-{loan_id}"


@dataclass(frozen=True)
class Started:
    id: str  # the business id (loan or repair)
    workflow_id: str
    run_id: str | None
    # False when the object already had a running workflow (the start was a no-op).
    created: bool


LoanStarted = Started  # the name loan desks already use


def repair_workflow_id(repair_id: str) -> str:
    return f"repair-{repair_id}"


def followup_workflow_id(followup_id: str) -> str:
    return f"followup-{followup_id}"


def crm_event_workflow_id(subject: CrmSubject, subject_id: str, event_id: str) -> str:
    """One workflow per event. ``/`` cannot occur in an id, so the two ids never run into
    each other: lead ``A-event-B`` with event ``C`` and lead ``A`` with event ``B-event-C``
    are two workflows."""
    return f"{subject.value}-{subject_id}/event-{event_id}"


def _one_line(text: object, limit: int = 300) -> str:
    """A server's message as one bounded line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else f"{flat[:limit]}…"


def _temporal_refusal(err: RPCError, what: str) -> HeraldError:
    """What Temporal's refusal means to the caller, as a typed one-line error."""
    message = err.message or str(err)
    if err.status == RPCStatusCode.NOT_FOUND:
        # Ended between our check and the call (a return racing an extension, say).
        return InvalidInput(f"{what} is no longer running")
    if "size exceeds limit" in message or "exceeds size limit" in message:
        return InvalidInput(f"{what}: the request is too large for Temporal ({_one_line(message)})")
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        return InvalidInput(f"{what}: refused by Temporal: {_one_line(message)}")
    return HeraldError(f"{what}: Temporal failed: {err.status.name}: {_one_line(message)}")


def _update_refusal(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return _one_line(getattr(cause, "message", None) or cause, 1000)


def _optional_id(value: str | None, what: str) -> str | None:
    return check_id(value, what) if value else None


def _refuse_plaintext(client: Client | None, settings: Settings) -> None:
    """With HERALD_REQUIRE_ENCRYPTION, refuse here rather than start anything in plaintext."""
    if client is not None:
        check_encrypted(client, settings)
    elif settings.require_encryption:
        data_converter(settings)


class Herald:
    """Async client: the directory, preferences, groups and templates (database) and the
    loans, repairs and staff alerts (Temporal, connected on first use, so directory work
    needs no Temporal server)."""

    def __init__(
        self,
        client: Client | None,
        store: Store,
        settings: Settings,
        policy: LoanPolicy | None = None,
    ) -> None:
        _refuse_plaintext(client, settings)
        self._client = client
        self.store = store
        self.settings = settings
        self.policy = policy or load_policy(settings.policy)

    @functools.cached_property
    def followup_policy(self) -> LoanPolicy:
        """Read once, on the first follow-up: clients that never start one never read it."""
        return load_policy(self.settings.followup_policy)

    @classmethod
    async def connect(
        cls, settings: Settings | None = None, *, client: Client | None = None
    ) -> Herald:
        settings = settings or load_settings()
        _refuse_plaintext(client, settings)  # before opening the database
        if not settings.database_url:
            database = (settings.data_dir / "herald.db").resolve()
            if not database.is_file():
                # Opening it would create an empty database, and every call would then fail
                # with "no such table".
                raise HeraldError(
                    f"no Herald database at {database}: run 'herald setup' (or 'herald dev') "
                    "there first, run from the stack's folder, or set HERALD_DATA_DIR or "
                    "HERALD_DATABASE_URL to the stack's"
                )
        return cls(client, Store.from_url(settings.resolved_database_url), settings)

    @property
    def client(self) -> Client:
        if self._client is None:
            raise HeraldError("not connected to Temporal yet")
        return self._client

    async def temporal(self) -> Client:
        """The Temporal client, connected on first use."""
        if self._client is None:
            try:
                self._client = await connect(self.settings)
            except RuntimeError as err:
                raise HeraldError(
                    f"cannot reach Temporal at {self.settings.temporal_address} "
                    f"(namespace {self.settings.temporal_namespace}): is it running? "
                    f"Set TEMPORAL_ADDRESS, or start one with 'herald dev'. ({err})"
                ) from None
        return self._client

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ directory

    async def upsert_subscriber(
        self,
        subscriber_id: str,
        *,
        name: str | None = _UNSET,
        email: str | None = _UNSET,
        phone: str | None = _UNSET,
        whatsapp: str | None = _UNSET,
        locale: str = _UNSET,
        timezone: str = _UNSET,
    ) -> Contact:
        """Create or update a person. Unset fields keep their value; ``None`` or ``""`` clears one."""
        check_id(subscriber_id, "subscriber id")
        fields: dict[str, Any] = {}
        region = self.settings.default_phone_region
        if name is not _UNSET:
            fields["name"] = optional_text(name, "name")
        if email is not _UNSET:
            fields["email"] = (
                normalise_email(
                    email,
                    smtputf8=self.settings.email_smtputf8,
                    special_use_domains=self.settings.email_special_use_domains,
                )
                if email
                else None
            )
        if phone is not _UNSET:
            fields["phone"] = normalise_phone(phone, region) if phone else None
        if whatsapp is not _UNSET:
            fields["whatsapp"] = normalise_phone(whatsapp, region) if whatsapp else None
        if locale is not _UNSET:
            fields["locale"] = check_locale(locale)
        if timezone is not _UNSET:
            fields["timezone"] = check_timezone(timezone)
        contact, _ = await asyncio.to_thread(
            self.store.upsert_subscriber,
            subscriber_id,
            default_locale=self.settings.default_locale,
            default_timezone=self.settings.default_timezone,
            **fields,
        )
        return contact

    async def get_subscriber(self, subscriber_id: str) -> Contact:
        check_id(subscriber_id, "subscriber id")
        contact = await asyncio.to_thread(self.store.get_contact, subscriber_id)
        if contact is None:
            raise NotFound(f"unknown subscriber {subscriber_id!r}")
        return contact

    async def set_preferences(
        self,
        subscriber_id: str,
        *,
        email: bool | None = None,
        sms: bool | None = None,
        whatsapp: bool | None = None,
        reminders: dict[str, bool] | None = None,
        in_app: bool | None = None,
        categories: dict[str, bool] | None = None,
        quiet_hours: str | None = _UNSET,
        digest: str | None = None,
        digest_at: str | None = None,
        digest_weekday: str | int | None = None,
    ) -> PreferenceSet:
        """Channel, kind and category toggles, quiet hours and digest mode; read by the worker
        when each notice falls due.

        ``quiet_hours="21:00-07:30"`` (local, in the person's zone) or ``None``/``"off"``;
        ``digest="daily"|"weekly"|"off"`` with ``digest_at="18:00"`` and, weekly,
        ``digest_weekday="friday"``. A change of quiet hours or digest applies at once to
        the notices already waiting.
        """
        contact = await self.get_subscriber(subscriber_id)
        for kind in reminders or {}:
            if kind not in OPTIONAL_KINDS:
                raise InvalidInput(
                    f"{kind!r} cannot be switched off: choose among {', '.join(OPTIONAL_KINDS)}"
                )
        for category in categories or {}:
            if category not in CATEGORIES:
                raise InvalidInput(
                    f"unknown category {category!r}: choose among {', '.join(CATEGORIES)}"
                )
        rules: dict[str, Any] = {}
        try:
            if quiet_hours is not _UNSET:
                rules["quiet_hours"] = parse_quiet_hours(quiet_hours or "off")
            if digest is not None:
                rules["digest"] = parse_digest_mode(digest)
            if digest_at is not None:
                rules["digest_at"] = parse_clock(digest_at)
            if digest_weekday is not None:
                rules["digest_weekday"] = parse_weekday(digest_weekday)
        except ValueError as err:
            raise InvalidInput(str(err)) from None
        channels = {
            ch: on
            for ch, on in (
                (Channel.EMAIL, email),
                (Channel.SMS, sms),
                (Channel.WHATSAPP, whatsapp),
                (Channel.IN_APP, in_app),
            )
            if on is not None
        }
        prefs = await asyncio.to_thread(
            self.store.set_preferences,
            subscriber_id,
            channels=channels,
            kinds=reminders,
            categories=categories,
            **rules,
        )
        if rules:
            await self._wake_mailbox(subscriber_id, prefs.hold_rules(contact.timezone))
        return prefs

    async def _wake_mailbox(self, subscriber_id: str, rules: HoldRules) -> None:
        """Tell the person's mailbox, if they have one, that their rules changed, so what
        waits follows the new rules now. Best effort: when Temporal cannot be reached, the
        mailbox still reads the rules again at its next wake-up."""
        try:
            client = await asyncio.wait_for(self.temporal(), 10)
            handle = client.get_workflow_handle(mailbox_workflow_id(subscriber_id))
            await asyncio.wait_for(handle.signal(RULES_CHANGED_SIGNAL, rules), 10)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:  # no mailbox: nothing waits
                log.warning("could not tell the mailbox of %s: %s", subscriber_id, err)
        except (HeraldError, TimeoutError) as err:
            log.warning("could not tell the mailbox of %s: %s", subscriber_id, err)

    async def mailbox(self, subscriber_id: str) -> MailboxStatus | None:
        """What waits for the person's quiet hours to end or for their digest (None: nothing)."""
        await self.get_subscriber(subscriber_id)
        try:
            return await self._query(
                mailbox_workflow_id(subscriber_id), f"mailbox of {subscriber_id!r}", MailboxStatus
            )
        except NotFound:
            return None

    async def get_preferences(self, subscriber_id: str) -> PreferenceSet:
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(self.store.get_preferences, subscriber_id)

    # ------------------------------------------------------------------ loans

    async def start_loan(
        self,
        loan_id: str,
        *,
        borrower_id: str,
        item: str,
        due_at: datetime,
        borrowed_at: datetime | None = None,
        manager_id: str | None = None,
    ) -> Started:
        """Start the loan's workflow; starting a running loan again returns it unchanged."""
        check_id(loan_id, "loan id")
        item = required_text(item, "item")
        due = aware_instant(due_at, "due time")
        now = datetime.now(UTC)
        borrowed = aware_instant(borrowed_at, "borrowed-at time") if borrowed_at else now
        if due <= now:
            raise InvalidInput(f"the due time {due.isoformat()} is in the past")
        if due <= borrowed:
            raise InvalidInput(
                f"the due time {due.isoformat()} is not after the borrowed-at time {borrowed.isoformat()}"
            )
        borrower = await self._reachable(borrower_id, "borrower")
        if manager_id is not None:
            await self._reachable(manager_id, "manager")

        workflow_id = loan_workflow_id(loan_id)
        client = await self.temporal()
        try:
            handle = await client.start_workflow(
                LoanWorkflow.run,
                LoanInput(
                    loan_id=loan_id,
                    borrower_id=borrower_id,
                    item=item,
                    borrowed_at=borrowed,
                    due_at=due,
                    timezone=borrower.timezone,
                    policy=self.policy,
                    manager_id=manager_id,
                ),
                id=workflow_id,
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(LOAN_STATUS, "ACTIVE"),
                        SearchAttributePair(DUE_AT, due),
                        SearchAttributePair(BORROWER_ID, borrower_id),
                    ]
                ),
                static_summary=f"Loan {loan_id}: {item[:60]} for {borrower_id}",
                static_details=f"Due {due:%Y-%m-%d %H:%M} UTC, borrower zone {borrower.timezone}, policy {self.policy.name}",
            )
        except WorkflowAlreadyStartedError:
            raise InvalidInput(
                f"loan {loan_id} already ended (returned or cancelled); use a new loan id"
            ) from None
        except RPCError as err:
            raise _temporal_refusal(err, f"loan {loan_id}") from None
        response = getattr(handle, "_start_workflow_response", None)
        created = bool(getattr(response, "started", True))
        return Started(loan_id, workflow_id, handle.result_run_id, created)

    async def return_loan(
        self, loan_id: str, *, returned_at: datetime | None = None, wait: bool = True
    ) -> LoanStatus | None:
        """Mark the loan returned: pending reminders stop and the thank-you goes out.

        ``wait=True`` waits for the worker and answers the final status; ``wait=False``
        records the return at once, even when no worker runs, and answers ``None``.
        """
        at = aware_instant(returned_at, "return time") if returned_at else None
        if at and at > datetime.now(UTC) + timedelta(minutes=5):
            raise InvalidInput(f"the return time {at.isoformat()} is in the future")
        handle = await self._running(loan_id)
        if not wait:
            await self._signal(handle, f"loan {loan_id}", "returned", ReturnInput(returned_at=at))
            return None
        return await self._update(handle, "return_loan", ReturnInput(returned_at=at))

    async def extend_loan(self, loan_id: str, *, due_at: datetime) -> LoanStatus:
        """Move the due time later; the plan is recomputed, nothing sent is sent again."""
        due = aware_instant(due_at, "new due time")
        if due <= datetime.now(UTC):
            raise InvalidInput(f"the new due time {due.isoformat()} is in the past")
        handle = await self._running(loan_id)
        status = await self.loan_status(loan_id)
        contact = await asyncio.to_thread(self.store.get_contact, status.borrower_id)
        timezone = contact.timezone if contact else None
        return await self._update(handle, "extend", ExtendInput(due_at=due, timezone=timezone))

    async def cancel_loan(self, loan_id: str) -> None:
        """Stop the loan's workflow without any message."""
        handle = await self._running(loan_id)
        await self._signal(handle, f"loan {loan_id}", "cancel")

    async def loan_status(self, loan_id: str) -> LoanStatus:
        check_id(loan_id, "loan id")
        return await self._query(loan_workflow_id(loan_id), f"loan {loan_id!r}", LoanStatus)

    async def deliveries(self, loan_id: str | None = None) -> list[dict[str, Any]]:
        if loan_id is not None:
            check_id(loan_id, "loan id")
        rows = await asyncio.to_thread(
            self.store.list_deliveries,
            subject_type="loan" if loan_id else None,
            subject_id=loan_id,
        )
        return [delivery_as_dict(r) for r in rows]

    # ------------------------------------------------------------------ in-app inbox

    async def inbox(
        self, subscriber_id: str, *, page: int = 1, page_size: int = 20, unread_only: bool = False
    ) -> list[dict[str, Any]]:
        """A person's in-app notifications, unread first, newest first; pages start at 1."""
        check_int(page, "the page", low=1, high=1_000_000)
        check_int(page_size, "the page size", low=1, high=200)
        await self.get_subscriber(subscriber_id)
        rows = await asyncio.to_thread(
            self.store.list_inbox,
            subscriber_id,
            page=page,
            page_size=page_size,
            unread_only=unread_only,
        )
        return [inbox_as_dict(r) for r in rows]

    async def unread_count(self, subscriber_id: str) -> int:
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(self.store.count_unread, subscriber_id)

    async def mark_read(self, subscriber_id: str, notification_ids: list[int] | None = None) -> int:
        """Mark the given notifications read, or all of them when ``notification_ids`` is None;
        returns how many changed."""
        if notification_ids is not None:
            if not isinstance(notification_ids, list | tuple):
                raise InvalidInput("notification ids must be a list of numbers")
            notification_ids = [check_int(n, "a notification id", low=1) for n in notification_ids]
        await self.get_subscriber(subscriber_id)
        return await asyncio.to_thread(self.store.mark_read, subscriber_id, notification_ids)

    # ------------------------------------------------------------------ repairs

    async def start_repair(
        self,
        repair_id: str,
        *,
        title: str,
        customer_id: str,
        technician_id: str | None = None,
        link: str | None = None,
    ) -> Started:
        """Start the repair's workflow (pending approval); the customer hears about it."""
        check_id(repair_id, "repair id")
        title = required_text(title, "title")
        link = check_link(link)
        await self._reachable(customer_id, "customer")
        if technician_id is not None:
            await self._reachable(technician_id, "technician")
        workflow_id = repair_workflow_id(repair_id)
        attributes = [
            SearchAttributePair(REPAIR_STATUS, RepairState.PENDING_APPROVAL.value),
            SearchAttributePair(CUSTOMER_ID, customer_id),
        ]
        if technician_id:
            attributes.append(SearchAttributePair(TECHNICIAN_ID, technician_id))
        try:
            handle = await (await self.temporal()).start_workflow(
                RepairWorkflow.run,
                RepairInput(
                    repair_id=repair_id,
                    title=title,
                    customer_id=customer_id,
                    technician_id=technician_id,
                    link=link,
                    policy=default_repair_policy(self.settings),
                ),
                id=workflow_id,
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                search_attributes=TypedSearchAttributes(attributes),
                static_summary=f"Repair {repair_id}: {title[:60]} for {customer_id}",
            )
        except WorkflowAlreadyStartedError:
            raise InvalidInput(
                f"repair {repair_id} is already closed; use a new repair id"
            ) from None
        except RPCError as err:
            raise _temporal_refusal(err, f"repair {repair_id}") from None
        response = getattr(handle, "_start_workflow_response", None)
        return Started(
            repair_id, workflow_id, handle.result_run_id, bool(getattr(response, "started", True))
        )

    async def repair_event(
        self,
        repair_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        technician_id: str | None = None,
        reason: str | None = None,
        batch_id: str | None = None,
        batch_size: int | None = None,
        reward_name: str | None = None,
        reward_points: int | None = None,
        wait: bool = True,
    ) -> AppliedEvent | None:
        """Report a status change. Give the app's own ``event_id`` so a retried webhook is
        recognised; an impossible transition raises :class:`InvalidInput`."""
        check_id(repair_id, "repair id")
        try:
            kind = RepairEventType(event_type)
        except ValueError:
            raise InvalidInput(
                f"unknown repair event {event_type!r}: use one of {', '.join(e.value for e in RepairEventType)}"
            ) from None
        if kind in (RepairEventType.ASSIGNED, RepairEventType.REASSIGNED):
            if not technician_id:
                raise InvalidInput(f"'{kind.value}' needs --technician")
            await self._reachable(technician_id, "technician")
        if batch_size is not None:
            check_int(batch_size, "the batch size", low=1, high=LIMITS["batch_size"])
        if reward_points is not None:
            check_int(reward_points, "the reward points")
        event = RepairEvent(
            event_id=check_id(event_id, "event id") if event_id else uuid.uuid4().hex,
            type=kind,
            technician_id=technician_id,
            reason=optional_text(reason, "reason", multiline=True),
            batch_id=check_id(batch_id, "batch id") if batch_id else None,
            batch_size=batch_size,
            reward_name=optional_text(reward_name, "reward"),
            reward_points=reward_points,
        )
        what = f"repair {repair_id}"
        handle = await self._running_workflow(repair_workflow_id(repair_id), what)
        if not wait:
            await self._signal(handle, what, "event", event)
            return None
        try:
            return await asyncio.wait_for(
                handle.execute_update(
                    "apply_event", event, id=event.event_id, result_type=AppliedEvent
                ),
                WORKER_WAIT.total_seconds(),
            )
        except WorkflowUpdateFailedError as err:
            raise InvalidInput(_update_refusal(err)) from None
        except RPCError as err:
            raise _temporal_refusal(err, what) from None
        except TimeoutError:
            raise HeraldError(
                f"no worker answered within {WORKER_WAIT.seconds}s: is one running?"
            ) from None

    async def repair_status(self, repair_id: str) -> RepairStatus:
        check_id(repair_id, "repair id")
        return await self._query(
            repair_workflow_id(repair_id), f"repair {repair_id!r}", RepairStatus
        )

    # ------------------------------------------------------------------ groups

    async def create_group(self, name: str, description: str | None = None) -> bool:
        check_id(name, "group name")
        description = optional_text(description, "description")
        return await asyncio.to_thread(self.store.create_group, name, description)

    async def add_to_group(self, name: str, subscriber_ids: list[str]) -> int:
        await self._group(name)
        await self._existing(subscriber_ids)
        return await asyncio.to_thread(self.store.add_members, name, subscriber_ids)

    async def remove_from_group(self, name: str, subscriber_ids: list[str]) -> int:
        await self._group(name)
        subscriber_ids = check_ids(subscriber_ids, "subscriber id")
        return await asyncio.to_thread(self.store.remove_members, name, subscriber_ids)

    async def groups(self) -> list[GroupInfo]:
        return await asyncio.to_thread(self.store.list_groups)

    async def group_members(self, name: str) -> list[str]:
        await self._group(name)
        members: list[str] = []
        after: str | None = None
        while True:
            page = await asyncio.to_thread(self.store.group_members, name, after=after, limit=1000)
            members.extend(page)
            if len(page) < 1000:
                return members
            after = page[-1]

    # ------------------------------------------------------------------ admin templates

    async def set_template(
        self, name: str, *, locale: str, subject: str, body: str, short: str | None = None
    ) -> bool:
        """Create or replace an admin template; refused when a field is over 64 KiB (before
        parsing), when it does not parse, or when the short text is over 1,000 characters."""
        check_id(name, "template name")
        check_locale(locale)
        subject = required_text(subject, "subject", limit=LIMITS["template_subject"])
        body = required_text(body, "body", limit=LIMITS["template_text"], multiline=True)
        short = optional_text(short, "short text", limit=LIMITS["template_text"], multiline=True)
        renderer = AdminTemplateRenderer()

        def check() -> None:
            renderer.check_short(short, f"template {name!r} short")
            for part, text in (("subject", subject), ("body", body), ("short", short or "")):
                renderer.check(text, f"template {name!r} {part}")

        try:
            await asyncio.to_thread(check)
        except TemplateError as err:
            raise InvalidInput(str(err)) from None
        return await asyncio.to_thread(
            self.store.upsert_template, name, locale, subject=subject, body=body, short=short
        )

    async def templates(self) -> list[TemplateText]:
        return await asyncio.to_thread(self.store.list_templates)

    async def preview_template(
        self, name: str, *, locale: str = "fr", context: dict[str, Any] | None = None
    ) -> Notice:
        """Render an admin template as a recipient would see it (the fallback if missing)."""
        check_id(name, "template name")
        check_locale(locale)
        context = check_context(context)
        template = await asyncio.to_thread(self.store.get_template, name, locale)
        full = {
            **(context or {}),
            "recipient": {"id": "preview", "name": "Preview", "locale": locale, "timezone": "UTC"},
            "brand": {"name": self.settings.brand_name},
        }
        try:
            # The worker's own code path and limits (a render process, killed when too long).
            return await asyncio.to_thread(AdminTemplateRenderer().render, name, template, full)
        except TemplateError as err:
            raise InvalidInput(str(err)) from None

    # ------------------------------------------------------------------ staff alerts

    async def notify(
        self,
        template: str,
        *,
        user_ids: list[str] | None = None,
        group_names: list[str] | None = None,
        context: dict[str, Any] | None = None,
        priority: str = "medium",
        channels: list[str] | None = None,
        link: str | None = None,
        request_id: str | None = None,
        wait: bool = False,
    ) -> tuple[str, NotifyResult | None]:
        """Send an admin template to people and whole groups, one delivery per person and
        channel. Returns the request id (and the totals when ``wait``)."""
        check_id(template, "template name")
        users = check_ids(user_ids or [], "subscriber id")
        groups = check_ids(group_names or [], "group name")
        if not users and not groups:
            raise InvalidInput("give at least one user or group")
        for g in groups:
            await self._group(g)
        await self._existing(users)
        if priority not in self.settings.priority_routes:
            raise InvalidInput(
                f"unknown priority {priority!r}: use one of {', '.join(self.settings.priority_routes)}"
            )
        try:
            wanted = [Channel(c) for c in channels] if channels else None
        except ValueError as err:
            raise InvalidInput(f"{err}: use email, sms, whatsapp or in_app") from None
        context = check_context(context)
        link = check_link(link)
        request_id = check_id(request_id, "request id") if request_id else uuid.uuid4().hex[:16]
        client = await self.temporal()
        try:
            handle = await client.start_workflow(
                StaffNotifyWorkflow.run,
                NotifyInput(
                    request_id=request_id,
                    template=template,
                    user_ids=users,
                    group_names=groups,
                    context=context,
                    priority=priority,
                    channels=wanted,
                    link=link,
                    batch_size=self.settings.fanout_batch_size,
                    tech_admins_group=self.settings.tech_admins_group,
                ),
                id=f"notify-{request_id}",
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"{template} to {', '.join(groups + users)[:80]}",
            )
        except WorkflowAlreadyStartedError:
            raise InvalidInput(
                f"request id {request_id!r} was already used by an alert that has ended; "
                "a new alert needs a new request id"
            ) from None
        except RPCError as err:
            raise _temporal_refusal(err, f"alert {request_id}") from None
        return request_id, (await handle.result()) if wait else None

    # ------------------------------------------------------------------ CRM follow-ups

    async def start_followup(
        self,
        followup_id: str,
        *,
        title: str,
        assignee_id: str,
        due_at: datetime,
        customer: str | None = None,
        lead_id: str | None = None,
        manager_ids: list[str] | None = None,
        link: str | None = None,
    ) -> Started:
        """Start the follow-up's workflow: a reminder the day before, overdue alerts copied
        to the managers (``manager_ids``, else the CRM managers group). Starting a running
        follow-up again returns it unchanged."""
        check_id(followup_id, "follow-up id")
        title = required_text(title, "title")
        customer = optional_text(customer, "customer")
        link = check_link(link)
        if lead_id is not None:
            check_id(lead_id, "lead id")
        due = aware_instant(due_at, "due time")
        now = datetime.now(UTC)
        if due <= now:
            raise InvalidInput(f"the due time {due.isoformat()} is in the past")
        assignee = await self._reachable(assignee_id, "assignee")
        managers = await self._managers(manager_ids)
        workflow_id = followup_workflow_id(followup_id)
        client = await self.temporal()
        try:
            handle = await client.start_workflow(
                FollowUpWorkflow.run,
                FollowUpInput(
                    followup_id=followup_id,
                    title=title,
                    assignee_id=assignee_id,
                    due_at=due,
                    timezone=assignee.timezone,
                    policy=self.followup_policy,
                    created_at=now,
                    customer=customer,
                    lead_id=lead_id,
                    manager_ids=managers,
                    managers_group=self.settings.crm_managers_group,
                    link=link,
                ),
                id=workflow_id,
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(FOLLOWUP_STATUS, "OPEN"),
                        SearchAttributePair(DUE_AT, due),
                        SearchAttributePair(ASSIGNEE_ID, assignee_id),
                    ]
                ),
                static_summary=f"Follow-up {followup_id}: {title[:60]} for {assignee_id}",
            )
        except WorkflowAlreadyStartedError:
            raise InvalidInput(
                f"follow-up {followup_id} already ended (completed or cancelled); use a new id"
            ) from None
        except RPCError as err:
            raise _temporal_refusal(err, f"follow-up {followup_id}") from None
        response = getattr(handle, "_start_workflow_response", None)
        return Started(
            followup_id, workflow_id, handle.result_run_id, bool(getattr(response, "started", True))
        )

    async def complete_followup(
        self, followup_id: str, *, completed_at: datetime | None = None, wait: bool = True
    ) -> FollowUpStatus | None:
        """Done: what was still to come is never sent. ``wait=False`` records it even while
        no worker runs and answers ``None``."""
        at = aware_instant(completed_at, "completion time") if completed_at else None
        handle = await self._running_followup(followup_id)
        if not wait:
            what = f"follow-up {followup_id}"
            await self._signal(handle, what, "completed", CompleteInput(completed_at=at))
            return None
        return await self._update(
            handle, "complete", CompleteInput(completed_at=at), FollowUpStatus
        )

    async def reschedule_followup(self, followup_id: str, *, due_at: datetime) -> FollowUpStatus:
        """A new due time (earlier or later): the reminders are planned again for it."""
        due = aware_instant(due_at, "new due time")
        if due <= datetime.now(UTC):
            raise InvalidInput(f"the new due time {due.isoformat()} is in the past")
        handle = await self._running_followup(followup_id)
        return await self._update(handle, "reschedule", RescheduleInput(due_at=due), FollowUpStatus)

    async def reassign_followup(self, followup_id: str, *, assignee_id: str) -> FollowUpStatus:
        """Give the follow-up to someone else: the reminders still to come go to them."""
        await self._reachable(assignee_id, "assignee")
        handle = await self._running_followup(followup_id)
        return await self._update(
            handle, "reassign", ReassignInput(assignee_id=assignee_id), FollowUpStatus
        )

    async def cancel_followup(self, followup_id: str) -> None:
        """Stop the follow-up's workflow without any message (deleted in the CRM)."""
        handle = await self._running_followup(followup_id)
        await self._signal(handle, f"follow-up {followup_id}", "cancel")

    async def followup_status(self, followup_id: str) -> FollowUpStatus:
        check_id(followup_id, "follow-up id")
        return await self._query(
            followup_workflow_id(followup_id), f"follow-up {followup_id!r}", FollowUpStatus
        )

    async def _running_followup(self, followup_id: str) -> WorkflowHandle[Any, Any]:
        check_id(followup_id, "follow-up id")
        return await self._running_workflow(
            followup_workflow_id(followup_id), f"follow-up {followup_id}"
        )

    async def _managers(self, manager_ids: list[str] | None) -> list[str]:
        """Named managers must exist; with none named, the managers group must."""
        if manager_ids:
            manager_ids = check_ids(manager_ids, "manager id")
            await self._existing(manager_ids)
            return list(dict.fromkeys(manager_ids))
        await self._group(self.settings.crm_managers_group)
        return []

    # ------------------------------------------------------------------ CRM events

    async def lead_event(
        self,
        lead_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        name: str | None = None,
        company: str | None = None,
        value: str | None = None,
        stage: str | None = None,
        previous_stage: str | None = None,
        fulfilment: str | None = None,
        assignee_id: str | None = None,
        previous_assignee_id: str | None = None,
        changed_by_id: str | None = None,
        manager_ids: list[str] | None = None,
        link: str | None = None,
        occurred_at: datetime | None = None,
        wait: bool = False,
    ) -> Started:
        """A lead event: ``created``, ``stage_changed`` (managers hear of won, lost and
        invoice_sent), ``assigned`` (new and previous assignee), ``fulfilment_changed``.
        The same ``event_id`` twice sends once."""
        check_id(lead_id, "lead id")
        data = {
            "name": optional_text(name, "name"),
            "company": optional_text(company, "company"),
            "value": optional_text(value, "value"),
            "stage": optional_text(stage, "stage", limit=LIMITS["value"]),
            "previous_stage": optional_text(previous_stage, "stage", limit=LIMITS["value"]),
            "fulfilment": optional_text(fulfilment, "fulfilment", limit=LIMITS["value"]),
            "assignee_id": _optional_id(assignee_id, "assignee id"),
            "previous_assignee_id": _optional_id(previous_assignee_id, "previous assignee id"),
            "changed_by_id": _optional_id(changed_by_id, "changed-by id"),
            "link": check_link(link),
        }
        return await self._crm_event(
            CrmSubject.LEAD, lead_id, event_type, event_id, data, manager_ids, occurred_at, wait
        )

    async def user_event(
        self,
        user_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        role: str | None = None,
        previous_role: str | None = None,
        changed_by_id: str | None = None,
        link: str | None = None,
        occurred_at: datetime | None = None,
        wait: bool = False,
    ) -> Started:
        """A user-account event for the user themself: ``welcome``, ``role_changed``,
        ``activated``, ``deactivated``."""
        data = {
            "role": optional_text(role, "role"),
            "previous_role": optional_text(previous_role, "role"),
            "changed_by_id": _optional_id(changed_by_id, "changed-by id"),
            "link": check_link(link),
        }
        return await self._crm_event(
            CrmSubject.USER, user_id, event_type, event_id, data, None, occurred_at, wait
        )

    async def _crm_event(
        self,
        subject: CrmSubject,
        subject_id: str,
        event_type: str,
        event_id: str | None,
        data: dict[str, Any],
        manager_ids: list[str] | None,
        occurred_at: datetime | None,
        wait: bool,
    ) -> Started:
        check_id(subject_id, f"{subject.value} id")
        event_id = check_id(event_id, "event id") if event_id else uuid.uuid4().hex
        try:
            check_event(subject, event_type, data)
        except ValueError as err:
            raise InvalidInput(str(err)) from None
        notices = notices_for(subject, event_type, data, subject_id)
        for notice in notices:
            if notice.recipient != MANAGERS:
                await self._reachable(notice.recipient, notice.role.value.replace("_", " "))
        if data.get("changed_by_id"):
            await self._existing([data["changed_by_id"]])
        managers = (
            await self._managers(manager_ids)
            if any(n.recipient == MANAGERS for n in notices)
            else []
        )
        at = aware_instant(occurred_at, "event time") if occurred_at else datetime.now(UTC)
        workflow_id = check_workflow_id(
            crm_event_workflow_id(subject, subject_id, event_id), "the event id"
        )
        client = await self.temporal()
        try:
            handle = await client.start_workflow(
                CrmEventWorkflow.run,
                CrmEventInput(
                    event_id=event_id,
                    subject_type=subject,
                    subject_id=subject_id,
                    type=event_type,
                    occurred_at=at,
                    data=data,
                    manager_ids=managers,
                    managers_group=self.settings.crm_managers_group,
                ),
                id=workflow_id,
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A webhook retried after the notices went out sends nothing more.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"{subject.value.title()} {subject_id}: {event_type}",
            )
        except WorkflowAlreadyStartedError:
            return Started(subject_id, workflow_id, None, False)
        except RPCError as err:
            raise _temporal_refusal(err, f"{subject.value} {subject_id} event {event_id}") from None
        response = getattr(handle, "_start_workflow_response", None)
        if wait:
            await handle.result()
        return Started(
            subject_id, workflow_id, handle.result_run_id, bool(getattr(response, "started", True))
        )

    # ------------------------------------------------------------------ helpers

    async def _reachable(self, subscriber_id: str, role: str) -> Contact:
        check_id(subscriber_id, f"{role} id")
        contact = await asyncio.to_thread(self.store.get_contact, subscriber_id)
        if contact is None:
            raise InvalidInput(
                f"unknown {role} {subscriber_id!r}: register them first (herald subscriber upsert)"
            )
        if not (contact.email or contact.phone or contact.whatsapp):
            raise InvalidInput(f"{role} {subscriber_id!r} has no e-mail, phone or WhatsApp number")
        return contact

    async def _running(self, loan_id: str) -> WorkflowHandle[Any, Any]:
        check_id(loan_id, "loan id")
        return await self._running_workflow(loan_workflow_id(loan_id), f"loan {loan_id}")

    async def _running_workflow(self, workflow_id: str, what: str) -> WorkflowHandle[Any, Any]:
        """The handle if the workflow runs; a clear error if unknown or ended."""
        try:
            # The raw call: only the status is needed, no search attribute decoding.
            resp = await (await self.temporal()).workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=(await self.temporal()).namespace,
                    execution=WorkflowExecution(workflow_id=workflow_id),
                )
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no {what.split()[0]} {what.split(maxsplit=1)[1]!r}") from None
            raise _temporal_refusal(err, what) from None
        status = resp.workflow_execution_info.status
        if status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
            name = WorkflowExecutionStatus.Name(status).removeprefix("WORKFLOW_EXECUTION_STATUS_")
            raise InvalidInput(f"{what} is no longer running (workflow {name.lower()})")
        return (await self.temporal()).get_workflow_handle(workflow_id)

    async def _signal(
        self, handle: WorkflowHandle[Any, Any], what: str, name: str, arg: Any = _UNSET
    ) -> None:
        try:
            if arg is _UNSET:
                await handle.signal(name)
            else:
                await handle.signal(name, arg)
        except RPCError as err:
            raise _temporal_refusal(err, what) from None

    async def _group(self, name: str) -> GroupInfo:
        check_id(name, "group name")
        info = await asyncio.to_thread(self.store.get_group, name)
        if info is None:
            raise InvalidInput(f"unknown group {name!r}: create it first (herald group create)")
        return info

    async def _existing(self, subscriber_ids: list[str]) -> None:
        subscriber_ids = check_ids(subscriber_ids, "subscriber id")
        known = await asyncio.to_thread(self.store.existing_subscribers, subscriber_ids)
        missing = [sid for sid in subscriber_ids if sid not in known]
        if missing:
            raise InvalidInput(f"unknown subscriber(s): {', '.join(missing[:10])}")

    async def _query(self, workflow_id: str, what: str, result_type: type[T]) -> T:
        handle = (await self.temporal()).get_workflow_handle(workflow_id)
        try:
            return await asyncio.wait_for(
                handle.query("status", result_type=result_type), WORKER_WAIT.total_seconds()
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no {what}") from None
            raise _temporal_refusal(err, what) from None
        except WorkflowQueryFailedError as err:
            raise HeraldError(f"status of {what} failed: {err}") from None
        except TimeoutError:
            raise HeraldError(
                f"no worker answered within {WORKER_WAIT.seconds}s: is one running?"
            ) from None

    async def _update(
        self,
        handle: WorkflowHandle[Any, Any],
        name: str,
        arg: Any,
        result_type: type[T] = LoanStatus,  # type: ignore[assignment]
    ) -> T:
        try:
            return await asyncio.wait_for(
                handle.execute_update(name, arg, result_type=result_type),
                WORKER_WAIT.total_seconds(),
            )
        except WorkflowUpdateFailedError as err:
            raise InvalidInput(_update_refusal(err)) from None
        except RPCError as err:
            raise _temporal_refusal(err, f"workflow {handle.id}") from None
        except TimeoutError:
            raise HeraldError(
                f"no worker answered within {WORKER_WAIT.seconds}s: is one running? "
                "Check with 'herald loan status' before retrying."
            ) from None

"""What every domain of the service layer shares: the store, the settings, the Temporal
connection (opened on first use) and the translation of Temporal's answers into Herald's
typed, one-line errors.

Each domain (``directory``, ``loans``, ``repairs``, ``followups``, ``staff``, ``inbox``,
``deliveries``) is a class on top of :class:`ServiceBase`; :class:`herald.service.Herald`
is all of them at once. The Python client, the CLI and the HTTP API only translate to and
from these methods: every rule about what is accepted lives here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from herald.errors import Conflict, HeraldError, InvalidInput, NotFound, Unavailable
from herald.policy import LoanPolicy, load_policy
from herald.settings import Settings, load_settings
from herald.store import Contact, GroupInfo, Store
from herald.temporal import check_encrypted, connect, data_converter
from herald.validation import check_id, check_ids

T = TypeVar("T")
log = logging.getLogger("herald.service")
# How long a call that needs a worker (extend, return and wait, status) waits for one.
WORKER_WAIT = timedelta(seconds=30)
UNSET: Any = object()

# Temporal answers that mean "not now" rather than "not this".
_TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.CANCELLED,
}


@dataclass(frozen=True)
class Started:
    id: str  # the business id (loan, repair, follow-up, lead or user)
    workflow_id: str
    run_id: str | None
    # False when the object already had a running workflow (the start was a no-op).
    created: bool


def one_line(text: object, limit: int = 300) -> str:
    """A server's message as one bounded line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else f"{flat[:limit]}…"


def temporal_refusal(err: RPCError, what: str) -> HeraldError:
    """What Temporal's refusal means to the caller, as a typed one-line error."""
    message = err.message or str(err)
    if err.status == RPCStatusCode.NOT_FOUND:
        # Ended between our check and the call (a return racing an extension, say).
        return Conflict(f"{what} is no longer running")
    if "size exceeds limit" in message or "exceeds size limit" in message:
        return InvalidInput(f"{what}: the request is too large for Temporal ({one_line(message)})")
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        return InvalidInput(f"{what}: refused by Temporal: {one_line(message)}")
    if err.status in _TRANSIENT:
        return Unavailable(
            f"{what}: Temporal is unavailable: {err.status.name}: {one_line(message)}"
        )
    return HeraldError(f"{what}: Temporal failed: {err.status.name}: {one_line(message)}")


def update_refusal(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return one_line(getattr(cause, "message", None) or cause, 1000)


def no_worker(hint: str = "") -> Unavailable:
    return Unavailable(f"no worker answered within {WORKER_WAIT.seconds}s: is one running?{hint}")


def _refuse_plaintext(client: Client | None, settings: Settings) -> None:
    """With HERALD_REQUIRE_ENCRYPTION, refuse here rather than start anything in plaintext."""
    if client is not None:
        check_encrypted(client, settings)
    elif settings.require_encryption:
        data_converter(settings)


class ServiceBase:
    """The database (directory, preferences, groups, templates, delivery log) and Temporal
    (loans, repairs, follow-ups, alerts), connected on first use, so directory work needs
    no Temporal server."""

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
    ) -> Self:
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
                raise Unavailable(
                    f"cannot reach Temporal at {self.settings.temporal_address} "
                    f"(namespace {self.settings.temporal_namespace}): is it running? "
                    f"Set TEMPORAL_ADDRESS, or start one with 'herald dev'. ({one_line(err)})"
                ) from None
        return self._client

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ shared steps

    async def _start(
        self,
        run: Any,
        arg: Any,
        *,
        business_id: str,
        workflow_id: str,
        what: str,
        ended: str,
        reuse: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        **options: Any,
    ) -> tuple[Started, WorkflowHandle[Any, Any] | None]:
        """Start a workflow once per business id. Starting a running one again answers it
        unchanged (``created=False``); ``ended`` is the refusal when it already ended
        (``""``: answer ``created=False`` then too, for events that happen once)."""
        client = await self.temporal()
        try:
            handle = await client.start_workflow(
                run,
                arg,
                id=workflow_id,
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=reuse,
                **options,
            )
        except WorkflowAlreadyStartedError:
            if not ended:
                return Started(business_id, workflow_id, None, False), None
            raise Conflict(ended) from None
        except RPCError as err:
            raise temporal_refusal(err, what) from None
        response = getattr(handle, "_start_workflow_response", None)
        created = bool(getattr(response, "started", True))
        return Started(business_id, workflow_id, handle.result_run_id, created), handle

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

    async def _workflow_status(self, workflow_id: str, what: str) -> int | None:
        """The workflow's execution status (``WorkflowExecutionStatus``); None if unknown."""
        client = await self.temporal()
        try:
            # The raw call: only the status is needed, no search attribute decoding.
            resp = await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=client.namespace,
                    execution=WorkflowExecution(workflow_id=workflow_id),
                )
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise temporal_refusal(err, what) from None
        return int(resp.workflow_execution_info.status)

    async def _running_workflow(self, workflow_id: str, what: str) -> WorkflowHandle[Any, Any]:
        """The handle if the workflow runs; a clear error if unknown or ended."""
        status = await self._workflow_status(workflow_id, what)
        if status is None:
            raise NotFound(f"no {what.split()[0]} {what.split(maxsplit=1)[1]!r}")
        if status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
            name = WorkflowExecutionStatus.Name(status).removeprefix("WORKFLOW_EXECUTION_STATUS_")  # type: ignore[arg-type]
            raise Conflict(f"{what} is no longer running (workflow {name.lower()})")
        return (await self.temporal()).get_workflow_handle(workflow_id)

    async def _signal(
        self, handle: WorkflowHandle[Any, Any], what: str, name: str, arg: Any = UNSET
    ) -> None:
        try:
            if arg is UNSET:
                await handle.signal(name)
            else:
                await handle.signal(name, arg)
        except RPCError as err:
            raise temporal_refusal(err, what) from None

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

    async def _managers(self, manager_ids: list[str] | None) -> list[str]:
        """Named managers must exist; with none named, the managers group must."""
        if manager_ids:
            manager_ids = check_ids(manager_ids, "manager id")
            await self._existing(manager_ids)
            return list(dict.fromkeys(manager_ids))
        await self._group(self.settings.crm_managers_group)
        return []

    async def _query(self, workflow_id: str, what: str, result_type: type[T]) -> T:
        handle = (await self.temporal()).get_workflow_handle(workflow_id)
        try:
            return await asyncio.wait_for(
                handle.query("status", result_type=result_type), WORKER_WAIT.total_seconds()
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no {what}") from None
            raise temporal_refusal(err, what) from None
        except WorkflowQueryFailedError as err:
            raise HeraldError(f"status of {what} failed: {one_line(err)}") from None
        except TimeoutError:
            raise no_worker() from None

    async def _update(
        self,
        handle: WorkflowHandle[Any, Any],
        name: str,
        arg: Any,
        result_type: type[T],
        *,
        update_id: str | None = None,
        hint: str = "",
    ) -> T:
        """Run a workflow update and wait for its answer; a refused update is a conflict
        with the object's state (extending a returned loan, an impossible repair step)."""
        try:
            return await asyncio.wait_for(
                handle.execute_update(name, arg, id=update_id, result_type=result_type),
                WORKER_WAIT.total_seconds(),
            )
        except WorkflowUpdateFailedError as err:
            raise Conflict(update_refusal(err)) from None
        except RPCError as err:
            raise temporal_refusal(err, f"workflow {handle.id}") from None
        except TimeoutError:
            raise no_worker(hint) from None

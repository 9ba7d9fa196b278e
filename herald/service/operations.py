"""What the ops console shows and does beside the delivery log: loans, repairs and
follow-ups found through Temporal visibility (overdue now, upcoming, searched by id), the
next notice each will send and "send it now", the housekeeping schedule's runs, and
``herald doctor``'s checks.

Every listing reads Temporal visibility with Herald's search attributes
(:mod:`herald.search_attributes`), which is eventually consistent: an object started a
moment ago may show a moment later. One object by id (:meth:`object_info`) reads the
workflow itself, at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from herald.contracts import ManualNotifyResult
from herald.errors import Conflict, InvalidInput, NotFound
from herald.health import HealthReport, run_checks
from herald.objects import (
    ObjectKind,
    ObjectPage,
    ObjectRow,
    PendingReminder,
    check_state,
    object_kind,
    ui_url,
)
from herald.schedules import ScheduleInfo, describe_schedules
from herald.search_attributes import ALL_KEYS, DUE_AT, NEXT_REMINDER_AT, TECHNICIAN_ID
from herald.service.base import ServiceBase, temporal_refusal
from herald.validation import check_id, check_int, show

log = logging.getLogger("herald.service")

DEFAULT_OBJECT_PAGE = 50
MAX_OBJECT_PAGE = 200
# A page token is Temporal's, opaque; this bounds what a caller may hand back.
MAX_PAGE_TOKEN = 4096
# How long the running objects of a page get to answer their status queries, all
# together, and how many are asked at once: a page without a worker still answers within
# that time, without the next notices.
PENDING_WAIT = 5.0
PENDING_AT_ONCE = 16


def _encode_token(token: bytes | None) -> str | None:
    return base64.urlsafe_b64encode(token).decode("ascii") if token else None


def _decode_token(token: object) -> bytes | None:
    if token is None:
        return None
    if not isinstance(token, str) or not 0 < len(token) <= MAX_PAGE_TOKEN:
        raise InvalidInput(
            f"invalid page token {show(token, 40)}: pass back next_page_token as it came"
        )
    try:
        return base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidInput(
            f"invalid page token {show(token, 40)}: pass back next_page_token as it came"
        ) from None


class OperationsService(ServiceBase):
    # ------------------------------------------------------------------ objects

    async def objects(
        self,
        kind: str,
        *,
        state: str = "all",
        search: str | None = None,
        limit: int = DEFAULT_OBJECT_PAGE,
        page_token: str | None = None,
        reminders: bool = True,
    ) -> ObjectPage:
        """One page of loans, repairs or follow-ups (``kind``: loan, repair, followup)
        from Temporal visibility: ``state`` ``overdue`` (running and past due; repairs:
        approved and still without a technician), ``upcoming`` (running, not overdue) or
        ``all`` (running or closed); ``search`` an id: the objects whose id starts with it,
        or whose borrower, customer or assignee it is. Pass ``next_page_token`` back as
        ``page_token`` for the next page. ``reminders``: ask each running object on the
        page for its next notice (a status query a worker answers; left empty for one
        that does not answer within a few seconds)."""
        spec = object_kind(kind)
        state = check_state(state)
        if search is not None:
            search = check_id(search, "search")
        check_int(limit, "the page size", low=1, high=MAX_OBJECT_PAGE)
        token = _decode_token(page_token)
        client = await self.temporal()
        now = datetime.now(UTC)
        query = spec.query(state, now, search)
        pages = client.list_workflows(query, page_size=limit, next_page_token=token)
        try:
            await pages.fetch_next_page()
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT and token is not None:
                raise InvalidInput(
                    f"invalid page token {show(page_token, 40)}: pass back next_page_token "
                    "as it came"
                ) from None
            raise temporal_refusal(err, f"listing {spec.what}s") from None
        rows = [self._row(spec, ex, now) for ex in pages.current_page or []]
        if reminders:
            await self._with_pending(spec, rows)
        return ObjectPage(
            kind=spec.name,
            state=state,
            items=rows,
            next_page_token=_encode_token(pages.next_page_token),
        )

    async def object_info(self, kind: str, object_id: str, *, reminders: bool = True) -> ObjectRow:
        """One loan, repair or follow-up by its id, read from its workflow (at once, not
        through visibility); :class:`NotFound` when Temporal has no such object."""
        spec = object_kind(kind)
        check_id(object_id, f"{spec.what} id")
        client = await self.temporal()
        try:
            desc = await client.get_workflow_handle(spec.workflow_id(object_id)).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no {spec.what} {object_id!r}") from None
            raise temporal_refusal(err, f"{spec.what} {object_id}") from None
        if desc.workflow_type != spec.workflow_type:
            raise NotFound(f"no {spec.what} {object_id!r}")
        row = self._row(spec, desc, datetime.now(UTC))
        if reminders:
            await self._with_pending(spec, [row])
        return row

    async def send_reminder_now(
        self, kind: str, object_id: str, *, notice: str | None = None, manager: bool = False
    ) -> ManualNotifyResult:
        """Send a running loan's or follow-up's notice now, by hand: ``notice`` (a kind,
        e.g. ``loan.reminder_j1``), or by default the next one it will send. The same as
        :meth:`notify_loan` / :meth:`notify_followup`: a new delivery, logged "sent by
        hand"; the plan is untouched. Repairs send nothing by hand (their one pending
        notice, the managers' unassigned alert, keeps its own rhythm)."""
        spec = object_kind(kind)
        check_id(object_id, f"{spec.what} id")
        if spec.notify is None:
            raise InvalidInput(
                f"a {spec.what}'s notices go out on its events; none is sent by hand"
            )
        if notice is None:
            pending = await self._next_notice(spec, object_id)
            if pending is None:
                raise Conflict(f"{spec.what} {object_id} has no notice still to send")
            notice = pending.kind
        send = getattr(self, spec.notify)
        result: ManualNotifyResult = await send(object_id, kind=notice, manager=manager)
        return result

    async def _next_notice(self, spec: ObjectKind, object_id: str) -> PendingReminder | None:
        """The object's next notice from its own status, waiting for a worker as long as
        any call that needs one (a clear error when none answers, or it ended)."""
        await self._running_workflow(spec.workflow_id(object_id), f"{spec.what} {object_id}")
        status = await self._query(
            spec.workflow_id(object_id), f"{spec.what} {object_id!r}", spec.status_type
        )
        return spec.pending(status)

    def _row(self, spec: ObjectKind, ex: WorkflowExecution, now: datetime) -> ObjectRow:
        attributes: dict[str, Any] = {k.name: ex.typed_search_attributes.get(k) for k in ALL_KEYS}
        running = ex.status == WorkflowExecutionStatus.RUNNING
        return ObjectRow(
            kind=spec.name,
            id=spec.object_id(ex.id),
            workflow_id=ex.id,
            run_id=ex.run_id,
            workflow_status=ex.status.name.lower() if ex.status else "unknown",
            running=running,
            state=attributes.get(spec.state_key.name),
            person_id=attributes.get(spec.person_key.name),
            technician_id=attributes.get(TECHNICIAN_ID.name) if spec.name == "repair" else None,
            due_at=attributes.get(DUE_AT.name),
            next_reminder_at=attributes.get(NEXT_REMINDER_AT.name) if running else None,
            next_reminder=None,
            overdue=running and spec.is_overdue(attributes, now),
            started_at=ex.start_time,
            closed_at=ex.close_time,
            ui_url=ui_url(
                self.settings.temporal_ui_url, self.settings.temporal_namespace, ex.id, ex.run_id
            ),
        )

    async def _with_pending(self, spec: ObjectKind, rows: list[ObjectRow]) -> None:
        """Each running row's next notice, from its status query, a few at a time, all
        within :data:`PENDING_WAIT`: the rows that have not answered by then stay empty."""
        client = await self.temporal()
        gate = asyncio.Semaphore(PENDING_AT_ONCE)

        async def ask(row: ObjectRow) -> None:
            handle = client.get_workflow_handle(row.workflow_id)
            async with gate:
                try:
                    status = await handle.query("status", result_type=spec.status_type)
                except Exception as err:  # noqa: BLE001 - ended meanwhile, refused: shown empty
                    log.debug("no status from %s: %s", row.workflow_id, err)
                    return
            row.next_reminder = spec.pending(status)

        try:
            async with asyncio.timeout(PENDING_WAIT):
                await asyncio.gather(*(ask(r) for r in rows if r.running))
        except TimeoutError:
            log.debug("status queries unanswered within %gs (no worker?)", PENDING_WAIT)

    # ------------------------------------------------------------------ schedules, health

    async def schedules(self) -> list[ScheduleInfo]:
        """Herald's Temporal schedules (the daily housekeeping): paused or not, the next
        runs, and the recent runs with their outcome and Temporal UI links."""
        client = await self.temporal()
        try:
            return await describe_schedules(client, self.settings)
        except RPCError as err:
            raise temporal_refusal(err, "the schedules") from None

    async def health(self) -> HealthReport:
        """``herald doctor``'s checks, as data: the encryption keys and codec server,
        Temporal and the search attributes, the database, the providers, the HTTP API,
        and notes on the providers' webhooks."""
        return await run_checks(self.settings, temporal=self.temporal, store=self.store)

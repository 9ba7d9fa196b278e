"""The personal daily summary of the CRM (see :mod:`herald.daily_summary`): a person's hour,
kept in Herald's database, and the workflow that sends it at that hour."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from herald import crm_store
from herald.daily_summary import (
    DAILY_SUMMARY_WORKFLOW,
    SETTING_SIGNAL,
    DailySummaryInput,
    DailySummaryStatus,
    SummarySetting,
    daily_summary_workflow_id,
    parse_summary_at,
)
from herald.errors import HeraldError, InvalidInput, Unavailable
from herald.service.base import log, one_line, temporal_refusal
from herald.service.directory import DirectoryService


class DailySummaryService(DirectoryService):
    async def set_daily_summary(self, subscriber_id: str, *, at: str | None) -> DailySummaryStatus:
        """The person's own summary every day at ``at`` ("08:00", local, in their time zone):
        their follow-ups due later that day, those overdue, those completed and the leads
        given to them since the last one. ``at=None`` or ``"off"`` stops it. A new hour
        moves the next summary at once."""
        await self.get_subscriber(subscriber_id)
        try:
            hour = parse_summary_at(at)
        except ValueError as err:
            raise InvalidInput(str(err)) from None
        setting = await asyncio.to_thread(crm_store.set_summary_at, self.store, subscriber_id, hour)
        what = f"daily summary of {subscriber_id}"
        try:
            if hour is not None:
                await self._start_summary(subscriber_id, setting)
            else:
                await self._tell_summary(subscriber_id, setting)
        except HeraldError as err:
            raise Unavailable(
                f"{what} saved ({setting.describe()}) but not handed to Temporal: "
                f"{one_line(err)}; run the command again once Temporal answers"
            ) from None
        return self._summary_status(subscriber_id, setting, running=hour is not None)

    async def daily_summary(self, subscriber_id: str) -> DailySummaryStatus:
        """The person's summary: their hour, and, while it runs, when the next one goes and
        how many were sent or skipped (a day with nothing to say)."""
        await self.get_subscriber(subscriber_id)
        setting = await asyncio.to_thread(crm_store.summary_setting, self.store, subscriber_id)
        assert setting is not None
        workflow_id = daily_summary_workflow_id(subscriber_id)
        # Off: nothing to ask Temporal (a summary whose "off" was not heard ends by itself
        # at its next hour, when it reads the setting).
        if setting.at is None or not await self._summary_running(workflow_id):
            return self._summary_status(subscriber_id, setting, running=False)
        live = await self._query(
            workflow_id, f"daily summary of {subscriber_id!r}", DailySummaryStatus
        )
        # The database has the person's choice; the workflow, what it did with it.
        return live.model_copy(
            update={
                "at": f"{setting.at:%H:%M}" if setting.at else None,
                "timezone": setting.timezone,
                "running": True,
            }
        )

    async def _timezone_changed(self, subscriber_id: str) -> None:
        """A summary follows its person to their new zone now, not at its next hour. Best
        effort: the summary reads the zone again at its next hour anyway."""
        setting = await asyncio.to_thread(crm_store.summary_setting, self.store, subscriber_id)
        if setting is None or setting.at is None:
            return
        try:
            await asyncio.wait_for(self._tell_summary(subscriber_id, setting), 10)
        except (HeraldError, TimeoutError) as err:
            log.warning("could not tell the daily summary of %s: %s", subscriber_id, err)

    # ------------------------------------------------------------------ Temporal

    async def _start_summary(self, subscriber_id: str, setting: SummarySetting) -> None:
        """Signal the person's summary with the new setting, starting it if none runs."""
        client = await self.temporal()
        try:
            await client.start_workflow(
                DAILY_SUMMARY_WORKFLOW,
                DailySummaryInput(subscriber_id=subscriber_id, setting=setting),
                id=daily_summary_workflow_id(subscriber_id),
                task_queue=self.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                start_signal=SETTING_SIGNAL,
                start_signal_args=[setting],
                static_summary=f"Daily summary of {subscriber_id}",
            )
        except RPCError as err:
            raise temporal_refusal(err, f"daily summary of {subscriber_id}") from None

    async def _tell_summary(self, subscriber_id: str, setting: SummarySetting) -> None:
        """Signal the person's running summary, if any (none running: nothing to tell)."""
        client = await self.temporal()
        handle = client.get_workflow_handle(daily_summary_workflow_id(subscriber_id))
        try:
            await handle.signal(SETTING_SIGNAL, setting)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise temporal_refusal(err, f"daily summary of {subscriber_id}") from None

    async def _summary_running(self, workflow_id: str) -> bool:
        status = await self._workflow_status(workflow_id, f"workflow {workflow_id}")
        return status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING

    @staticmethod
    def _summary_status(
        subscriber_id: str, setting: SummarySetting, *, running: bool
    ) -> DailySummaryStatus:
        return DailySummaryStatus(
            subscriber_id=subscriber_id,
            at=f"{setting.at:%H:%M}" if setting.at else None,
            timezone=setting.timezone,
            running=running,
        )

"""One daily summary per person (``daily-summary-<id>``): the AAA CRM's personal summary of
their own follow-ups (due later today, overdue, completed) and of the leads given to them,
at the hour they chose in their time zone.

The workflow sleeps on a durable timer until the person's next local hour
(:func:`herald.daily_summary.next_summary_at`, DST included), reads the day's facts and the
person's setting in one activity, and sends the summary through the same planning and
delivery as every other notice (preferences, channels, quiet hours, the delivery log). A
day with nothing to say sends nothing, and the worker's log says so. A change of hour or
time zone arrives as a signal and moves the timer at once; switching the summary off ends
the workflow. Should a signal be lost, the setting read at the next hour wins. After a week
of summaries it continues as new, so its history stays short.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.notifying import (
    PLAN_RETRY,
    PLAN_SCHEDULE_TO_CLOSE,
    PLAN_START_TO_CLOSE,
    notify,
)

with workflow.unsafe.imports_passed_through():
    from herald.contracts import DeliveryRequest, NotificationRecord, Role
    from herald.daily_summary import (
        GATHER_DAILY_SUMMARY,
        OCCASIONS_PER_RUN,
        SETTING_SIGNAL,
        SUMMARY_KIND,
        DailySummaryFacts,
        DailySummaryInput,
        DailySummaryStatus,
        Gathered,
        GatherInput,
        SummarySetting,
        next_summary_at,
        summary_window,
    )
    from herald.kinds import kind_info


@workflow.defn(name="DailySummaryWorkflow")
class DailySummaryWorkflow:
    @workflow.init
    def __init__(self, inp: DailySummaryInput) -> None:
        self._subscriber = inp.subscriber_id
        self._setting: SummarySetting | None = inp.setting
        self._last_day = inp.last_day
        self._last_fire_at = inp.last_fire_at
        self._sent = inp.sent
        self._skipped = inp.skipped
        self._last_outcome = inp.last_outcome
        self._next: datetime | None = None
        # Bumped by every accepted signal, so the sleeping loop wakes up and looks again.
        self._changes = 0

    # ------------------------------------------------------------------ signal and query

    @workflow.signal(name=SETTING_SIGNAL)
    def setting_changed(self, setting: SummarySetting) -> None:
        """The person chose another hour, or no summary; a reading older than the one held
        is ignored."""
        if setting.newer_than(self._setting):
            self._setting = setting
            self._changes += 1

    @workflow.query(name="status")
    def status(self) -> DailySummaryStatus:
        """As of the workflow's last decision (a query has no clock of its own)."""
        setting = self._setting
        on = setting is not None and setting.at is not None
        return DailySummaryStatus(
            subscriber_id=self._subscriber,
            at=f"{setting.at:%H:%M}" if setting is not None and setting.at else None,
            timezone=setting.timezone if setting else "UTC",
            running=on,
            next_at=self._next if on else None,
            last_day=self._last_day,
            last_fire_at=self._last_fire_at,
            sent=self._sent,
            skipped=self._skipped,
            last_outcome=self._last_outcome,
        )

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: DailySummaryInput) -> DailySummaryStatus:
        occasions = 0
        while True:
            setting = self._setting
            if setting is None or setting.at is None:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._setting is None or self._setting.at is None:
                    self._next = None
                    workflow.set_current_details("switched off")
                    return self.status()
                continue
            now = workflow.now()
            fire = next_summary_at(now, setting.at, setting.timezone, self._last_day)
            self._next = fire
            workflow.set_current_details(
                f"next summary {fire:%Y-%m-%d %H:%M} UTC · {setting.describe()} · "
                f"{self._sent} sent, {self._skipped} empty days"
            )
            changes = self._changes
            if fire > now:
                try:
                    await workflow.wait_condition(
                        lambda changes=changes: self._changes != changes,  # type: ignore[misc]
                        timeout=fire - now,
                        timeout_summary="daily summary",
                    )
                    continue  # another hour, or off: look again
                except TimeoutError:
                    pass

            window = summary_window(fire, setting.at, setting.timezone, self._last_fire_at)
            try:
                gathered = await workflow.execute_activity(
                    GATHER_DAILY_SUMMARY,
                    GatherInput(subscriber_id=self._subscriber, window=window),
                    result_type=Gathered,
                    start_to_close_timeout=PLAN_START_TO_CLOSE,
                    schedule_to_close_timeout=PLAN_SCHEDULE_TO_CLOSE,
                    retry_policy=PLAN_RETRY,
                    summary=f"the day's follow-ups and leads of {self._subscriber}",
                )
            except ActivityError as err:
                # A day of retries failed (the database down): this day goes without a
                # summary, the next one is tried as usual.
                self._last_day, self._last_fire_at = window.day, fire
                self._skipped += 1
                self._last_outcome = f"{window.day}: not sent, the day could not be read"
                workflow.logger.warning(
                    "daily summary of %s for %s not sent: %s",
                    self._subscriber,
                    window.day,
                    err.cause or err,
                )
                continue
            # The database has the last word: a change whose signal was lost (or a person
            # no longer known) is taken now, and the summary waits for its own hour.
            current = gathered.setting or SummarySetting(at=None, timezone=setting.timezone)
            if current.newer_than(self._setting):
                self._setting = current
            now_set = self._setting
            if now_set is None or (now_set.at, now_set.timezone) != (setting.at, setting.timezone):
                continue

            self._last_day = window.day
            self._last_fire_at = fire
            await self._summarise(gathered.facts)
            occasions += 1
            if occasions >= OCCASIONS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carry_over())

    # ------------------------------------------------------------------ sending

    async def _summarise(self, facts: DailySummaryFacts) -> None:
        day = facts.window.day
        if facts.empty:
            self._skipped += 1
            self._last_outcome = f"{day}: nothing to report, not sent"
            workflow.logger.info(
                "daily summary of %s for %s: nothing to report, not sent", self._subscriber, day
            )
            return
        now = workflow.now()
        request = DeliveryRequest(
            workflow_id=workflow.info().workflow_id,
            notification_id=f"{SUMMARY_KIND}@{day.isoformat()}",
            kind=SUMMARY_KIND,
            role=Role.SUBSCRIBER,
            subscriber_id=self._subscriber,
            subject_type="daily_summary",
            subject_id=self._subscriber,
            scheduled_at=facts.window.at,
            data=facts.model_dump(mode="json"),
            priority=kind_info(SUMMARY_KIND).priority,
        )
        record = NotificationRecord(
            notification_id=request.notification_id,
            kind=request.kind,
            role=request.role,
            planned_at=facts.window.at,
            fired_at=now,
        )
        await notify(request, record)
        self._sent += 1
        channels = ", ".join(f"{c}={s.value}" for c, s in record.channels.items())
        self._last_outcome = f"{day}: {facts.describe()} ({channels or record.skipped_reason})"
        workflow.logger.info(
            "daily summary of %s for %s: %s", self._subscriber, day, self._last_outcome
        )

    def _carry_over(self) -> DailySummaryInput:
        return DailySummaryInput(
            subscriber_id=self._subscriber,
            setting=self._setting,
            last_day=self._last_day,
            last_fire_at=self._last_fire_at,
            sent=self._sent,
            skipped=self._skipped,
            last_outcome=self._last_outcome,
        )

"""One mailbox per person: the notices that wait for the end of their quiet hours or for
their next digest, on durable timers.

The planning activity hands a notice over (signal-with-start) when it falls due inside the
person's quiet hours or, for medium and low priorities, when the person chose a digest.
The mailbox lets waiting notices go when the quiet hours end, sends what it collected as
one digest at the person's hour, and ends as soon as it holds nothing: an empty period
sends nothing and costs nothing. A change of the person's rules wakes it up at once.
Nothing goes out after the fact it announces: when a notice is let go, its kind's
lateness rule is checked (a reminder whose due time has passed, an alert a later one
supersedes) and a late one is logged as skipped instead; a digest left empty is not sent.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio import workflow

from workflows.notifying import PLAN_RETRY, PLAN_START_TO_CLOSE, notify

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        DROP_HELD,
        HOLD_RULES,
        HOLD_SIGNAL,
        RULES_CHANGED_SIGNAL,
        TOO_LATE_PATCH,
        DeliveryRequest,
        DroppedNotice,
        DroppedNotices,
        HeldNotice,
        MailboxInput,
        MailboxStatus,
        NotificationRecord,
        Role,
        WaitingNotice,
    )
    from herald.holding import DigestMode, HoldReason, HoldRules, too_late
    from herald.kinds import KINDS, Channel

# Keys of notices already let go, remembered so a retried hand-over is not sent twice.
RECENT_KEYS = 500


@workflow.defn(name="MailboxWorkflow")
class MailboxWorkflow:
    @workflow.init
    def __init__(self, inp: MailboxInput) -> None:
        self._subscriber = inp.subscriber_id
        self._rules: HoldRules | None = inp.rules
        self._waiting: list[HeldNotice] = list(inp.waiting)
        self._collected: list[HeldNotice] = list(inp.collected)
        self._recent: list[str] = list(inp.recent_keys)
        self._last_digest_at = inp.last_digest_at
        self._released = inp.released
        self._digests = inp.digests_sent
        self._dropped = inp.dropped
        # Whether held notices are checked for lateness when let go (set by ``run``).
        self._late_checks = False
        # Bumped by every signal, so the sleeping loop wakes up and looks again.
        self._changes = 0
        self._refresh = False
        self._quiet_until: datetime | None = None

    # ------------------------------------------------------------------ signals and query

    @workflow.signal(name=HOLD_SIGNAL)
    def hold(self, notice: HeldNotice) -> None:
        key = notice.key
        if key in self._recent or any(n.key == key for n in (*self._waiting, *self._collected)):
            return  # a retried hand-over
        self._adopt(notice.rules)
        if notice.hold.reason is HoldReason.DIGEST:
            self._collected.append(notice)
        else:
            self._waiting.append(notice)
        self._changes += 1

    @workflow.signal(name=RULES_CHANGED_SIGNAL)
    def rules_changed(self, rules: HoldRules | None = None) -> None:
        """The person changed their quiet hours or digest: re-read them and look again."""
        if rules is not None:
            self._adopt(rules)
        self._refresh = True
        self._changes += 1

    @workflow.query(name="status")
    def status(self) -> MailboxStatus:
        """As of the mailbox's last decision (a query has no clock of its own)."""
        rules = self._rules
        return MailboxStatus(
            subscriber_id=self._subscriber,
            rules=rules,
            waiting=[_waiting(n) for n in self._waiting],
            quiet_until=self._quiet_until if self._waiting else None,
            collected=[_waiting(n) for n in self._collected],
            next_digest_at=self._digest_due(rules) if rules and self._collected else None,
            last_digest_at=self._last_digest_at,
            released=self._released,
            digests_sent=self._digests,
            dropped=self._dropped,
        )

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: MailboxInput) -> MailboxStatus:
        self._late_checks = workflow.patched(TOO_LATE_PATCH)
        while True:
            if self._refresh or self._rules is None:
                self._refresh = False
                fresh = await workflow.execute_activity(
                    HOLD_RULES,
                    self._subscriber,
                    result_type=HoldRules,
                    start_to_close_timeout=PLAN_START_TO_CLOSE,
                    retry_policy=PLAN_RETRY,
                    summary="quiet hours and digest",
                )
                self._adopt(fresh, force=True)
            assert self._rules is not None
            rules = self._rules
            now = workflow.now()

            quiet_until = self._quiet_until = rules.quiet_until(now)
            # Each action takes time: look again with a fresh clock after it.
            if self._collected and rules.digest is DigestMode.OFF:
                await self._send_digest()  # digest mode left: what was collected goes now
                continue
            if self._waiting and quiet_until is None:
                await self._release_waiting(rules, now)
                continue
            if self._collected and quiet_until is None and self._digest_due(rules) <= now:
                await self._send_digest()
                continue

            if not self._waiting and not self._collected:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._waiting and not self._collected:
                    return self.status()
                continue
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carry_over())

            wake = min(
                ([quiet_until] if quiet_until else [])
                + ([self._digest_due(rules)] if self._collected else [])
            )
            self._publish(rules, wake)
            changes = self._changes

            def changed(changes: int = changes) -> bool:
                return self._changes != changes

            try:
                await workflow.wait_condition(
                    changed,
                    timeout=max(wake - now, timedelta(seconds=1)),
                    timeout_summary="quiet hours end" if self._waiting else "digest",
                )
            except TimeoutError:
                # Read the rules again before acting on them: a change may not have reached
                # us (the app could not signal, Temporal was down...).
                self._refresh = True

    # ------------------------------------------------------------------ decisions

    def _adopt(self, rules: HoldRules, *, force: bool = False) -> None:
        """Keep the newest reading of the person's rules."""
        current = self._rules
        if (
            force
            or current is None
            or (
                rules.version is not None
                and (current.version is None or rules.version > current.version)
            )
        ):
            self._rules = rules

    def _digest_due(self, rules: HoldRules) -> datetime:
        """The digest goes at the person's first digest hour after the oldest notice in it."""
        oldest = min(n.held_at for n in self._collected)
        return rules.next_digest(oldest)

    async def _release_waiting(self, rules: HoldRules, now: datetime) -> None:
        """Quiet hours are over: send what waited, unless the person now wants it in a digest
        or its moment has passed."""
        waiting, self._waiting = self._waiting, []
        to_send: list[HeldNotice] = []
        for notice in waiting:
            hold = rules.hold(notice.priority, now, digestible=self._digestible(notice))
            if hold is not None and hold.reason is HoldReason.DIGEST:
                self._collected.append(notice)
            else:
                to_send.append(notice)
        to_send = await self._drop_late(to_send, [*waiting, *self._collected], now)
        await asyncio.gather(*(self._release(n) for n in to_send))

    def _digestible(self, notice: HeldNotice) -> bool:
        kind = KINDS.get(notice.request.kind)
        return not self._late_checks or kind is None or kind.digestible

    async def _drop_late(
        self, notices: list[HeldNotice], held: list[HeldNotice], now: datetime
    ) -> list[HeldNotice]:
        """The notices still worth sending; the others are logged as skipped, with why. A
        reminder is too late once the deadline it announces has passed, an alert once a
        later one of the same subject is ``held`` too."""
        if not self._late_checks or not notices:
            return notices
        keep: list[HeldNotice] = []
        dropped: list[DroppedNotice] = []
        for notice in notices:
            r = notice.request
            later = [
                o.request.scheduled_at
                for o in held
                if o.request.kind == r.kind
                and o.request.workflow_id == r.workflow_id
                and o.request.subject_id == r.subject_id
                and o.request.scheduled_at > r.scheduled_at
            ]
            reason = too_late(
                r.kind,
                now,
                deadline=r.deadline(),
                superseded_at=max(later) if later else None,
            )
            if reason is None:
                keep.append(notice)
                continue
            workflow.logger.info("dropped %s for %s: %s", r.kind, self._subscriber, reason)
            dropped.append(
                DroppedNotice(
                    kind=r.kind,
                    subscriber_id=self._subscriber,
                    notification_id=r.notification_id,
                    keys=notice.keys,
                    reason=reason,
                )
            )
        if dropped:
            await workflow.execute_activity(
                DROP_HELD,
                DroppedNotices(notices=dropped),
                result_type=int,
                start_to_close_timeout=PLAN_START_TO_CLOSE,
                retry_policy=PLAN_RETRY,
                summary=f"{len(dropped)} held notices too late",
            )
            self._remember([n for n in notices if n not in keep])
            self._dropped += len(dropped)
        return keep

    async def _release(self, notice: HeldNotice) -> None:
        request = notice.request.model_copy(update={"release": True})
        record = NotificationRecord(
            notification_id=request.notification_id,
            kind=request.kind,
            role=request.role,
            planned_at=request.scheduled_at,
            fired_at=workflow.now(),
        )
        await notify(request, record)
        self._remember([notice])
        self._released += 1

    async def _send_digest(self) -> None:
        collected, self._collected = self._collected, []
        now = workflow.now()
        collected = await self._drop_late(collected, collected, now)
        if not collected:
            return  # every notice came too late: no digest at all
        # Digest mode just left: the digest is named after the mode the notices waited for.
        modes = [self._rules.digest if self._rules else DigestMode.OFF]
        modes += [n.rules.digest for n in reversed(collected)]
        period = next((m for m in modes if m is not DigestMode.OFF), DigestMode.DAILY).value
        request = DeliveryRequest(
            workflow_id=workflow.info().workflow_id,
            notification_id=f"digest@{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            kind=f"digest.{period}",
            role=Role.SUBSCRIBER,
            subscriber_id=self._subscriber,
            subject_type="digest",
            subject_id=self._subscriber,
            scheduled_at=now,
            data={
                "period": period,
                "period_start": min(n.held_at for n in collected).isoformat(),
                "period_end": now.isoformat(),
                "items": [n.request.model_dump(mode="json") for n in collected],
                "held_keys": [k for n in collected for k in n.keys],
            },
            priority="medium",
            channels=[Channel.EMAIL, Channel.IN_APP],
            release=True,
        )
        record = NotificationRecord(
            notification_id=request.notification_id,
            kind=request.kind,
            role=request.role,
            planned_at=now,
            fired_at=now,
        )
        await notify(request, record)
        self._remember(collected)
        self._last_digest_at = now
        self._digests += 1

    def _remember(self, notices: list[HeldNotice]) -> None:
        self._recent.extend(n.key for n in notices)
        del self._recent[:-RECENT_KEYS]

    # ------------------------------------------------------------------ visibility

    def _publish(self, rules: HoldRules, wake: datetime) -> None:
        workflow.set_current_details(
            f"{len(self._waiting)} waiting for quiet hours to end, "
            f"{len(self._collected)} collected for the digest · next: {wake:%Y-%m-%d %H:%M} UTC"
            f" · {rules.describe()}"
        )

    def _carry_over(self) -> MailboxInput:
        return MailboxInput(
            subscriber_id=self._subscriber,
            rules=self._rules,
            waiting=self._waiting,
            collected=self._collected,
            last_digest_at=self._last_digest_at,
            recent_keys=self._recent,
            released=self._released,
            digests_sent=self._digests,
            dropped=self._dropped,
        )


def _waiting(notice: HeldNotice) -> WaitingNotice:
    r = notice.request
    return WaitingNotice(
        kind=r.kind,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        priority=notice.priority,
        held_at=notice.held_at,
    )

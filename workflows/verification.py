"""One contact verification (see :mod:`herald.verification`): send a code, wait for it on
a durable timer until it expires, take a limited number of tries, send a new one on
request after a cool-down, record the outcome. The code itself never enters the history:
the activities keep only its salted hash, in the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from herald.contracts import (
        CHECK_VERIFICATION,
        FINISH_VERIFICATION,
        SEND_VERIFICATION,
        VerificationInput,
        VerificationState,
    )

SEND_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=5)
DB_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))
DB_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="ContactVerificationWorkflow")
class ContactVerificationWorkflow:
    @workflow.init
    def __init__(self, inp: VerificationInput) -> None:
        self._inp = inp
        self._status = "pending"
        self._attempts = 0
        self._last_sent: datetime | None = None

    @workflow.run
    async def run(self, inp: VerificationInput) -> VerificationState:
        await self._send()
        try:
            await workflow.wait_condition(lambda: self._status != "pending", timeout=inp.expires_in)
        except TimeoutError:
            await self._finish("expired")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state()

    @workflow.update(name="check")
    async def check(self, code: str) -> VerificationState:
        """One try; the answer says whether it was right and how many tries are left."""
        self._attempts += 1
        ok = await workflow.execute_activity(
            CHECK_VERIFICATION,
            args=[self._inp.verification_id, code],
            result_type=bool,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if self._status == "pending":
            if ok:
                await self._finish("verified")
            elif self._attempts >= self._inp.max_attempts:
                await self._finish("failed")
        return self._state()

    @check.validator
    def _validate_check(self, code: str) -> None:
        self._refuse_unless_pending()
        if not isinstance(code, str) or not code.strip() or len(code) > 200:
            raise ValueError("give the code that was sent")

    @workflow.update(name="resend")
    async def resend(self) -> VerificationState:
        """A new code (the previous one stops working)."""
        await self._send()
        return self._state()

    @resend.validator
    def _validate_resend(self) -> None:
        self._refuse_unless_pending()
        if self._last_sent is not None:
            wait = self._last_sent + self._inp.resend_cooldown - workflow.now()
            if wait > timedelta(0):
                raise ValueError(
                    f"a code was sent {int((self._inp.resend_cooldown - wait).total_seconds())} s "
                    f"ago: ask again in {int(wait.total_seconds()) + 1} s"
                )

    @workflow.query(name="state")
    def state(self) -> VerificationState:
        return self._state()

    def _refuse_unless_pending(self) -> None:
        if self._status != "pending":
            raise ValueError(f"verification {self._inp.verification_id} is {self._status}")

    def _state(self) -> VerificationState:
        return VerificationState(
            verification_id=self._inp.verification_id,
            status=self._status,
            attempts=self._attempts,
            attempts_left=max(0, self._inp.max_attempts - self._attempts),
        )

    async def _send(self) -> None:
        self._last_sent = workflow.now()
        await workflow.execute_activity(
            SEND_VERIFICATION,
            self._inp.verification_id,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=SEND_RETRY,
            summary="send the code",
        )

    async def _finish(self, status: str) -> None:
        self._status = status
        await workflow.execute_activity(
            FINISH_VERIFICATION,
            args=[self._inp.verification_id, status],
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=status,
        )

"""Contact verification for the client, the CLI and the API (see herald/verification.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.common import WorkflowIDReusePolicy

from herald import verification
from herald.contracts import VERIFICATION_WORKFLOW, VerificationInput, VerificationState
from herald.db import utcnow
from herald.errors import InvalidInput, NotFound
from herald.kinds import Channel
from herald.service.directory import DirectoryService
from herald.validation import check_id

VERIFIABLE = {c.value: c for c in (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)}


def verification_workflow_id(verification_id: str) -> str:
    return f"verify-{verification_id}"


class VerificationService(DirectoryService):
    async def start_verification(self, subscriber_id: str, *, channel: str) -> dict[str, Any]:
        """Send the person a code (SMS, WhatsApp) or a link (e-mail) proving the address on
        file is theirs; answers the verification, ``pending`` until confirmed."""
        ch = VERIFIABLE.get(channel) if isinstance(channel, str) else None
        if ch is None:
            raise InvalidInput(
                f"unknown channel {str(channel)[:40]!r} to verify: use {', '.join(VERIFIABLE)}"
            )
        contact = await self.get_subscriber(subscriber_id)
        if not contact.address(ch):
            raise InvalidInput(f"subscriber {subscriber_id!r} has no {ch.value} address to verify")
        s = self.settings
        pending = await asyncio.to_thread(
            verification.create, self.store, contact, ch, utcnow() + s.verification_expiry
        )
        await self._start(
            VERIFICATION_WORKFLOW,
            VerificationInput(
                verification_id=pending.id,
                expires_in=s.verification_expiry,
                max_attempts=s.verification_attempts,
                resend_cooldown=s.verification_resend_cooldown,
            ),
            business_id=pending.id,
            workflow_id=verification_workflow_id(pending.id),
            what=f"verification {pending.id}",
            ended="",
            reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return await self.verification(pending.id)

    async def confirm_verification(self, verification_id: str, *, code: str) -> dict[str, Any]:
        """One try of the code (or the e-mail's token); the verification as it now stands."""
        check_id(verification_id, "verification id")
        if not isinstance(code, str) or not code.strip() or len(code) > 200:
            raise InvalidInput("give the code that was sent (at most 200 characters)")
        handle = await self._running_verification(verification_id)
        await self._update(handle, "check", code.strip(), VerificationState)
        return await self.verification(verification_id)

    async def resend_verification(self, verification_id: str) -> dict[str, Any]:
        """A new code, once the cool-down since the last one has passed."""
        handle = await self._running_verification(verification_id)
        await self._update(handle, "resend", None, VerificationState)
        return await self.verification(verification_id)

    async def confirm_verification_link(self, token: str) -> dict[str, Any]:
        """The e-mail link's token (``ver_….secret``)."""
        parts = verification.split_token(token) if isinstance(token, str) else None
        if parts is None:
            raise InvalidInput("this verification link is not valid")
        return await self.confirm_verification(parts[0], code=parts[1])

    async def verification(self, verification_id: str) -> dict[str, Any]:
        check_id(verification_id, "verification id")
        found = await asyncio.to_thread(verification.get, self.store, verification_id)
        if found is None:
            raise NotFound(f"no verification {verification_id!r}")
        return found

    async def _running_verification(self, verification_id: str) -> Any:
        check_id(verification_id, "verification id")
        await self.verification(verification_id)
        return await self._running_workflow(
            verification_workflow_id(verification_id), f"verification {verification_id}"
        )

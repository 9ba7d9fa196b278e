"""Contact verification over HTTP: part of :class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from typing import Any

from herald.http_base import path_segment as _q
from herald.http_feedback import FeedbackOverHttp


class VerificationOverHttp(FeedbackOverHttp):
    async def start_verification(
        self, subscriber_id: str, *, channel: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        response = await self._call(
            "POST",
            f"/v1/subscribers/{_q(subscriber_id)}/verifications",
            json={"channel": channel},
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

    async def confirm_verification(
        self, verification_id: str, *, code: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        response = await self._call(
            "POST",
            f"/v1/verifications/{_q(verification_id)}/confirm",
            json={"code": code},
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

    async def resend_verification(
        self, verification_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        response = await self._call(
            "POST",
            f"/v1/verifications/{_q(verification_id)}/resend",
            json={},
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

    async def confirm_verification_link(self, token: str) -> dict[str, Any]:
        response = await self._call("GET", "/v1/verifications/confirm", params={"token": token})
        return dict(response.json())

    async def verification(self, verification_id: str) -> dict[str, Any]:
        response = await self._call("GET", f"/v1/verifications/{_q(verification_id)}")
        return dict(response.json())

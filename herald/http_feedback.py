"""The feedback loop's operations over HTTP (suppressions, WhatsApp window, provider
events): part of :class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herald.http_base import OverHttp
from herald.http_base import path_segment as _q


class FeedbackOverHttp(OverHttp):
    async def suppressions(
        self,
        channel: str | None = None,
        address: str | None = None,
        *,
        include_lifted: bool = False,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"include_lifted": include_lifted}
        for name, value in (
            ("channel", channel),
            ("address", address),
            ("cursor", after),
            ("limit", limit),
        ):
            if value is not None:
                params[name] = value
        response = await self._call("GET", "/v1/suppressions", params=params)
        return list(response.json()["items"])

    async def suppress(
        self,
        channel: str,
        address: str,
        *,
        reason: str,
        actor: str = "ops",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """``actor`` is not sent: the server records the API key's name."""
        body = {"channel": channel, "address": address, "reason": reason}
        response = await self._call(
            "POST", "/v1/suppressions", json=body, idempotency_key=idempotency_key
        )
        return dict(response.json())

    async def lift_suppression(
        self,
        channel: str,
        address: str,
        *,
        reason: str | None = None,
        actor: str = "ops",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """``actor`` is not sent: the server records the API key's name."""
        body = {"channel": channel, "address": address, "reason": reason}
        response = await self._call(
            "POST", "/v1/suppressions/lift", json=body, idempotency_key=idempotency_key
        )
        return dict(response.json())

    async def whatsapp_window(
        self, subscriber_id: str, *, at: datetime | None = None
    ) -> dict[str, Any]:
        params = {"at": at.isoformat()} if at is not None else None
        response = await self._call(
            "GET", f"/v1/subscribers/{_q(subscriber_id)}/whatsapp-window", params=params
        )
        return dict(response.json())

    async def sms_spending(self, *, months: int = 6) -> list[dict[str, Any]]:
        response = await self._call("GET", "/v1/sms-spending", params={"months": months})
        return list(response.json()["items"])

    async def delivery_events(self, delivery_id: int) -> list[dict[str, Any]]:
        response = await self._call("GET", f"/v1/deliveries/{_q(delivery_id)}/events")
        return list(response.json()["items"])

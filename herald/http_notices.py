"""Ad-hoc notices and resends over HTTP: part of :class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


def _q(value: object) -> str:
    return quote(str(value), safe="")


class NoticesOverHttp:
    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        raise NotImplementedError  # HttpHerald's transport

    async def resend_delivery(
        self,
        delivery_id: int,
        *,
        actor: str = "ops",
        wait: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """``actor`` is not sent: the server records the API key's name."""
        response = await self._call(
            "POST",
            f"/v1/deliveries/{_q(delivery_id)}/resend",
            json={"wait": wait},
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

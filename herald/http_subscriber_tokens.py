"""Subscriber tokens over HTTP: part of :class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from datetime import timedelta

from pydantic import TypeAdapter

from herald.http_base import OverHttp
from herald.http_base import path_segment as _q
from herald.subscriber_tokens import DEFAULT_TTL_SECONDS, SubscriberToken


class SubscriberTokensOverHttp(OverHttp):
    async def mint_subscriber_token(
        self,
        subscriber_id: str,
        *,
        ttl: int | timedelta = DEFAULT_TTL_SECONDS,
        idempotency_key: str | None = None,
    ) -> SubscriberToken:
        seconds = int(ttl.total_seconds()) if isinstance(ttl, timedelta) else ttl
        response = await self._call(
            "POST",
            f"/v1/subscribers/{_q(subscriber_id)}/token",
            json={"ttl": seconds},
            idempotency_key=idempotency_key,
        )
        return TypeAdapter(SubscriberToken).validate_python(response.json())

"""What every part of :class:`herald.http_client.HttpHerald` shares: the transport it
calls (implemented once, by ``HttpHerald``) and how an id becomes one path segment."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


def path_segment(value: object) -> str:
    """One path segment: every reserved character escaped (an id cannot add a segment)."""
    return quote(str(value), safe="")


class OverHttp:
    """A group of HttpHerald's operations; ``_call`` is HttpHerald's transport."""

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        raise NotImplementedError

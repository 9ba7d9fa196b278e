"""The in-app inbox over HTTP: part of :class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from typing import Any

from herald.http_base import OverHttp
from herald.http_base import path_segment as _q


class InboxOverHttp(OverHttp):
    async def inbox(
        self,
        subscriber_id: str,
        *,
        page: int = 1,
        page_size: int = 20,
        unread_only: bool = False,
        read: bool | None = None,
        category: str | None = None,
        archived: bool = False,
        search: str | None = None,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "page": page,
            "page_size": page_size,
            "unread_only": unread_only,
            "archived": archived,
        }
        for name, value in (("read", read), ("category", category), ("search", search)):
            if value is not None:
                params[name] = value
        response = await self._call(
            "GET", f"/v1/subscribers/{_q(subscriber_id)}/inbox", params=params
        )
        return list(response.json())

    async def unread_count(self, subscriber_id: str) -> int:
        response = await self._call(
            "GET", f"/v1/subscribers/{_q(subscriber_id)}/inbox/unread-count"
        )
        return int(response.json()["unread"])

    async def mark_read(
        self,
        subscriber_id: str,
        notification_ids: list[int] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> int:
        response = await self._call(
            "POST",
            f"/v1/subscribers/{_q(subscriber_id)}/inbox/read",
            json={"notification_ids": notification_ids},
            idempotency_key=idempotency_key,
        )
        return int(response.json()["marked_read"])

    async def mark_unread(
        self,
        subscriber_id: str,
        notification_ids: list[int],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        response = await self._call(
            "POST",
            f"/v1/subscribers/{_q(subscriber_id)}/inbox/unread",
            json={"notification_ids": notification_ids},
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

    async def archive(
        self,
        subscriber_id: str,
        notification_ids: list[int] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        return await self._inbox_change("archive", subscriber_id, notification_ids, idempotency_key)

    async def unarchive(
        self,
        subscriber_id: str,
        notification_ids: list[int] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        return await self._inbox_change(
            "unarchive", subscriber_id, notification_ids, idempotency_key
        )

    async def _inbox_change(
        self,
        action: str,
        subscriber_id: str,
        notification_ids: list[int] | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Archive or restore some of the person's notifications (None: all of them)."""
        response = await self._call(
            "POST",
            f"/v1/subscribers/{_q(subscriber_id)}/inbox/{action}",
            json={"notification_ids": notification_ids},
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

"""Ad-hoc notices, events naming several repairs and resends over HTTP: part of
:class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herald.contracts import NoticeCancelled, NotifyResult
from herald.http_base import OverHttp
from herald.http_base import path_segment as _q


class NoticesOverHttp(OverHttp):
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

    async def repair_events(
        self,
        repair_ids: list[str],
        event_type: str,
        *,
        event_id: str | None = None,
        technician_id: str | None = None,
        reason: str | None = None,
        batch_id: str | None = None,
        batch_size: int | None = None,
        idempotency_key: str | None = None,
    ) -> list[dict[str, Any]]:
        body = {
            "repair_ids": repair_ids,
            "type": event_type,
            "event_id": event_id,
            "technician_id": technician_id,
            "reason": reason,
            "batch_id": batch_id,
            "batch_size": batch_size,
        }
        response = await self._call(
            "POST", "/v1/repairs/events", json=body, idempotency_key=idempotency_key
        )
        return list(response.json()["items"])

    async def create_notice(
        self,
        title: str,
        message: str,
        *,
        user_ids: list[str] | None = None,
        group_names: list[str] | None = None,
        event: str | None = None,
        data: dict[str, Any] | None = None,
        priority: str = "medium",
        channels: list[str] | None = None,
        link: str | None = None,
        scheduled_for: datetime | None = None,
        request_id: str | None = None,
        wait: bool = False,
        idempotency_key: str | None = None,
    ) -> tuple[str, NotifyResult | None]:
        body = _notice_body(
            title,
            message,
            user_ids=user_ids,
            group_names=group_names,
            event=event,
            data=data,
            priority=priority,
            channels=channels,
            link=link,
            scheduled_for=scheduled_for,
        )
        body.update({"request_id": request_id, "wait": wait})
        doc = (
            await self._call("POST", "/v1/notices", json=body, idempotency_key=idempotency_key)
        ).json()
        result = doc.get("result")
        return doc["request_id"], (NotifyResult.model_validate(result) if result else None)

    async def preview_notice(
        self,
        title: str,
        message: str,
        *,
        user_ids: list[str] | None = None,
        group_names: list[str] | None = None,
        event: str | None = None,
        data: dict[str, Any] | None = None,
        priority: str = "medium",
        channels: list[str] | None = None,
        link: str | None = None,
        scheduled_for: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = _notice_body(
            title,
            message,
            user_ids=user_ids,
            group_names=group_names,
            event=event,
            data=data,
            priority=priority,
            channels=channels,
            link=link,
            scheduled_for=scheduled_for,
        )
        response = await self._call(
            "POST", "/v1/notices/dry-run", json=body, idempotency_key=idempotency_key
        )
        return dict(response.json())

    async def cancel_notice(
        self, request_id: str, *, idempotency_key: str | None = None
    ) -> NoticeCancelled:
        response = await self._call(
            "POST", f"/v1/notices/{_q(request_id)}/cancel", idempotency_key=idempotency_key
        )
        return NoticeCancelled.model_validate(response.json())


def _notice_body(
    title: str,
    message: str,
    *,
    user_ids: list[str] | None,
    group_names: list[str] | None,
    event: str | None,
    data: dict[str, Any] | None,
    priority: str,
    channels: list[str] | None,
    link: str | None,
    scheduled_for: datetime | None,
) -> dict[str, Any]:
    return {
        "title": title,
        "message": message,
        "user_ids": user_ids,
        "group_names": group_names,
        "event": event,
        "data": data,
        "priority": priority,
        "channels": channels,
        "link": link,
        "scheduled_for": scheduled_for.isoformat()
        if isinstance(scheduled_for, datetime)
        else scheduled_for,
    }

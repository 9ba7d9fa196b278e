"""The ops console's data over HTTP (loans, repairs and follow-ups from Temporal
visibility, "send now", the schedules, ``herald doctor``'s checks): part of
:class:`herald.http_client.HttpHerald`, with the service layer's results."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from herald.contracts import ManualNotifyResult
from herald.health import HealthReport
from herald.http_base import OverHttp
from herald.http_base import path_segment as _q
from herald.objects import ObjectPage, ObjectRow
from herald.schedules import ScheduleInfo
from herald.service.operations import DEFAULT_OBJECT_PAGE

_SCHEDULES = TypeAdapter(list[ScheduleInfo])


class OperationsOverHttp(OverHttp):
    async def objects(
        self,
        kind: str,
        *,
        state: str = "all",
        search: str | None = None,
        limit: int = DEFAULT_OBJECT_PAGE,
        page_token: str | None = None,
        reminders: bool = True,
    ) -> ObjectPage:
        params: dict[str, Any] = {"state": state, "limit": limit, "reminders": reminders}
        if search is not None:
            params["search"] = search
        if page_token is not None:
            params["page_token"] = page_token
        response = await self._call("GET", f"/v1/ops/objects/{_q(kind)}", params=params)
        return ObjectPage.model_validate(response.json())

    async def object_info(self, kind: str, object_id: str, *, reminders: bool = True) -> ObjectRow:
        response = await self._call(
            "GET", f"/v1/ops/objects/{_q(kind)}/{_q(object_id)}", params={"reminders": reminders}
        )
        return ObjectRow.model_validate(response.json())

    async def send_reminder_now(
        self,
        kind: str,
        object_id: str,
        *,
        notice: str | None = None,
        manager: bool = False,
        idempotency_key: str | None = None,
    ) -> ManualNotifyResult:
        response = await self._call(
            "POST",
            f"/v1/ops/objects/{_q(kind)}/{_q(object_id)}/send-now",
            json={"notice": notice, "manager": manager},
            idempotency_key=idempotency_key,
        )
        return ManualNotifyResult.model_validate(response.json())

    async def schedules(self) -> list[ScheduleInfo]:
        return _SCHEDULES.validate_python((await self._call("GET", "/v1/ops/schedules")).json())

    async def health(self) -> HealthReport:
        return HealthReport.model_validate((await self._call("GET", "/v1/ops/health")).json())

"""Staff alerts' channels, Meta templates and numbers over HTTP: part of
:class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from herald.http_base import OverHttp
from herald.staff_channels_store import TemplateMeta

_METAS = TypeAdapter(list[TemplateMeta])


class StaffChannelsOverHttp(OverHttp):
    async def set_group_channels(
        self, name: str, channels: list[str] | None, *, idempotency_key: str | None = None
    ) -> list[str] | None:
        response = await self._call(
            "PUT",
            f"/v1/groups/{name}/channels",
            json={"channels": channels},
            idempotency_key=idempotency_key,
        )
        found = response.json()["channels"]
        return list(found) if found is not None else None

    async def set_template_options(
        self,
        name: str,
        *,
        channels: list[str] | None = None,
        meta_template: str | None = None,
        meta_languages: dict[str, str] | None = None,
        meta_params: list[str] | None = None,
        meta_buttons: list[dict[str, Any]] | None = None,
        clear: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> TemplateMeta:
        body = {
            "channels": channels,
            "meta_template": meta_template,
            "meta_languages": meta_languages,
            "meta_params": meta_params,
            "meta_buttons": meta_buttons,
            "clear": clear,
        }
        response = await self._call(
            "PATCH",
            f"/v1/templates/{name}/options",
            json={k: v for k, v in body.items() if v is not None},
            idempotency_key=idempotency_key,
        )
        return TypeAdapter(TemplateMeta).validate_python(response.json())

    async def template_meta(self) -> list[TemplateMeta]:
        return _METAS.validate_python((await self._call("GET", "/v1/templates/meta")).json())

    async def sync_meta_templates(
        self, *, idempotency_key: str | None = None
    ) -> list[TemplateMeta]:
        response = await self._call(
            "POST", "/v1/templates/sync-meta", idempotency_key=idempotency_key
        )
        return _METAS.validate_python(response.json())

    async def staff_stats(self, hours: int = 24) -> dict[str, dict[str, dict[str, int]]]:
        response = await self._call("GET", "/v1/stats/staff", params={"hours": hours})
        doc: dict[str, dict[str, dict[str, int]]] = response.json()
        return doc

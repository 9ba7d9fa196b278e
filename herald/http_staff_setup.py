"""Groups and admin templates in bulk over HTTP: part of
:class:`herald.http_client.HttpHerald`."""

from __future__ import annotations

from typing import Any

from herald.http_base import OverHttp


class StaffSetupOverHttp(OverHttp):
    async def create_groups(
        self, groups: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> dict[str, list[str]]:
        response = await self._call(
            "POST", "/v1/groups/batch", json={"groups": groups}, idempotency_key=idempotency_key
        )
        doc = response.json()
        return {"created": list(doc["created"]), "existing": list(doc["existing"])}

    async def load_templates(
        self, templates: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> dict[str, list[str]]:
        response = await self._call(
            "POST",
            "/v1/templates/batch",
            json={"templates": templates},
            idempotency_key=idempotency_key,
        )
        doc = response.json()
        return {"created": list(doc["created"]), "updated": list(doc["updated"])}

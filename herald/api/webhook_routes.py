"""``/v1/webhooks``: the application's endpoints for Herald's events (ops keys only).

Each route is one call of the service layer. Answers carrying a secret (creating an
endpoint, rotating its secret) say ``Cache-Control: no-store``: they are never kept for an
``Idempotency-Key`` replay, so the secret is stored nowhere but on its endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from herald import outbound
from herald.api import models as m

if TYPE_CHECKING:
    from starter.client import Herald

NO_STORE = {"Cache-Control": "no-store"}


def webhook_announcer(herald: Herald) -> Callable[[str, dict[str, Any], str], Awaitable[None]]:
    """What the provider hooks call for each receipt and suppression: the application's
    event (``delivery.delivered``, ``subscriber.suppressed``…), if an endpoint wants it."""

    async def announce(type_: str, data: dict[str, Any], key: str) -> None:
        await outbound.announce(
            herald.store, herald.temporal, type_, data, key, settings=herald.settings
        )

    return announce


def webhook_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(
        prefix="/v1/webhooks",
        tags=["webhooks"],
        responses=problems,
        dependencies=[Depends(require_ops)],
    )

    def secret_shown(response: Response, doc: dict[str, Any]) -> m.WebhookWithSecret:
        response.headers.update(NO_STORE)
        return m.WebhookWithSecret(**doc)

    @r.post("", status_code=201, response_model=m.WebhookWithSecret)
    async def add_webhook(body: m.WebhookBody, response: Response) -> m.WebhookWithSecret:
        """Register an endpoint; the answer has its secret, shown this once."""
        doc = await herald.add_webhook(body.url, events=body.events, description=body.description)
        response.headers["Location"] = f"/v1/webhooks/{doc['id']}"
        return secret_shown(response, doc)

    @r.get("", response_model=list[m.WebhookOut])
    async def webhooks() -> list[m.WebhookOut]:
        """Every endpoint, oldest first, never with its secret."""
        return [m.WebhookOut(**doc) for doc in await herald.webhooks()]

    @r.post("/{endpoint_id}/enable", response_model=m.WebhookOut)
    async def enable_webhook(endpoint_id: str) -> m.WebhookOut:
        """Send to it again; its count of failures starts from zero."""
        return m.WebhookOut(**await herald.enable_webhook(endpoint_id))

    @r.post("/{endpoint_id}/disable", response_model=m.WebhookOut)
    async def disable_webhook(endpoint_id: str) -> m.WebhookOut:
        """Stop sending to it; its pending events stop at their next attempt."""
        return m.WebhookOut(**await herald.disable_webhook(endpoint_id))

    @r.delete("/{endpoint_id}", status_code=204, response_class=Response)
    async def remove_webhook(endpoint_id: str) -> Response:
        """Delete it and its attempts."""
        await herald.remove_webhook(endpoint_id)
        return Response(status_code=204)

    @r.post("/{endpoint_id}/rotate-secret", response_model=m.WebhookWithSecret)
    async def rotate_webhook_secret(endpoint_id: str, response: Response) -> m.WebhookWithSecret:
        """A new secret, signing every POST from now on; shown this once."""
        return secret_shown(response, await herald.rotate_webhook_secret(endpoint_id))

    @r.post("/{endpoint_id}/test", status_code=202, response_model=m.WebhookTestOut)
    async def test_webhook(endpoint_id: str) -> m.WebhookTestOut:
        """Send a ``webhook.test`` event to this endpoint only."""
        return m.WebhookTestOut(**await herald.test_webhook(endpoint_id))

    @r.get("/{endpoint_id}/attempts", response_model=list[m.WebhookAttemptOut])
    async def webhook_attempts(
        endpoint_id: str,
        limit: Annotated[int, Query(description="How many, newest first (1 to 500)")] = 50,
    ) -> list[m.WebhookAttemptOut]:
        """The endpoint's last POSTs: status code, error, duration."""
        rows = await herald.webhook_attempts(endpoint_id, limit=limit)
        return [m.WebhookAttemptOut(**row) for row in rows]

    return r

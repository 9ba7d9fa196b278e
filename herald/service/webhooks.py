"""Outbound webhooks: the application's URLs that receive Herald's events, signed with
their own secret (Standard Webhooks). The secret is shown when an endpoint is created or
its secret rotated, and never again."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from temporalio.service import RPCError

from herald import outbound
from herald.errors import Conflict, InvalidInput, NotFound
from herald.service.base import ServiceBase, temporal_refusal
from herald.validation import LIMITS, check_int, clean_text, optional_text, show

_ENDPOINT_ID = re.compile(r"ep_[a-z2-7]{24}")
MAX_ATTEMPTS_PAGE = 500


def check_webhook_url(url: object) -> str:
    """An http(s) URL with a host, no user name or password, no blank, within the limit."""
    text = clean_text(url, "webhook URL", limit=LIMITS["webhook_url"])
    reason = None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        reason = "not a valid URL"
    else:
        if parts.scheme not in ("http", "https") or not text.lower().startswith(
            f"{parts.scheme}://"
        ):
            reason = "use an http:// or https:// URL"
        elif "@" in parts.netloc:
            reason = "a webhook URL may not carry a user name or password"
        elif not parts.hostname:
            reason = "the URL has no host"
        elif re.search(r"\s", text):
            reason = "a webhook URL may not contain spaces"
    if reason:
        raise InvalidInput(f"invalid webhook URL {show(text)}: {reason}")
    return text


def check_events(events: object) -> list[str]:
    """Known event types or ``*`` (every type), at least one, each once."""
    if isinstance(events, str) or not isinstance(events, list | tuple):
        raise InvalidInput("events must be a list of event types")
    if not events:
        raise InvalidInput(
            f"give at least one event type: {', '.join(outbound.EVENT_TYPES)} or * for all"
        )
    chosen: list[str] = []
    for event in events:
        if not isinstance(event, str) or (
            event not in outbound.EVENT_TYPES and event != outbound.ALL_EVENTS
        ):
            raise InvalidInput(
                f"unknown event type {show(event)}: use {', '.join(outbound.EVENT_TYPES)} "
                "or * for all"
            )
        if event not in chosen:
            chosen.append(event)
    return chosen


def check_endpoint_id(endpoint_id: object) -> str:
    if not isinstance(endpoint_id, str) or not _ENDPOINT_ID.fullmatch(endpoint_id):
        raise InvalidInput(
            f"invalid webhook endpoint id {show(endpoint_id)}: ids look like ep_ and 24 "
            "letters or digits (herald webhook list)"
        )
    return endpoint_id


class WebhookService(ServiceBase):
    async def add_webhook(
        self, url: str, *, events: list[str], description: str | None = None
    ) -> dict[str, Any]:
        """Register an endpoint for these event types (``*``: all). The answer carries its
        ``secret``, shown this once: keep it to verify the signatures."""
        url = check_webhook_url(url)
        chosen = check_events(events)
        description = optional_text(description, "description")
        doc, secret = await asyncio.to_thread(
            outbound.create_endpoint, self.store, url, chosen, description
        )
        return {**doc, "secret": secret}

    async def webhooks(self) -> list[dict[str, Any]]:
        """Every endpoint, oldest first, without its secret."""
        return await asyncio.to_thread(outbound.list_endpoints, self.store)

    async def enable_webhook(self, endpoint_id: str) -> dict[str, Any]:
        """Enable an endpoint again; its count of failures starts from zero."""
        return await self._set_enabled(endpoint_id, True)

    async def disable_webhook(self, endpoint_id: str) -> dict[str, Any]:
        """Stop sending to an endpoint: its pending events stop at their next attempt."""
        return await self._set_enabled(endpoint_id, False)

    async def remove_webhook(self, endpoint_id: str) -> None:
        """Delete an endpoint and its attempts; its pending events stop."""
        check_endpoint_id(endpoint_id)
        if not await asyncio.to_thread(outbound.delete_endpoint, self.store, endpoint_id):
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")

    async def rotate_webhook_secret(self, endpoint_id: str) -> dict[str, Any]:
        """A new secret for the endpoint, signing every POST from now on; shown this once."""
        check_endpoint_id(endpoint_id)
        rotated = await asyncio.to_thread(outbound.rotate_secret, self.store, endpoint_id)
        if rotated is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        doc, secret = rotated
        return {**doc, "secret": secret}

    async def webhook_attempts(self, endpoint_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The endpoint's last POSTs, newest first: status code, error, duration."""
        check_int(limit, "the page size", low=1, high=MAX_ATTEMPTS_PAGE)
        await self._endpoint(endpoint_id)
        return await asyncio.to_thread(outbound.list_attempts, self.store, endpoint_id, limit=limit)

    async def test_webhook(self, endpoint_id: str) -> dict[str, Any]:
        """Send a ``webhook.test`` event to this endpoint only; answers the event's id and
        its workflow's."""
        endpoint = await self._endpoint(endpoint_id)
        if not endpoint["enabled"]:
            raise Conflict(
                f"webhook endpoint {endpoint_id} is disabled: enable it first "
                "(herald webhook enable)"
            )
        client = await self.temporal()
        # A new event each time: the key is unique to this call.
        key = f"{endpoint_id}/{secrets.token_hex(16)}"
        data = {"endpoint_id": endpoint_id, "message": "a test event from Herald"}
        eid = await asyncio.to_thread(
            outbound.insert_event, self.store, outbound.TEST_EVENT, data, key=key
        )
        try:
            await outbound.dispatch(client, eid, self.settings, store=self.store)
        except RPCError as err:
            raise temporal_refusal(err, f"test of webhook endpoint {endpoint_id}") from None
        return {"event_id": eid, "workflow_id": f"webhook-{eid}"}

    async def _endpoint(self, endpoint_id: str) -> dict[str, Any]:
        check_endpoint_id(endpoint_id)
        found = await asyncio.to_thread(outbound.get_endpoint, self.store, endpoint_id)
        if found is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        return found

    async def _set_enabled(self, endpoint_id: str, enabled: bool) -> dict[str, Any]:
        check_endpoint_id(endpoint_id)
        doc = await asyncio.to_thread(
            outbound.set_enabled, self.store, endpoint_id, enabled, "disabled by ops"
        )
        if doc is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        return doc

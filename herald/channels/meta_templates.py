"""Meta's message templates (``GET /{waba_id}/message_templates``): which WhatsApp
templates Meta approved, in which language, and why it rejected the others.

Each template of the WhatsApp Business Account comes back as ``{"name", "language",
"status", "rejected_reason"?}``; pages are followed through ``paging.next``."""

from __future__ import annotations

from typing import Any

import requests

from herald.settings import Settings

TIMEOUT = 20.0
MAX_PAGES = 50


def fetch_message_templates(
    settings: Settings, *, timeout: float = TIMEOUT
) -> list[dict[str, Any]]:
    """Every message template of ``HERALD_META_WABA_ID``; a RuntimeError (the access token
    never in it) when Meta cannot be read."""
    assert settings.meta_access_token is not None and settings.meta_waba_id
    token = settings.meta_access_token.get_secret_value()
    url: str | None = (
        f"{settings.meta_graph_url.rstrip('/')}/{settings.meta_api_version.strip('/')}"
        f"/{settings.meta_waba_id}/message_templates"
    )
    params: dict[str, Any] | None = {"fields": "name,language,status,rejected_reason", "limit": 100}
    found: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        try:
            response = requests.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            raise RuntimeError(
                f"Meta Graph API unreachable: {type(err).__name__}".replace(token, "***")
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise RuntimeError(
                f"Meta refused to list the message templates: HTTP {response.status_code}"
                + (f": {str(message)[:300]}" if message else "")
            )
        for t in body.get("data") or []:
            if isinstance(t, dict) and isinstance(t.get("name"), str):
                reason = t.get("rejected_reason")
                found.append(
                    {
                        "name": t["name"],
                        "language": str(t.get("language") or ""),
                        "status": str(t.get("status") or "UNKNOWN").upper(),
                        "rejected_reason": reason if reason and reason != "NONE" else None,
                    }
                )
        paging = body.get("paging")
        url = paging.get("next") if isinstance(paging, dict) else None
        params = None  # the next link carries them
    return found

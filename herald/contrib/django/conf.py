"""The ``HERALD = {...}`` dict of the Django settings, read into one typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

MODES = ("direct", "http")


@dataclass(frozen=True)
class HeraldConfig:
    mode: str = "direct"
    # direct: fields of herald.settings.Settings (lower or upper case); the environment fills
    # whatever is not given here.
    settings: dict[str, Any] = field(default_factory=dict)
    # http: the Herald API's address; the key comes from the environment (HERALD_API_KEY).
    api_url: str | None = None
    api_key: str | None = None
    relay_in_process: bool = False
    relay_batch: int = 200
    # Objects delivered side by side (each object's own items always one after another).
    relay_concurrency: int = 8
    relay_poll_seconds: float = 1.0
    # An item Herald could not take now is tried again after 2 s, 4 s, 8 s... at most 5 min.
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    # How long one call to Herald may take (more than Herald's own 30 s wait for a worker).
    timeout_seconds: float = 60.0
    # How long a relay owns an item it is delivering before another relay may take it.
    claim_seconds: float = 300.0
    open_loans: str | None = None
    closed_loans: str | None = None
    database: str = "default"


def raw_config() -> dict[str, Any] | None:
    value = getattr(settings, "HERALD", None)
    return value if isinstance(value, dict) else None


def herald_config() -> HeraldConfig:
    raw = {str(k).lower(): v for k, v in (raw_config() or {}).items()}
    known = HeraldConfig.__dataclass_fields__
    values = {k: v for k, v in raw.items() if k in known}
    if values.get("api_key") is None and os.environ.get("HERALD_API_KEY"):
        values["api_key"] = os.environ["HERALD_API_KEY"]
    return HeraldConfig(**values)

"""``manage.py check`` refuses a missing or invalid ``HERALD`` setting."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

from .conf import MODES, HeraldConfig, raw_config


@register()
def check_herald_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    raw = raw_config()
    if raw is None:
        return [
            Error(
                "HERALD is missing from the Django settings (or is not a dict).",
                hint='Add HERALD = {"MODE": "direct", "SETTINGS": {...}} or "http" with API_URL.',
                id="herald_outbox.E001",
            )
        ]
    problems: list[Any] = []
    keys = {str(k).lower() for k in raw}
    unknown = sorted(keys - set(HeraldConfig.__dataclass_fields__))
    if unknown:
        problems.append(
            Warning(f"HERALD has unknown keys: {', '.join(unknown)}.", id="herald_outbox.W001")
        )
    values = {str(k).lower(): v for k, v in raw.items()}
    mode = values.get("mode", "direct")
    if mode not in MODES:
        problems.append(
            Error(f'HERALD["MODE"] is {mode!r}; use "direct" or "http".', id="herald_outbox.E002")
        )
    if mode == "http" and not values.get("api_url"):
        problems.append(
            Error('HERALD["API_URL"] is needed in "http" mode.', id="herald_outbox.E003")
        )
    if mode == "direct":
        try:
            from herald.settings import Settings

            Settings(**{str(k).lower(): v for k, v in (values.get("settings") or {}).items()})
        except Exception as err:
            problems.append(
                Error(
                    f'HERALD["SETTINGS"] are not valid Herald settings: {" ".join(str(err).split())[:300]}',
                    id="herald_outbox.E004",
                )
            )
    for name in ("open_loans", "closed_loans"):
        path = values.get(name)
        if path is None:
            continue
        try:
            target = import_string(path)
        except ImportError as err:
            problems.append(
                Error(
                    f'HERALD["{name.upper()}"] cannot be imported: {err}', id="herald_outbox.E005"
                )
            )
            continue
        if not callable(target):
            problems.append(
                Error(f'HERALD["{name.upper()}"] is not callable.', id="herald_outbox.E005")
            )
    for name in (
        "relay_batch",
        "relay_concurrency",
        "relay_poll_seconds",
        "backoff_base_seconds",
        "backoff_max_seconds",
        "claim_seconds",
        "timeout_seconds",
    ):
        value = values.get(name)
        whole = name in ("relay_batch", "relay_concurrency")
        kinds = int if whole else int | float
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, kinds) or value <= 0
        ):
            what = "a positive whole number" if whole else "a positive number"
            problems.append(
                Error(f'HERALD["{name.upper()}"] must be {what}.', id="herald_outbox.E006")
            )
    return problems

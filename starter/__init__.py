"""How applications talk to Herald: the async client, its sync facade and the CLI.

The names are loaded on first use, so that ``herald --help`` (which lives in this package)
does not pay for the Temporal client and the database it never touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starter.client import Herald, LoanStarted, Started
    from starter.sync import SyncHerald

__all__ = ["Herald", "LoanStarted", "Started", "SyncHerald"]

_HOMES = {
    "Herald": "starter.client",
    "LoanStarted": "starter.client",
    "Started": "starter.client",
    "SyncHerald": "starter.sync",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value

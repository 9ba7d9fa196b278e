"""Herald's HTTP API (FastAPI): :func:`create_app` over one ``Herald`` object.

Imported lazily, so the command line starts without loading the web stack."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from herald.api.app import create_app

        return create_app
    raise AttributeError(name)

"""Waiting in the end-to-end tests: on conditions, never on the clock.

Every wait ends as soon as its condition holds; ``GUARD`` only stops a test that hangs,
and is several minutes so a slow, loaded machine is never mistaken for a broken one.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

GUARD = 300.0


async def until(
    check: Callable[[], object | Awaitable[object]], guard: float = GUARD, interval: float = 0.2
) -> object:
    """Poll ``check`` (plain or async) until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + guard
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition still false after the {guard}s hang guard: {value!r}")
        await asyncio.sleep(interval)

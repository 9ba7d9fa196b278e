"""The console's pages, one module each: a page is its :data:`PAGE` (its place in the
navigation and its router), registered by naming its module in :data:`PAGE_MODULES`.

To add a page: write ``herald/console/pages/NAME.py`` with
``PAGE = ConsolePage(slug=..., path=..., order=..., build=build_router)`` where
``build_router(console)`` answers an ``APIRouter`` whose routes call the service layer and
render ``templates/console/NAME.html`` with ``console.render(...)``; put its strings in
:mod:`herald.console.i18n` (both languages) and its module name below. ``order`` places it
in the navigation: 10, 20, … are taken, in steps of ten, so a page goes between two others
or after the last.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from herald.console.app import Console

PAGE_MODULES: tuple[str, ...] = (
    "herald.console.pages.dashboard",
    "herald.console.pages.failures",
    "herald.console.pages.test_send",
    "herald.console.pages.templates",
    "herald.console.pages.objects",
    "herald.console.pages.health",
)


@dataclass(frozen=True)
class ConsolePage:
    """One page of the console: ``slug`` names it (its title is ``nav.<slug>`` in the
    catalogue), ``path`` is its address under /console ("/" for the dashboard), ``order``
    its place in the navigation, ``build`` its router's maker."""

    slug: str
    path: str
    order: int
    build: Callable[[Console], APIRouter]

    @property
    def title_key(self) -> str:
        return f"nav.{self.slug}"


def load_pages(modules: tuple[str, ...] = PAGE_MODULES) -> list[ConsolePage]:
    """Every registered page, in navigation order; two pages may not share a slug, a path
    or a place."""
    pages = [importlib.import_module(name).PAGE for name in modules]
    for attribute in ("slug", "path", "order"):
        values = [getattr(p, attribute) for p in pages]
        if len(values) != len(set(values)):
            raise ValueError(f"two console pages share a {attribute}: {sorted(map(str, values))}")
    return sorted(pages, key=lambda p: p.order)

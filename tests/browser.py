"""Headless Chromium for the pages' tests: Debian's build (``apt-get install chromium``),
driven by Playwright through ``executable_path``; Playwright never downloads a browser.

Screenshots are kept under ``test-artifacts/screenshots/`` (or ``HERALD_ARTIFACTS``) so a
person can look at every page after a run."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import IN_CI

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("HERALD_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts")
)
# Flags for a closed network: no background fetches to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def chromium() -> str:
    if shutil.which(CHROMIUM):
        return CHROMIUM
    if IN_CI:
        pytest.fail(f"{CHROMIUM} missing in CI: .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    executable = chromium()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def context(
    browser: Browser, *, locale: str = "en-GB", timezone: str = "Europe/Paris", phone: bool = False
) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        locale=locale,
        timezone_id=timezone,
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=1,
    )
    # A hang guard, not a timing assertion: a shared, noisy machine may be slow.
    ctx.set_default_timeout(60_000)
    try:
        yield ctx
    finally:
        await ctx.close()


async def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot as a test artefact; answers its path."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path

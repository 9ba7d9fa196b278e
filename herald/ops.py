"""Ops commands: ``herald migrate``, ``herald setup``, ``herald doctor``."""

from __future__ import annotations

import asyncio

from herald.channels import build_provider
from herald.kinds import ALL_CHANNELS
from herald.schedules import apply_schedules, describe_schedules
from herald.settings import Settings
from herald.store import Store, is_migrated
from herald.store import migrate as migrate_store
from herald.temporal import connect, missing_search_attributes, register_search_attributes


async def migrate(settings: Settings) -> int:
    store = Store.from_url(settings.resolved_database_url)
    try:
        await asyncio.to_thread(migrate_store, store.engine)
    finally:
        store.close()
    print(f"database migrated: {store.engine.url.render_as_string(hide_password=True)}")
    return 0


async def setup(settings: Settings) -> int:
    """Idempotent: migrate the database and register Herald's search attributes."""
    await migrate(settings)
    client = await connect(settings)
    added = await register_search_attributes(client)
    print(
        f"search attributes on namespace {settings.temporal_namespace}: "
        + (f"registered {', '.join(added)}" if added else "all present")
    )
    for schedule_id, outcome in await apply_schedules(client, settings):
        print(f"schedule {schedule_id}: {outcome}")
    return 0


async def schedules(settings: Settings) -> int:
    client = await connect(settings)
    for info in await describe_schedules(client):
        nxt = ", ".join(t.isoformat() for t in info.next_runs) or "-"
        state = "paused" if info.paused else "active"
        print(f"{info.id}: {info.workflow}, {state}, next {nxt}, {info.recent_runs} recent run(s)")
    return 0


async def doctor(settings: Settings) -> int:
    """Check each dependency; print what is wrong and how to fix it. Exit 1 if anything is."""
    problems: list[str] = []
    try:
        client = await asyncio.wait_for(connect(settings), 10)
    except Exception as err:  # noqa: BLE001 - reported, not raised
        problems.append(
            f"Temporal at {settings.temporal_address} unreachable ({err}); set TEMPORAL_ADDRESS "
            "or start one (herald dev)"
        )
    else:
        print(
            f"ok: Temporal at {settings.temporal_address}, namespace {settings.temporal_namespace}"
        )
        try:
            missing = await missing_search_attributes(client)
        except Exception as err:  # noqa: BLE001
            problems.append(f"cannot list search attributes: {err}")
        else:
            if missing:
                problems.append(
                    f"search attributes missing: {', '.join(missing)}; run 'herald setup'"
                )
            else:
                print("ok: search attributes registered")
    store = Store.from_url(settings.resolved_database_url)
    url = store.engine.url.render_as_string(hide_password=True)
    try:
        if await asyncio.to_thread(is_migrated, store.engine):
            print(f"ok: database {url} migrated")
        else:
            problems.append(f"database {url} not migrated; run 'herald migrate'")
    except Exception as err:  # noqa: BLE001
        problems.append(
            f"database {url} unreachable ({type(err).__name__}); check HERALD_DATABASE_URL"
        )
    finally:
        store.close()
    for channel in ALL_CHANNELS:
        for name in settings.provider_chain(channel):
            try:
                build_provider(name, channel, settings)
            except Exception as err:  # noqa: BLE001 - reported, not raised
                problems.append(f"{channel.value} provider {name}: {err}")
            else:
                print(f"ok: {channel.value} provider {name} configured")
    for p in problems:
        print(f"problem: {p}")
    return 1 if problems else 0

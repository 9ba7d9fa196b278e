"""Ops commands: ``herald migrate``, ``herald setup``, ``herald doctor``, ``herald
schedules``. The checks and the schedules' descriptions are :mod:`herald.health`'s and
:mod:`herald.schedules`' (the service layer answers the same); these print them."""

from __future__ import annotations

import asyncio
import json

from herald import health
from herald.health import feedback_notes
from herald.schedules import ScheduleInfo, apply_schedules, describe_schedules
from herald.settings import Settings
from herald.store import Store
from herald.store import migrate as migrate_store
from herald.temporal import connect, data_converter, register_search_attributes

__all__ = ["check_encryption", "doctor", "feedback_notes", "migrate", "schedules", "setup"]


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
    data_converter(settings)  # HERALD_REQUIRE_ENCRYPTION without keys: refuse before migrating
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


async def schedules(settings: Settings, *, as_json: bool = False) -> int:
    client = await connect(settings)
    infos = await describe_schedules(client, settings)
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in infos], indent=2))
        return 0
    for info in infos:
        print_schedule(info)
    return 0


def print_schedule(info: ScheduleInfo) -> None:
    if not info.exists:
        print(f"{info.id}: not created; run 'herald setup'")
        return
    nxt = ", ".join(t.isoformat() for t in info.next_runs) or "-"
    state = "paused" if info.paused else "active"
    print(f"{info.id}: {info.workflow}, {state}, next {nxt}, {len(info.recent_runs)} recent run(s)")
    for run in info.recent_runs:
        closed = f", closed {run.closed_at.isoformat()}" if run.closed_at else ""
        print(
            f"  - {run.started_at.isoformat()} {run.workflow_id}: {run.status or 'unknown'}{closed}"
        )


async def doctor(settings: Settings, *, as_json: bool = False) -> int:
    """Check each dependency; print what is wrong and how to fix it. Exit 1 if anything is."""
    report = await health.run_checks(settings)
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        for check in report.checks:
            if check.status != "problem":
                print(f"{check.status}: {check.detail}")
        for problem in report.problems:
            print(f"problem: {problem}")
    return 0 if report.ok else 1


async def check_encryption(settings: Settings) -> list[str]:
    """The keys, the codec server and the UI's wiring to it: prints what is fine, returns
    the problems."""
    found = health.Findings()
    await health.check_encryption(settings, found)
    for check in found.checks:
        if check.status != "problem":
            print(f"{check.status}: {check.detail}")
    return found.report().problems

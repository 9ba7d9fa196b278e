"""One Temporal dev server for the package's tests (visibility needs it: the time-skipping
server lists nothing), Herald's workers on it, SQLite and the outbox. Each test's ids
start with the package's tag and a name of its own, and it searches for those only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from herald.contracts import FollowUpInput, LoanInput
from herald.objects import ObjectPage
from herald.policy import load_policy
from herald.search_attributes import (
    ALL_KEYS,
    ASSIGNEE_ID,
    BORROWER_ID,
    DUE_AT,
    FOLLOWUP_STATUS,
    LOAN_STATUS,
)
from herald.settings import Settings
from herald.store import Store, migrate
from herald.temporal import DATA_CONVERTER
from starter.client import Herald, followup_workflow_id, loan_workflow_id
from tests.conftest import eventually, installed_binary
from worker import running_workers
from workflows.followup import FollowUpWorkflow
from workflows.loan import LoanWorkflow

UI = "http://temporal-ui.example:8233"

# Visibility is eventually consistent: listings are waited for, under a generous guard.
GUARD = 60.0


async def listed(
    ops: Ops, kind: str, state: str, *ids: str, search: str | None = None, **kw: object
) -> ObjectPage:
    """The page, once the objects it lists (the search defaults to the tag) are ``ids``."""
    want = set(ids)
    last: list[ObjectPage] = []

    async def check() -> bool:
        page = await ops.herald.objects(kind, state=state, search=search or ops.tag, **kw)  # type: ignore[arg-type]
        last[:] = [page]
        return {r.id for r in page.items} == want

    try:
        await eventually(check, timeout=GUARD, interval=0.2)
    except AssertionError:
        seen = [r.id for r in last[0].items] if last else None
        raise AssertionError(f"{kind} {state}: listed {seen}, want {sorted(want)}") from None
    return last[0]


def close(a: datetime | None, b: datetime) -> bool:
    """Equal to the millisecond (visibility keeps instants to its own precision)."""
    return a is not None and abs((a - b).total_seconds()) < 0.001


@dataclass
class Ops:
    env: WorkflowEnvironment
    herald: Herald
    store: Store
    settings: Settings
    tag: str  # every id starts with it: nothing else on the server matches

    def id(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def row(self, subject_id: str, notification_id: str, channel: str) -> dict[str, Any]:
        """The delivery-log row of one notification of a subject on one channel."""
        from herald.store import delivery_as_dict

        (row,) = [
            delivery_as_dict(r)
            for r in self.store.list_deliveries(subject_id=subject_id)
            if r.notification_id == notification_id and r.channel == channel
        ]
        return row

    async def start_past_due_loan(self, loan_id: str, borrower_id: str) -> datetime:
        """A loan whose due time passed a day ago, as a loan does once time has run:
        Herald's own workflow, started with dates the client refuses for a new loan."""
        now = datetime.now(UTC)
        due = now - timedelta(days=1)
        await self.herald.client.start_workflow(
            LoanWorkflow.run,
            LoanInput(
                loan_id=loan_id,
                borrower_id=borrower_id,
                item="Perceuse",
                borrowed_at=now - timedelta(days=10),
                due_at=due,
                timezone="Europe/Paris",
                policy=self.herald.policy,
            ),
            id=loan_workflow_id(loan_id),
            task_queue=self.settings.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(LOAN_STATUS, "ACTIVE"),
                    SearchAttributePair(DUE_AT, due),
                    SearchAttributePair(BORROWER_ID, borrower_id),
                ]
            ),
        )
        return due

    async def start_loan_unworked(self, loan_id: str, borrower_id: str, due: datetime) -> None:
        """A loan on a task queue no worker polls: visible, but nobody answers for it."""
        now = datetime.now(UTC)
        await self.herald.client.start_workflow(
            LoanWorkflow.run,
            LoanInput(
                loan_id=loan_id,
                borrower_id=borrower_id,
                item="Perceuse",
                borrowed_at=now,
                due_at=due,
                timezone="Europe/Paris",
                policy=self.herald.policy,
            ),
            id=loan_workflow_id(loan_id),
            task_queue=f"{self.settings.task_queue}-nobody",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(LOAN_STATUS, "ACTIVE"),
                    SearchAttributePair(DUE_AT, due),
                    SearchAttributePair(BORROWER_ID, borrower_id),
                ]
            ),
        )

    async def start_past_due_followup(self, followup_id: str, assignee_id: str) -> datetime:
        now = datetime.now(UTC)
        due = now - timedelta(days=1)
        await self.herald.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(
                followup_id=followup_id,
                title="Rappeler",
                assignee_id=assignee_id,
                due_at=due,
                timezone="Europe/Paris",
                policy=load_policy("followup"),
                created_at=now - timedelta(days=5),
                manager_ids=[assignee_id],
            ),
            id=followup_workflow_id(followup_id),
            task_queue=self.settings.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(FOLLOWUP_STATUS, "OPEN"),
                    SearchAttributePair(DUE_AT, due),
                    SearchAttributePair(ASSIGNEE_ID, assignee_id),
                ]
            ),
        )
        return due


@asynccontextmanager
async def ops_stack(folder: Path) -> AsyncIterator[Ops]:
    """A dev server with Herald's search attributes, SQLite in ``folder``, the outbox for
    e-mail, three people and the managers' groups, and Herald's workers on it."""
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=ALL_KEYS,
    )
    settings = Settings(
        task_queue=f"ops-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{folder / 'herald.db'}",
        email_provider="outbox",
        outbox_dir=folder / "outbox",
        temporal_ui_url=UI,
        temporal_address=env.client.service_client.config.target_host,
    )
    store = Store.from_url(settings.resolved_database_url)
    migrate(store.engine)
    herald = Herald(env.client, store, settings)
    for sid in ("camille", "sam", "ana"):
        await herald.upsert_subscriber(
            sid, name=sid.title(), email=f"{sid}@example.org", timezone="Europe/Paris"
        )
    await herald.create_group("sales-managers")
    await herald.add_to_group("sales-managers", ["sam"])
    await herald.create_group("repair-managers")
    await herald.add_to_group("repair-managers", ["sam"])
    try:
        async with running_workers(env.client, settings, store):
            yield Ops(env, herald, store, settings, uuid.uuid4().hex[:6])
    finally:
        store.close()
        await env.shutdown()


@pytest.fixture(scope="package")
async def ops(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ops]:
    async with ops_stack(tmp_path_factory.mktemp("ops")) as stack:
        yield stack


@pytest.fixture
def cli_env(ops: Ops, monkeypatch: pytest.MonkeyPatch) -> Ops:
    """The environment a ``herald`` command reads, pointing at the package's stack."""
    s = ops.settings
    monkeypatch.setenv("TEMPORAL_ADDRESS", s.temporal_address)
    monkeypatch.setenv("HERALD_DATABASE_URL", str(s.database_url))
    monkeypatch.setenv("HERALD_TASK_QUEUE", s.task_queue)
    monkeypatch.setenv("HERALD_EMAIL_PROVIDER", "outbox")
    monkeypatch.setenv("HERALD_OUTBOX_DIR", str(s.outbox_dir))
    monkeypatch.setenv("HERALD_TEMPORAL_UI_URL", UI)
    return ops

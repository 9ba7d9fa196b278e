"""``herald worker --processes N`` on the real dev server: N processes share the queues,
deliver everything once, stop together on SIGTERM, and stop together when one dies."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from starter.cli import EXIT_FAILURE, EXIT_INVALID, EXIT_OK, main
from tests.e2e.test_loan_e2e import dev_server  # noqa: F401  (fixture)
from tests.e2e.test_resilience import (
    HERALD,
    Bench,
    bench,  # noqa: F401  (fixture)
    reminder_mails,
    start_burst,
)
from tests.e2e.waiting import GUARD, until

pytestmark = pytest.mark.e2e


async def poller_pids(stack: Bench, queue: str, kind: TaskQueueType.ValueType) -> set[int]:
    """The processes polling ``queue`` now (Temporal's default identity is ``pid@host``)."""
    client = stack.herald.client
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=queue), task_queue_type=kind
        )
    )
    return {int(p.identity.split("@", 1)[0]) for p in answer.pollers}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(stack: Bench, processes: str) -> subprocess.Popen[bytes]:
    out = open(stack.log, "ab")  # noqa: SIM115 - owned by the process
    proc = subprocess.Popen(
        [HERALD, "worker", "--processes", processes], env=stack.env, stdout=out, stderr=out
    )
    stack.worker = proc
    return proc


async def both_polling(stack: Bench, parent: int) -> set[int]:
    queue = stack.env["HERALD_TASK_QUEUE"]

    async def children() -> set[int] | None:
        workflows = await poller_pids(stack, queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
        emails = await poller_pids(stack, f"{queue}-email", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
        live = {pid for pid in workflows if alive(pid)}
        return live if len(live) == 2 and live == {p for p in emails if alive(p)} else None

    found = await until(children, interval=0.5)
    assert isinstance(found, set) and parent not in found
    return found


async def test_two_processes_share_the_queues_deliver_once_and_stop_together(
    bench: Bench,  # noqa: F811
) -> None:
    proc = start(bench, "2")
    pids = await both_polling(bench, proc.pid)
    await start_burst(bench, 20, timedelta(seconds=15))
    await until(lambda: len(bench.reminders_sent()) == 20)
    mails = reminder_mails(bench)
    assert sorted(mails) == sorted(f"p{i:03d}@example.org" for i in range(20))  # once each

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=GUARD) == EXIT_OK
    assert not any(alive(pid) for pid in pids)


async def test_one_process_dying_stops_the_others_and_fails(bench: Bench) -> None:  # noqa: F811
    proc = start(bench, "2")
    first, second = sorted(await both_polling(bench, proc.pid))
    os.kill(first, signal.SIGKILL)
    assert proc.wait(timeout=GUARD) == EXIT_FAILURE
    await until(lambda: not alive(second))
    log = bench.log.read_text()
    assert f"(pid {first}) exited with status -9: the other processes were stopped" in log


@pytest.mark.parametrize("value", ["0", "65", "two", "-1", "1\n2", "9" * 500])
def test_a_process_count_out_of_range_is_refused_before_anything_starts(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker", "--processes", value]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--processes takes a number from 1 to 64" in err
    assert len(err) < 200

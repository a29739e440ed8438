"""Side tasks run supervised: one that crashes, or stops on its own, is logged and restarted."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from core.supervision import supervise, wait_until_set


async def test_a_side_task_that_dies_is_restarted_until_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    settled = asyncio.Event()

    async def work() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run crashes")
        if len(runs) == 2:
            return  # second run stops on its own
        settled.set()
        await asyncio.Event().wait()

    task = supervise("test worker", work)
    await asyncio.wait_for(settled.wait(), timeout=5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert len(runs) == 3
    assert task.cancelled()
    crashed, stopped = [r for r in caplog.records if r.name == "core.supervision"]
    assert crashed.getMessage() == "test worker crashed; restarting it in 0.1 s"
    assert crashed.exc_info is not None
    assert stopped.getMessage() == "test worker stopped on its own; restarting it in 0.2 s"
    assert getattr(stopped, "action", None) == "task.restart"


async def test_a_task_stopped_as_its_wake_up_arrives_stops() -> None:
    """The scheduler loop once never stopped: a wake-up set just before `stop()` made
    Python 3.11's `asyncio.wait_for` return the event instead of the cancellation."""
    wake = asyncio.Event()
    passes: list[int] = []

    async def idle_loop() -> None:
        while True:
            passes.append(1)
            wake.clear()
            await wait_until_set(wake, 30)

    task = asyncio.create_task(idle_loop())
    await asyncio.sleep(0)  # its first pass runs and waits for a wake-up
    assert passes == [1]
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)

    assert done == {task}
    assert task.cancelled()
    assert len(passes) == 1

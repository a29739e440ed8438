"""Side tasks run supervised: one that crashes, or stops on its own, is logged and restarted."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from core.supervision import supervise


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

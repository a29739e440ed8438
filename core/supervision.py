"""Long-lived side tasks that must not die quietly (the outcome writer, the lease keeper, the
due-job loop, the delivery worker): each runs under a supervisor that logs a crash whole and
starts the task again, as procrastinate supervises its worker's side tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger("core.supervision")

RESTART_DELAY_SECONDS = 0.1
RESTART_DELAY_MAX_SECONDS = 5.0
# A task that ran this long before it died starts again at once, not after the longest delay.
HEALTHY_AFTER_SECONDS = 60.0


def supervise(name: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    """Run `work` in a task of its own for as long as the task is not cancelled: whenever it
    raises (or returns), log it and start it again, waiting longer after each quick crash."""
    return asyncio.create_task(_supervised(name, work), name=name)


async def _supervised(name: str, work: Callable[[], Awaitable[None]]) -> None:
    delay = RESTART_DELAY_SECONDS
    while True:
        started = time.monotonic()
        try:
            await work()
        except Exception:
            logger.exception(
                "%s crashed; restarting it in %.1f s", name, delay, extra=_fields(name)
            )
        else:
            logger.error(
                "%s stopped on its own; restarting it in %.1f s", name, delay, extra=_fields(name)
            )
        if time.monotonic() - started >= HEALTHY_AFTER_SECONDS:
            delay = RESTART_DELAY_SECONDS
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESTART_DELAY_MAX_SECONDS)


class SupervisedTask:
    """One supervised side task with the start / is-running / stop life cycle its owner exposes."""

    def __init__(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._work = work
        self._task: asyncio.Task[None] | None = None

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = supervise(self.name, self._work)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def wait_until_set(event: asyncio.Event, timeout_seconds: float) -> bool:
    """Wait for `event` at most `timeout_seconds`; True when it was set.

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives as the
    event is set, so a task stopped just after a wake-up would never stop (gh-86296)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_seconds):
            await event.wait()
    return event.is_set()


def _fields(name: str) -> dict[str, str]:
    return {"action": "task.restart", "task": name}

"""`python -m scheduler`: the scheduler as a process of its own, beside or instead of the one
inside the API. Run as many as you like against one PostgreSQL database."""

from __future__ import annotations

import asyncio
import logging
import signal

from core.clock import SystemClock
from core.config import get_settings
from core.logging import configure_logging
from scheduler.runtime import running_scheduler

logger = logging.getLogger("scheduler")


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_scheduler(settings, SystemClock(), start_loop=True):
        await stop.wait()
        logger.info("stopping: finishing runs in flight")


if __name__ == "__main__":
    asyncio.run(main())

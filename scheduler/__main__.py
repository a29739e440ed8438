"""`python -m scheduler`: the scheduler as a process of its own, beside or instead of the one
inside the API. Run as many as you like against one PostgreSQL database; on SQLite only one
scheduler runs (see scheduler/single_node.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from core.clock import SystemClock
from core.config import get_settings
from core.logging import configure_logging
from scheduler.runtime import running_scheduler
from scheduler.single_node import SchedulerAlreadyRunning

logger = logging.getLogger("scheduler")

DESCRIPTION = """\
Run the cron job scheduler: fire due jobs, retry failed runs and send alerts, until SIGINT or
SIGTERM (runs in flight are given time to finish). Configuration comes from the environment
or .env, as for the API: DATABASE_URL, SCHEDULER_POLL_SECONDS, SCHEDULER_MAX_CONCURRENCY, ...

On PostgreSQL, any number of schedulers (and API processes with SCHEDULER_ENABLED=true) share
the work. On SQLite only one may run: start the API with SCHEDULER_ENABLED=false to run the
scheduler here instead; a second one refuses to start.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scheduler",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.parse_args(argv)


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_scheduler(settings, SystemClock(), start_loop=True):
        await stop.wait()
        logger.info("stopping: finishing runs in flight", extra={"action": "scheduler.stopping"})


if __name__ == "__main__":
    parse_args()
    try:
        asyncio.run(main())
    except SchedulerAlreadyRunning as exc:
        sys.exit(f"error: {exc}")

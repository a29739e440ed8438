"""Scheduler benchmark: N jobs all due in the same second, fired at a local target.

    python -m loadtest.scheduler_bench [--jobs 1000 10000] [--schedulers 1]

Creates a throwaway PostgreSQL database (TEST_DATABASE_URL or the local server), inserts the
jobs with the same next run, starts the scheduler(s) with the real clock and reports:
lateness (arrival at the target minus the slot) p50/p99/max, fires per second, duplicates
(from the unique slot index and from the target's idempotency keys; both must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import func, insert, select

from core import db
from core.clock import SystemClock
from core.config import Settings
from models import Job, JobExecution
from models.enums import ExecutionStatus
from scheduler.runtime import running_scheduler
from tests.support import databases


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _run(
    job_count: int, scheduler_count: int, database_url: str, target_url: str
) -> dict[str, float]:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        environment="test",
        allow_private_targets=True,
        scheduler_max_concurrency=500,
        scheduler_batch_size=500,
        db_pool_size=20,
    )
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    rows = [
        {
            "id": uuid.uuid4(),
            "name": f"bench-{i}",
            "cron_expression": "0 0 1 1 *",
            "timezone": "UTC",
            "target_url": f"{target_url}/hook",
            "http_method": "POST",
            "job_metadata": {"n": i},
            "category": "general",
            "pic_team": "bench",
            "end_date": date(2099, 1, 1),
            "notification_emails": [],
            "next_run_at": due,
        }
        for i in range(job_count)
    ]
    engine = db.create_engine(settings)
    async with db.create_sessionmaker(engine).begin() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Job), rows[start : start + 1000])
    await engine.dispose()
    async with contextlib.AsyncExitStack() as stack:
        schedulers = [
            await stack.enter_async_context(
                running_scheduler(settings, SystemClock(), start_loop=True)
            )
            for _ in range(scheduler_count)
        ]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            async with schedulers[0].sessionmaker() as session:
                finished = await session.scalar(
                    select(func.count())
                    .select_from(JobExecution)
                    .where(JobExecution.status != ExecutionStatus.RUNNING)
                )
            if (finished or 0) >= job_count:
                break
            await asyncio.sleep(0.2)
        async with schedulers[0].sessionmaker() as session:
            slots = await session.scalar(select(func.count()).select_from(JobExecution))
            distinct = await session.scalar(
                select(func.count()).select_from(
                    select(JobExecution.job_id, JobExecution.scheduled_for).distinct().subquery()
                )
            )
            succeeded = await session.scalar(
                select(func.count())
                .select_from(JobExecution)
                .where(JobExecution.status == ExecutionStatus.SUCCESS)
            )
    async with httpx.AsyncClient() as client:
        stats = (await client.get(f"{target_url}/stats")).json()
    lateness = stats["lateness"]
    span = max(stats["last_arrival"] - due.timestamp(), 1e-9)
    return {
        "jobs": job_count,
        "schedulers": scheduler_count,
        "received": stats["received"],
        "succeeded": succeeded or 0,
        "lateness_p50_ms": 1000 * _percentile(lateness, 0.50),
        "lateness_p99_ms": 1000 * _percentile(lateness, 0.99),
        "lateness_max_ms": 1000 * max(lateness),
        "fires_per_second": stats["received"] / span,
        "duplicate_rows": (slots or 0) - (distinct or 0),
        "duplicate_deliveries": stats["duplicates"],
    }


async def _bench(job_count: int, scheduler_count: int) -> dict[str, float]:
    server = databases.server_url()
    database_url = await databases.create_migrated_database(server)
    port = _free_port()
    target = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "loadtest.target_server", str(port)
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                with contextlib.suppress(httpx.TransportError):
                    await client.get(f"http://127.0.0.1:{port}/stats")
                    break
                await asyncio.sleep(0.1)
        return await _run(job_count, scheduler_count, database_url, f"http://127.0.0.1:{port}")
    finally:
        target.terminate()
        await target.wait()
        await databases.drop_database(server, database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--schedulers", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for job_count in args.jobs:
        result = asyncio.run(_bench(job_count, args.schedulers))
        print(json.dumps(result))
        print(
            f"{job_count:>6} jobs, {args.schedulers} scheduler(s): lateness "
            f"p50 {result['lateness_p50_ms']:.0f} ms, p99 {result['lateness_p99_ms']:.0f} ms, "
            f"max {result['lateness_max_ms']:.0f} ms; {result['fires_per_second']:.0f} fires/s; "
            f"duplicates {result['duplicate_rows']} rows, "
            f"{result['duplicate_deliveries']} deliveries"
        )


if __name__ == "__main__":
    main()

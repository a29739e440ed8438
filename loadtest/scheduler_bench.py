"""Scheduler benchmark: N jobs all due in the same second, fired at a local target.

    python -m loadtest.scheduler_bench [--jobs 1000 10000] [--processes 1] [--spread-seconds 0]

Creates a throwaway PostgreSQL database (TEST_DATABASE_URL or the local server), inserts the
jobs with the same next run (or spread evenly over `--spread-seconds`), starts
`python -m scheduler` in as many processes as asked (real processes sharing the work through
FOR UPDATE SKIP LOCKED) and reports: lateness (arrival at the target minus the slot)
p50/p99/max, fires per second, and duplicates, counted twice: executions per (job, slot) in
the database and idempotency keys seen by the target. Both must be 0.

Then, in the same run, the client ceiling: the same N requests fired at a fresh target by the
guarded HTTP client alone (`loadtest/bare_client.py`, as many processes, no database), and
the ratio of the scheduler's fires/s to it. On a shared machine the ratio is the figure that
counts; the load average before and after each run is printed beside it, and so is the CPU
time per run of the scheduler processes and per call of the bare client (what the scheduler
spends beyond the call itself: claims, rows, outcomes).

`--profile` samples every scheduler process with py-spy (the `loadtest` extra) while it fires
and writes loadtest/results/profile-scheduler-<jobs>-<process>.txt.

`--purge-rows N` seeds N executions past EXECUTION_RETENTION_DAYS (the bench jobs' history,
`loadtest/retention_load.py`) before the schedulers start, and runs the retention purge (the
real RetentionWorker and rules, a task of this process) from a second before the slots come due;
it reports the rows purged while the schedulers fired and how long the whole purge took. Compare
the lateness with `--seed-only` (the same rows seeded, nothing purged: the same table without
the purge).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Interval, bindparam, func, insert, select, update

from core import db
from core.config import Settings
from core.enums import ExecutionStatus
from core.secrets import secret_box
from loadtest.retention_load import PurgeRun, seed_expired_executions
from loadtest.run import RESULTS, summarize_profile
from models import Job, JobExecution
from scheduler.retention import RETENTION_PAUSE_RATIO
from services import job_secrets
from tests.support import databases

SECONDS_UNTIL_DUE = 8
FINISH_WITHIN_SECONDS = 180
CONCURRENCY = "500"  # SCHEDULER_MAX_CONCURRENCY, and the bare client's requests in flight


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _start(
    *args: str, env: dict[str, str] | None = None, stdout: int | None = None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", *args, env=env, stdout=stdout)


async def _stop(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    await process.wait()


# Seeded this far ahead, then moved to just ahead of now once the schedulers are up: seeding
# 100,000 rows takes longer than any lead time would allow.
SEED_OFFSET = timedelta(days=3650)


async def _seed(settings: Settings, job_count: int, target_url: str, spread_seconds: float) -> None:
    base = datetime.now(UTC).replace(microsecond=0) + SEED_OFFSET
    step = timedelta(seconds=spread_seconds / job_count)
    box = secret_box(settings)
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
            "next_run_at": base + i * step,
            # As the API creates jobs: with a signing secret (or the first claim makes one).
            "signing_secret": job_secrets.new_signing_secret(box)[1],
        }
        for i in range(job_count)
    ]
    engine = db.create_engine(settings)
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            for start in range(0, len(rows), 1000):
                await session.execute(insert(Job), rows[start : start + 1000])
    finally:
        await engine.dispose()


async def _make_due(settings: Settings) -> datetime:
    """Move every job's first slot to SECONDS_UNTIL_DUE from now (keeping the spread)."""
    engine = db.create_engine(settings)
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            base = await session.scalar(select(func.min(Job.next_run_at)))
            assert base is not None
            due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=SECONDS_UNTIL_DUE)
            shift = bindparam("shift", base - due, type_=Interval())
            await session.execute(update(Job).values(next_run_at=Job.next_run_at - shift))
    finally:
        await engine.dispose()
    return due


async def _database_counts(settings: Settings, since: datetime) -> dict[str, int]:
    """The executions of slots from `since` on (not the history `--purge-rows` seeded)."""
    engine = db.create_engine(settings)
    try:
        async with db.create_sessionmaker(engine)() as session:
            recent = JobExecution.scheduled_for >= since

            async def count(*where: Any) -> int:
                statement = select(func.count()).select_from(JobExecution).where(recent, *where)
                return int(await session.scalar(statement) or 0)

            distinct_slots = (
                select(JobExecution.job_id, JobExecution.scheduled_for).where(recent).distinct()
            )
            return {
                "rows": await count(),
                "finished": await count(JobExecution.status != ExecutionStatus.RUNNING),
                "succeeded": await count(JobExecution.status == ExecutionStatus.SUCCESS),
                "missed": await count(JobExecution.status == ExecutionStatus.MISSED),
                "slots": int(
                    await session.scalar(
                        select(func.count()).select_from(distinct_slots.subquery())
                    )
                    or 0
                ),
            }
    finally:
        await engine.dispose()


async def _wait_until_up(client: httpx.AsyncClient, target_url: str) -> None:
    for _ in range(100):
        with contextlib.suppress(httpx.TransportError):
            await client.get(f"{target_url}/stats")
            return
        await asyncio.sleep(0.1)


async def _client_ceiling(job_count: int, process_count: int) -> tuple[float, float]:
    """Fires/s of the bare client (the same requests at a fresh target, no database), and its
    CPU seconds in all."""
    port = _free_port()
    target_url = f"http://127.0.0.1:{port}"
    target = await _start("loadtest.target_server", str(port))
    try:
        async with httpx.AsyncClient() as client:
            await _wait_until_up(client, target_url)
            start = time.time() + 2
            share = -(-job_count // process_count)
            firing = [
                await _start(
                    "loadtest.bare_client",
                    f"{target_url}/hook",
                    str(min(share, job_count - n * share)),
                    CONCURRENCY,
                    str(start),
                    str(n * share),
                    stdout=asyncio.subprocess.PIPE,
                )
                for n in range(process_count)
            ]
            printed = await asyncio.gather(*(process.communicate() for process in firing))
            stats = (await client.get(f"{target_url}/stats")).json()
    finally:
        await _stop(target)
    span = max((stats["last_arrival"] or 0) - start, 1e-9)
    return float(stats["received"] / span), sum(float(out) for out, _ in printed)


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system): less sensitive than the wall clock to
    other work on the machine (though contention inflates it too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_profiler(pid: int, collapsed: Path) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
        + ["--nonblocking", "--output", str(collapsed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _bench(
    job_count: int,
    process_count: int,
    spread_seconds: float,
    profile: bool,
    purge_rows: int = 0,
    purge_pause_ratio: float = RETENTION_PAUSE_RATIO,
    seed_only: bool = False,
) -> dict[str, float]:
    load_before = os.getloadavg()[0]
    server = databases.server_url()
    database_url = await databases.create_migrated_database(server)
    settings = Settings(_env_file=None, database_url=database_url, environment="test")
    port = _free_port()
    target_url = f"http://127.0.0.1:{port}"
    target = await _start("loadtest.target_server", str(port))
    schedulers: list[asyncio.subprocess.Process] = []
    profilers: list[subprocess.Popen[bytes]] = []
    try:
        async with httpx.AsyncClient() as client:
            await _wait_until_up(client, target_url)
            await _seed(settings, job_count, target_url, spread_seconds)
            seed_seconds = await seed_expired_executions(settings, purge_rows) if purge_rows else 0
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "ALLOW_PRIVATE_TARGETS": "true",
                "SCHEDULER_MAX_CONCURRENCY": CONCURRENCY,
                "SCHEDULER_BATCH_SIZE": "500",
                "DB_POOL_SIZE": "20",
                "LOG_LEVEL": "WARNING",
            }
            schedulers = [await _start("scheduler", env=env) for _ in range(process_count)]
            await asyncio.sleep(3)  # started and listening
            cpu_before = sum(_cpu_seconds(scheduler.pid) for scheduler in schedulers)
            collapsed = [
                RESULTS / f"profile-scheduler-{job_count}-{n}.collapsed"
                for n in range(len(schedulers))
            ]
            if profile:
                profilers = [
                    _start_profiler(scheduler.pid, path)
                    for scheduler, path in zip(schedulers, collapsed, strict=True)
                ]
            due = await _make_due(settings)
            purge = PurgeRun(settings, due.timestamp() - 1, purge_pause_ratio)
            purging = bool(purge_rows) and not seed_only
            if purging:
                purge.start()
            deadline = time.monotonic() + SECONDS_UNTIL_DUE + spread_seconds + FINISH_WITHIN_SECONDS
            counts = await _database_counts(settings, due)
            while counts["finished"] < job_count and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                counts = await _database_counts(settings, due)
            stats = (await client.get(f"{target_url}/stats")).json()
            cpu = sum(_cpu_seconds(scheduler.pid) for scheduler in schedulers) - cpu_before
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
                await asyncio.to_thread(profiler.wait, 60)
            purged_while_firing = purge.purged
            if purging:
                for scheduler in schedulers:  # before their own retention pass joins in
                    await _stop(scheduler)
                await purge.finish()
    finally:
        for process in [*schedulers, target]:
            await _stop(process)
        await databases.drop_database(server, database_url)
    load_between = os.getloadavg()[0]
    for n, path in enumerate(collapsed if profile else []):
        header = (
            f"py-spy, scheduler process {n + 1} of {process_count}, {job_count} jobs due at once"
        )
        output = path.with_suffix(".txt")
        output.write_text(summarize_profile(path, header))
        path.unlink()
        print(f"profile written to {output}", flush=True)
    ceiling, client_cpu = await _client_ceiling(job_count, process_count)
    lateness = stats["lateness"] or [float("nan")]
    span = max((stats["last_arrival"] or 0) - due.timestamp(), 1e-9)
    fires_per_second = stats["received"] / span
    return {
        "jobs": job_count,
        "processes": process_count,
        "received": stats["received"],
        "succeeded": counts["succeeded"],
        "lateness_p50_ms": 1000 * _percentile(lateness, 0.50),
        "lateness_p99_ms": 1000 * _percentile(lateness, 0.99),
        "lateness_max_ms": 1000 * max(lateness),
        "fires_per_second": fires_per_second,
        "client_ceiling_fires_per_second": ceiling,
        "ratio_to_client": fires_per_second / ceiling,
        "scheduler_cpu_ms_per_run": 1000 * cpu / max(stats["received"], 1),
        "client_cpu_ms_per_call": 1000 * client_cpu / job_count,
        "executions": counts["rows"],
        "finished": counts["finished"],
        "missed": counts["missed"],
        "duplicate_rows": counts["rows"] - counts["slots"],
        "duplicate_deliveries": stats["duplicates"],
        "purge_rows_seeded": purge_rows,
        "purging": purging,
        "purge_seed_seconds": seed_seconds,
        "purged_while_firing": purged_while_firing,
        "purged": purge.purged,
        "purge_seconds": purge.seconds or 0.0,
        "load_average_before": load_before,
        "load_average_after_scheduler": load_between,
        "load_average_after_client": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--spread-seconds",
        type=float,
        default=0,
        help="spread the jobs' slots evenly over this many seconds (0: all in the same second)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample every scheduler process with py-spy"
    )
    parser.add_argument(
        "--purge-rows",
        type=int,
        default=0,
        help="seed this many expired executions and purge them while the schedulers fire",
    )
    parser.add_argument(
        "--purge-pause-ratio",
        type=float,
        default=RETENTION_PAUSE_RATIO,
        help="the purge's pause after each batch, in batch durations (0: full speed)",
    )
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed the --purge-rows executions but purge nothing: the baseline, same table",
    )
    args = parser.parse_args()
    for job_count in args.jobs:
        result = asyncio.run(
            _bench(
                job_count,
                args.processes,
                args.spread_seconds,
                args.profile,
                args.purge_rows,
                args.purge_pause_ratio,
                args.seed_only,
            )
        )
        print(json.dumps(result))
        print(
            f"{job_count:>6} jobs, {args.processes} scheduler process(es): lateness "
            f"p50 {result['lateness_p50_ms']:.0f} ms, p99 {result['lateness_p99_ms']:.0f} ms, "
            f"max {result['lateness_max_ms']:.0f} ms; {result['fires_per_second']:.0f} fires/s "
            f"against {result['client_ceiling_fires_per_second']:.0f} for the bare client "
            f"(ratio {result['ratio_to_client']:.2f}); CPU per run "
            f"{result['scheduler_cpu_ms_per_run']:.2f} ms for the scheduler, "
            f"{result['client_cpu_ms_per_call']:.2f} ms for the bare client; "
            f"{result['succeeded']} succeeded, {result['missed']} missed (later than the "
            f"misfire grace); duplicates {result['duplicate_rows']} rows, "
            f"{result['duplicate_deliveries']} deliveries; load average "
            f"{result['load_average_before']:.1f} before, "
            f"{result['load_average_after_scheduler']:.1f} after the scheduler, "
            f"{result['load_average_after_client']:.1f} after the client"
        )
        if args.purge_rows:
            print(
                f"purge: {args.purge_rows} expired executions seeded in "
                f"{result['purge_seed_seconds']:.1f} s; {result['purged_while_firing']} purged "
                f"while the schedulers fired, {result['purged']} in all in "
                f"{result['purge_seconds']:.1f} s"
            )


if __name__ == "__main__":
    main()

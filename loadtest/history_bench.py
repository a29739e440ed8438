"""History at scale: listing and statistics latency over a growing execution table.

    python -m loadtest.history_bench [--rows 100000 1000000 10000000] [--label after]
                                     [--baseline loadtest/results/history_before.json]

1. Creates a throwaway PostgreSQL database (TEST_DATABASE_URL or the local server, as the test
   suite does), migrated with Alembic, and seeds one admin, 10,000 jobs (COPY) and executions
   generated inside PostgreSQL (`INSERT ... SELECT generate_series`, no row crosses the wire)
   with a realistic mix over the last 90 days: mostly successes, failed attempts (some retried
   once), missed, skipped and cancelled slots, a few manual runs, a few still running; varied
   durations and lateness; a hundred every-minute jobs hold half the rows. The table grows in
   stages (each `--rows` figure in turn) and every stage is measured; each stage's slots are
   spread over the whole 90 days. The secondary indexes are dropped while a stage is inserted
   and rebuilt after it (from their own definitions in `pg_indexes`), then `VACUUM ANALYZE`.
2. Serves the real app (`api.main:app`) with uvicorn in its own process, one worker, logs in
   once per stage, and times each endpoint sequentially (one user, after a warm-up): p50 and
   p99 over `--requests` requests (200), or as many as fit in `--max-seconds` (120) for a slow
   one (the count is reported).
3. Prints a table (endpoint x size, p50/p99 ms; with `--baseline`, the baseline's beside it)
   and writes loadtest/results/history_<label>.json. Drops the database.

Everything runs on 127.0.0.1. Never imported by the service or its tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from core import cron
from core.security import hash_password
from loadtest.run import (
    RESULTS,
    STACK_BY_KEY,
    _dsn,
    cpu_seconds,
    free_port,
    server_environment,
    serving,
)
from tests.support import databases

JOB_COUNT = 10_000
HOT_JOBS = 100  # every-minute jobs: half of all executions
DAYS = 90
PASSWORD = "history-bench-password"
ADMIN = "hb_admin"
DEFAULT_ROWS = (100_000, 1_000_000, 10_000_000)
# Slots are a permutation of a grid over the 90 days: slot index s sits at (s * STRIDE) mod M
# grid steps, so every stage's rows cover the whole range and no two rows share a slot.
STRIDE = 10_368_889  # odd, about M / golden ratio


@dataclass(frozen=True)
class Endpoint:
    key: str
    title: str
    # Filled from the stage's context: job_id (the busiest job), day (yesterday), month_ago.
    path: str


EXECUTIONS = "/api/v1/executions"
JOB = "/api/v1/jobs/{job_id}"
ENDPOINTS = (
    Endpoint("list", "GET /executions", EXECUTIONS),
    Endpoint("list_failed", "GET /executions?status=failed", EXECUTIONS + "?status=failed"),
    Endpoint("list_job", "GET /executions?job_id=(busiest)", EXECUTIONS + "?job_id={job_id}"),
    Endpoint("list_day", "GET /executions, 1-day range", EXECUTIONS + "?from={day}&to={day}"),
    Endpoint(
        "page_500",
        "GET /executions?status=success&page=500",
        EXECUTIONS + "?status=success&page=500",
    ),
    Endpoint("cursor_500", "the same page by cursor", "{cursor_500}"),
    Endpoint("job_list", "GET /jobs/{id}/executions", JOB + "/executions"),
    Endpoint("job_stats", "GET /jobs/{id}/executions/stats", JOB + "/executions/stats"),
    Endpoint(
        "stats_all",
        "GET /executions/statistics, 30 days",
        EXECUTIONS + "/statistics?from={month_ago}",
    ),
    Endpoint(
        "stats_job",
        "the same for one job",
        EXECUTIONS + "/statistics?from={month_ago}&job_id={job_id}",
    ),
    Endpoint("summary", "GET /dashboard/summary", "/api/v1/dashboard/summary"),
)


# --- seeding -----------------------------------------------------------------------------------

CRONS = ("*/5 * * * *", "0 * * * *", "0 2 * * *", "30 9 * * 1-5", "15 */6 * * *", "*/15 * * * *")
ZONES = ("UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York")


async def _seed_jobs(connection: asyncpg.Connection, now: datetime) -> uuid.UUID:
    """The admin and 10,000 jobs (the first HOT_JOBS every minute); returns the admin's id.
    Also fills `bench_job` (a plain table: job number -> id, kind, target) for the generator."""
    rng = random.Random(16)
    admin_id = uuid.uuid4()
    await connection.copy_records_to_table(
        "user",
        records=[
            (admin_id, ADMIN, "hb_admin@example.com", await hash_password(PASSWORD), "admin")
            + (True, "UTC", now, now)
        ],
        columns=["id", "username", "email", "password_hash", "role", "is_active", "timezone"]
        + ["created_at", "updated_at"],
    )
    next_runs: dict[tuple[str, str], datetime] = {}
    jobs: list[dict[str, Any]] = []
    for n in range(JOB_COUNT):
        expression = "* * * * *" if n < HOT_JOBS else CRONS[n % len(CRONS)]
        zone = ZONES[n % len(ZONES)]
        if (expression, zone) not in next_runs:
            next_runs[expression, zone] = cron.next_fire_time(expression, zone, after=now)
        github = n % 10 == 9
        created = now - timedelta(days=DAYS + 1, minutes=n)
        jobs.append(
            {
                "id": uuid.uuid4(),
                "name": f"history-job-{n:05d}",
                "cron_expression": expression,
                "timezone": zone,
                "target_url": None if github else f"https://hooks.example.com/job/{n}",
                "github_owner": "acme" if github else None,
                "github_repo": "deploy" if github else None,
                "github_workflow_name": "nightly.yml" if github else None,
                "http_method": "POST",
                "metadata": json.dumps({"n": n}),
                "category": "general",
                "pic_team": "platform",
                "end_date": date(2099, 1, 1),
                "enable_email_notifications": False,
                "notification_emails": "[]",
                "notify_on_success": False,
                "timeout_seconds": 30,
                "max_retries": 2,
                "created_by": admin_id,
                "is_active": n % 50 != 49,  # 2% paused
                "next_run_at": next_runs[expression, zone],
                "last_execution_at": now - timedelta(seconds=n % 60),
                "consecutive_failures": rng.choice((1, 2, 3, 7)) if n % 20 == 3 else 0,
                "created_at": created,
                "updated_at": created,
            }
        )
    await connection.copy_records_to_table(
        "job", records=[tuple(job.values()) for job in jobs], columns=list(jobs[0])
    )
    await connection.execute(
        "CREATE TABLE bench_job (n integer PRIMARY KEY, id uuid NOT NULL, "
        "execution_type varchar(14) NOT NULL, target varchar(500) NOT NULL)"
    )
    await connection.copy_records_to_table(
        "bench_job",
        records=[
            (
                n,
                job["id"],
                "webhook" if job["target_url"] else "github_actions",
                job["target_url"] or "acme/deploy:nightly.yml",
            )
            for n, job in enumerate(jobs)
        ],
    )
    return admin_id


# One row per slot (two for a retried one), every value drawn from hashes of the slot index.
# u1 picks the outcome, u2 the job (half the rows to the hot jobs), u3 duration, lateness and
# the trigger.
GENERATE = """
INSERT INTO job_execution (
    id, job_id, status, trigger_type, execution_type, scheduled_for, started_at, completed_at,
    duration_seconds, target, response_status, error_message, output, attempt, lateness_ms,
    lease_expires_at, created_at, updated_at)
SELECT
    gen_random_uuid(), j.id, o.status, o.trigger_type, j.execution_type, o.slot, o.started,
    CASE WHEN o.status IN ('running', 'missed', 'skipped') THEN NULL
         ELSE o.started + make_interval(secs => o.duration) END,
    CASE WHEN o.status IN ('running', 'missed', 'skipped', 'cancelled') THEN NULL
         ELSE round(o.duration::numeric, 3)::float8 END,
    j.target,
    CASE o.status WHEN 'success' THEN 200 WHEN 'failed' THEN 503 END,
    CASE o.status WHEN 'failed' THEN 'HTTP 503: Service Unavailable'
                  WHEN 'cancelled' THEN 'Cancelled by hb_admin' END,
    CASE o.status WHEN 'success' THEN '{"ok": true}' WHEN 'failed' THEN 'upstream busy' END,
    o.attempt,
    CASE WHEN o.started IS NULL THEN NULL ELSE o.lateness END,
    CASE WHEN o.status = 'running' THEN $3::timestamptz + interval '1 hour' END,
    o.slot, coalesce(o.started, o.slot)
FROM (
    SELECT
        r.n,
        r.slot,
        a.attempt,
        CASE WHEN r.u3 > 0.98 THEN 'manual' ELSE 'scheduled' END AS trigger_type,
        CASE
            WHEN r.slot > $3::timestamptz - interval '2 minutes' THEN 'running'
            WHEN r.u1 < 0.03 AND a.attempt = 1 THEN 'failed'
            WHEN r.u1 < 0.03 THEN CASE WHEN r.u3 < 0.7 THEN 'success' ELSE 'failed' END
            WHEN r.u1 < 0.07 THEN 'failed'
            WHEN r.u1 < 0.09 THEN 'missed'
            WHEN r.u1 < 0.105 THEN 'skipped'
            WHEN r.u1 < 0.11 THEN 'cancelled'
            ELSE 'success'
        END AS status,
        CASE WHEN r.u1 >= 0.07 AND r.u1 < 0.105 THEN NULL
             ELSE r.slot + make_interval(secs => (a.attempt - 1) * 30 + r.late / 1000.0)
        END AS started,
        r.late AS lateness,
        0.05 + (-ln(1 - r.u3)) * CASE WHEN r.n % 10 = 9 THEN 20 ELSE 0.4 END AS duration
    FROM (
        SELECT
            g.u1, g.u3,
            $4::timestamptz + ((g.s * $5::bigint) % $6::bigint) * $7::interval AS slot,
            CASE WHEN g.u2 < 0.5 THEN floor(g.u2 * 2 * $8::int)::int
                 ELSE $8::int + floor((g.u2 - 0.5) * 2 * ($9::int - $8::int))::int END AS n,
            CASE WHEN g.u3 < 0.01 THEN 5000 + floor(g.u1 * 55000)::int
                 ELSE floor(-ln(1 - g.u2) * 40)::int END AS late
        FROM (
            SELECT
                s,
                (hashint8(s) & 2147483647)::float8 / 2147483648 AS u1,
                (hashint8(s + 1000000007) & 2147483647)::float8 / 2147483648 AS u2,
                (hashint8(s * 3 + 7) & 2147483647)::float8 / 2147483648 AS u3
            FROM generate_series($1::bigint, $2::bigint - 1) AS s
        ) g
    ) r
    CROSS JOIN LATERAL generate_series(1, CASE WHEN r.u1 < 0.03 THEN 2 ELSE 1 END) AS a(attempt)
) o
JOIN bench_job j ON j.n = o.n
"""


# As migration 0015 fills the rollup (a bench of the code before it skips this).
ROLLUP_FILL = """
INSERT INTO job_execution_hourly (job_id, hour, status, executions, duration_sum, durations)
SELECT job_id, date_trunc('hour', scheduled_for, 'UTC'), status, count(*),
       coalesce(sum(duration_seconds), 0), count(duration_seconds)
FROM job_execution WHERE status <> 'running'
GROUP BY 1, 2, 3
"""


async def _grow(
    connection: asyncpg.Connection, slots_from: int, slots_to: int, now: datetime, grid: int
) -> float:
    """Insert the rows of slot indices [slots_from, slots_to); returns the seconds it took
    (insert, index rebuild, VACUUM ANALYZE)."""
    started = time.perf_counter()
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'job_execution' "
        "AND indexname <> 'pk_job_execution'"
    )
    for index in indexes:
        await connection.execute(f'DROP INDEX "{index["indexname"]}"')
    # The row triggers (wake-ups, the hourly rollup) are off while rows pour in; the rollup
    # is rebuilt from the table after, as its migration fills it.
    await connection.execute("ALTER TABLE job_execution DISABLE TRIGGER USER")
    start = now - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / grid
    # Slot indices past the grid would wrap onto used slots; the caller keeps below it.
    await connection.execute(
        GENERATE,
        slots_from,
        slots_to,
        now,
        start,
        STRIDE,
        grid,
        step,
        HOT_JOBS,
        JOB_COUNT,
    )
    await connection.execute("ALTER TABLE job_execution ENABLE TRIGGER USER")
    for index in indexes:
        await connection.execute(index["indexdef"])
    if await connection.fetchval("SELECT to_regclass('job_execution_hourly') IS NOT NULL"):
        await connection.execute("TRUNCATE job_execution_hourly")
        await connection.execute(ROLLUP_FILL)
        await connection.execute("VACUUM ANALYZE job_execution_hourly")
    await connection.execute("VACUUM ANALYZE job_execution")
    await connection.execute("ANALYZE job")
    return time.perf_counter() - started


async def _row_counts(connection: asyncpg.Connection) -> dict[str, int]:
    rows = await connection.fetch(
        "SELECT status, count(*) AS n FROM job_execution GROUP BY status ORDER BY status"
    )
    return {row["status"]: int(row["n"]) for row in rows}


# --- measuring ---------------------------------------------------------------------------------


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-fraction * len(ordered) // 1)) - 1))]


def _backends(database: str) -> list[int]:
    """The PostgreSQL backends serving `database` (their process titles name it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                pids.append(int(entry.name))
    return pids


def _cpu(pids: Sequence[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def _time(
    client: httpx.Client,
    path: str,
    requests: int,
    max_seconds: float,
    processes: Callable[[], list[int]],
) -> dict[str, Any]:
    for _ in range(5):  # warm-up: statement caches, buffers
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
    samples: list[float] = []
    # CPU of the server and of the database's backends over the timed requests: what a
    # request costs, much less moved by other work on the machine than its latency.
    pids = processes()
    cpu_before = _cpu(pids)
    deadline = time.monotonic() + max_seconds
    while len(samples) < requests and (not samples or time.monotonic() < deadline):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(1000 * (time.perf_counter() - started))
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
    cpu_ms = 1000 * (_cpu(pids) - cpu_before) / len(samples)
    return {
        "path": path,
        "requests": len(samples),
        "cpu_ms_per_request": round(cpu_ms, 2),
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(_percentile(samples, 0.99), 2),
        "max_ms": round(max(samples), 2),
    }


def _cursor_of_page(client: httpx.Client, path: str, page: int) -> str | None:
    """The cursor that opens `page` of `path` by following next_cursor, or None when the
    listing has no cursor (the code before keyset pagination)."""
    spec = client.get("/openapi.json").json()
    parameters = spec["paths"]["/api/v1/executions"]["get"].get("parameters", [])
    if not any(parameter["name"] == "cursor" for parameter in parameters):
        return None
    cursor: str | None = None
    for _ in range(page - 1):
        separator = "&" if "?" in path else "?"
        url = path if cursor is None else f"{path}{separator}cursor={cursor}"
        cursor = client.get(url).json().get("next_cursor")
        if cursor is None:
            return None
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}cursor={cursor}"


def _measure(
    base_url: str,
    context: dict[str, Any],
    requests: int,
    max_seconds: float,
    processes: Callable[[], list[int]],
) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        login = client.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        context["cursor_500"] = _cursor_of_page(client, "/api/v1/executions?status=success", 500)
        results: dict[str, Any] = {}
        for endpoint in ENDPOINTS:
            if endpoint.key == "cursor_500" and context["cursor_500"] is None:
                continue  # no cursor in this version of the API
            path = endpoint.path.format(**context)
            results[endpoint.key] = _time(client, path, requests, max_seconds, processes)
            figures = results[endpoint.key]
            print(
                f"  {endpoint.title:<42} p50 {figures['p50_ms']:>8.1f} ms  "
                f"p99 {figures['p99_ms']:>8.1f} ms  CPU {figures['cpu_ms_per_request']:>7.1f} ms "
                f"({figures['requests']} requests)",
                flush=True,
            )
    return results


# --- the run -----------------------------------------------------------------------------------


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = sorted(args.rows)
    # Each slot index gives 1.03 rows on average (retried slots have two).
    slots_needed = [max(1, round(size / 1.03)) for size in sizes]
    grid = 1 << max(slots_needed[-1] - 1, 1).bit_length()
    if grid > 1 << 26:
        raise SystemExit("at most about 67 million rows")
    now = datetime.now(UTC).replace(microsecond=0)
    server = databases.server_url()
    database_url = await databases.create_migrated_database(server)
    print(f"database {database_url.rsplit('/', 1)[-1]}", flush=True)
    stages: list[dict[str, Any]] = []
    try:
        connection = await asyncpg.connect(_dsn(database_url))
        try:
            await connection.execute("SET synchronous_commit = off")
            await connection.execute("SET maintenance_work_mem = '512MB'")
            started = time.perf_counter()
            await _seed_jobs(connection, now)
            jobs_seconds = time.perf_counter() - started
            busiest = await connection.fetchval("SELECT id FROM bench_job WHERE n = 0")
        finally:
            await connection.close()
        env = server_environment(database_url) | {"ACCESS_TOKEN_EXPIRE_MINUTES": "600"}
        done = 0
        for slots in slots_needed:
            connection = await asyncpg.connect(_dsn(database_url))
            try:
                await connection.execute("SET synchronous_commit = off")
                await connection.execute("SET maintenance_work_mem = '512MB'")
                seconds = await _grow(connection, done, slots, now, grid)
                counts = await _row_counts(connection)
                table_bytes = await connection.fetchval(
                    "SELECT pg_total_relation_size('job_execution')"
                )
            finally:
                await connection.close()
            done = slots
            rows = sum(counts.values())
            print(
                f"{rows:,} executions (seeded in {seconds:.1f} s; {table_bytes / 2**20:,.0f} MiB "
                f"with indexes; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            load_before = os.getloadavg()[0]
            port = free_port(0)  # any free port: never another run's server
            base_url = f"http://127.0.0.1:{port}"
            probe: tuple[str, dict[str, str]] = (f"{base_url}/api/v1/health", {})
            log = RESULTS / "raw" / "history_bench_server.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            # A fresh server per stage: nothing cached from the smaller table.
            database = database_url.rsplit("/", 1)[-1]
            with serving(STACK_BY_KEY["async"], port, env, log, probe) as app_process:

                def processes(pid: int = app_process.pid, name: str = database) -> list[int]:
                    return [pid, *_backends(name)]

                context = {
                    "job_id": busiest,
                    "day": (now - timedelta(days=1)).date().isoformat(),
                    "month_ago": (now - timedelta(days=30)).date().isoformat(),
                }
                results = _measure(base_url, context, args.requests, args.max_seconds, processes)
            stages.append(
                {
                    "rows": rows,
                    "by_status": counts,
                    "seed_seconds": round(seconds, 1),
                    "table_mib": round(table_bytes / 2**20),
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg()[0],
                    "endpoints": results,
                }
            )
    finally:
        if not args.keep:
            await databases.drop_database(server, database_url)
    return {
        "label": args.label,
        "measured_at": now.isoformat(),
        "jobs": JOB_COUNT,
        "jobs_seed_seconds": round(jobs_seconds, 1),
        "requests_per_endpoint": args.requests,
        "cpus": os.cpu_count(),
        "stages": stages,
    }


def _cell(stage: dict[str, Any] | None, key: str) -> str:
    figures = (stage or {}).get("endpoints", {}).get(key)
    if not figures:
        return "–"
    cell = f"{figures['p50_ms']:.1f} / {figures['p99_ms']:.1f}"
    if "cpu_ms_per_request" in figures:
        cell += f" ({figures['cpu_ms_per_request']:.1f})"
    return cell


def render_table(result: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """Markdown: one row per endpoint, per size p50 / p99 ms and (CPU ms per request, server
    and database together); the baseline's first if given."""
    header = ["endpoint"]
    for stage in result["stages"]:
        rows = stage["rows"]  # about the size asked for (retried slots add rows)
        size = f"{rows / 1e6:.0f} M" if rows >= 950_000 else f"{rows / 1e3:.0f} k"
        header += [f"{size} before", f"{size} after"] if baseline else [size]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---" + "|---:" * (len(header) - 1) + "|",
    ]
    before_stages = (baseline or {}).get("stages", [])
    for endpoint in ENDPOINTS:
        row = [endpoint.title]
        for index, stage in enumerate(result["stages"]):
            if baseline:
                before = before_stages[index] if index < len(before_stages) else None
                row.append(_cell(before, endpoint.key))
            row.append(_cell(stage, endpoint.key))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120,
        help="stop timing an endpoint after this long (fewer requests, reported)",
    )
    parser.add_argument("--label", default="run", help="results go to history_<label>.json")
    parser.add_argument("--baseline", type=Path, help="an earlier result to print beside")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    result = asyncio.run(_run(args))
    output = RESULTS / f"history_{args.label}.json"
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    print("\np50 / p99 ms (CPU ms per request), sequential requests, one user\n")
    print(render_table(result, baseline))
    print(f"\nwritten to {output.relative_to(RESULTS.parents[1])}")


if __name__ == "__main__":
    main()

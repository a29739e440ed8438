"""Load test: the async service against the sync baseline and the asyncpg ceiling, one run.

    python -m loadtest.run            # the full sweep (about 20 minutes on 2 cores)
    python -m loadtest.run --quick    # fewer points and seconds (under 5 minutes)
    python -m loadtest.run --report-only   # rewrite report.md and rps.png from results.json

1. Creates a fresh PostgreSQL database (TEST_DATABASE_URL or the local server, as the test
   suite does), migrates it with Alembic and seeds it with COPY: 1,000 jobs, 100,000
   executions (10% failed), 11 users.
2. Starts the 50 ms target (loadtest/target_server.py) on 127.0.0.1.
3. For each stack in turn (async service, sync baseline, ceiling), serves it with uvicorn on the
   same 127.0.0.1 port, one worker, and for each scenario sweeps concurrency (1, 16, 64, 256
   users) with locust headless for a bounded time per point. Writes are undone after each
   point, so every point starts from the same data.
4. Writes loadtest/results/results.json, report.md and rps.png; locust's CSVs and the servers'
   logs go to loadtest/results/raw/ (not committed). Drops the database.

Everything runs on 127.0.0.1 and stops by itself. Never imported by the service or its tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from core import cron
from core.config import Settings
from core.security import create_access_token, hash_password
from tests.support import databases

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "loadtest" / "results"
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
PROFILING_NOTES = ROOT / "loadtest" / "PROFILING.md"
TARGET_NOTES = ROOT / "loadtest" / "TARGETS.md"

JOB_COUNT = 1_000
EXECUTIONS_PER_JOB = 100
FAILED_SHARE = 0.10
MISSED_SHARE = 0.05
LOGIN_USERS = 10
PASSWORD = "loadtest-password"
PIC_TEAM = "platform"
JWT_SECRET = "loadtest-only-secret-" + "x" * 32
TARGET_DELAY_SECONDS = 0.05
SLOW_TARGET_DELAY_SECONDS = 0.3  # the test-run scenario's target: requests that really wait
POOL_SIZE, MAX_OVERFLOW = 10, 20
SYNC_THREADS = 40

FULL_USERS = (1, 16, 64, 256)
FULL_SECONDS = 15
QUICK_USERS = (64, 256)
QUICK_SECONDS = 4


@dataclass(frozen=True)
class Scenario:
    key: str
    user_class: str
    title: str
    # "read", "write", "cpu", "io" (answers before the call; runs counted in the database) or
    # "wait" (answers after a slow call; nothing stored)
    kind: str


SCENARIOS = (
    Scenario("jobs_list", "JobList", "GET /jobs (page of 20)", "read"),
    Scenario("job_get", "JobGet", "GET /jobs/{id}", "read"),
    Scenario("failed_executions", "FailedExecutions", "GET /executions?status=failed", "read"),
    Scenario("job_create", "JobCreate", "POST /jobs", "write"),
    Scenario("execute", "Execute", "POST /jobs/{id}/execute (50 ms target)", "io"),
    Scenario("test_run", "TestRun", "POST /jobs/test-run (300 ms target)", "wait"),
    # Last: hundreds of queued argon2 verifications outlive the point that sent them.
    Scenario("login", "Login", "POST /auth/login (argon2)", "cpu"),
)
SCENARIO_BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


@dataclass(frozen=True)
class Stack:
    key: str
    title: str
    app: str
    factory: bool
    scenarios: tuple[str, ...]


STACKS = (
    Stack(
        "async",
        "async (FastAPI + SQLAlchemy asyncio + asyncpg)",
        "api.main:app",
        False,
        tuple(SCENARIO_BY_KEY),
    ),
    Stack(
        "sync",
        "sync baseline (def handlers + SQLAlchemy Session + psycopg 3)",
        "loadtest.sync_app:create_app",
        True,
        tuple(SCENARIO_BY_KEY),
    ),
    Stack(
        "ceiling",
        "ceiling (Starlette + raw asyncpg)",
        "loadtest.ceiling_app:create_app",
        True,
        ("jobs_list", "job_get", "failed_executions"),
    ),
)
STACK_BY_KEY = {stack.key: stack for stack in STACKS}


@dataclass
class Point:
    stack: str
    scenario: str
    users: int
    seconds: int
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_cpu_ms_per_request: float | None = None
    # POST /execute only: runs whose webhook call finished (success) per second, measured in
    # the database, and runs still waiting for their call when the load stopped.
    delivered_rps: float | None = None
    backlog_at_stop: int | None = None
    failed_runs: int | None = None
    errors: dict[str, int] = field(default_factory=dict)


# --- seeding -----------------------------------------------------------------------------------


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def seed(database_url: str, target_url: str) -> dict[str, Any]:
    """Users, a PIC team, 1,000 jobs and 100,000 executions, with COPY; then VACUUM ANALYZE."""
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    password_hash = await hash_password(PASSWORD)
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        admin_id = uuid.uuid4()
        users = [(admin_id, "lt_admin", "lt_admin@example.com", password_hash, "admin")] + [
            (uuid.uuid4(), f"lt_user_{n}", f"lt_user_{n}@example.com", password_hash, "user")
            for n in range(LOGIN_USERS)
        ]
        await connection.copy_records_to_table(
            "user",
            records=[(*user, True, "UTC", now, now) for user in users],
            columns=[
                "id",
                "username",
                "email",
                "password_hash",
                "role",
                "is_active",
                "timezone",
                "created_at",
                "updated_at",
            ],
        )
        await connection.execute(
            "INSERT INTO pic_team (id, slug, name, slack_handle, is_active, created_at, "
            "updated_at) VALUES ($1, $2, 'Platform', '@platform', true, $3, $3)",
            uuid.uuid4(),
            PIC_TEAM,
            now,
        )

        crons = ("*/5 * * * *", "0 * * * *", "0 2 * * *", "30 9 * * 1-5", "15 */6 * * *")
        zones = ("Asia/Tokyo", "UTC", "Europe/Berlin", "America/New_York")
        end_date = date.today() + timedelta(days=365)
        jobs: list[tuple[Any, ...]] = []
        executions: list[tuple[Any, ...]] = []
        for n in range(JOB_COUNT):
            job_id = uuid.uuid4()
            expression, zone = crons[n % len(crons)], zones[n % len(zones)]
            created = now - timedelta(days=30, minutes=n)
            last_run: datetime | None = None
            for k in range(EXECUTIONS_PER_JOB):
                slot = now - timedelta(hours=k + 1, seconds=n)
                last_run = last_run or slot
                draw = rng.random()
                if draw < MISSED_SHARE:
                    status, started, duration, code = "missed", None, None, None
                else:
                    failed = draw < MISSED_SHARE + FAILED_SHARE
                    status = "failed" if failed else "success"
                    started = slot + timedelta(milliseconds=rng.randint(1, 400))
                    duration = round(rng.uniform(0.05, 2.0), 3)
                    code = 500 if failed else 200
                executions.append(
                    (
                        uuid.uuid4(),
                        job_id,
                        status,
                        "scheduled",
                        "webhook",
                        slot,
                        started,
                        None if started is None else started + timedelta(seconds=duration or 0),
                        duration,
                        target_url,
                        code,
                        "HTTP 500" if code == 500 else None,
                        {200: "ok", 500: "Internal Server Error"}.get(code or 0),
                        1,
                        None,
                        slot,
                        slot,
                    )
                )
            jobs.append(
                (
                    job_id,
                    f"seed-job-{n:04d}",
                    expression,
                    zone,
                    target_url,
                    "POST",
                    json.dumps({"seed": n}),
                    "general",
                    PIC_TEAM,
                    end_date,
                    False,
                    "[]",
                    False,
                    30,
                    0,
                    admin_id,
                    True,
                    cron.next_fire_time(expression, zone, after=now),
                    last_run,
                    0,
                    created,
                    created,
                )
            )
        await connection.copy_records_to_table(
            "job",
            records=jobs,
            columns=[
                "id",
                "name",
                "cron_expression",
                "timezone",
                "target_url",
                "http_method",
                "metadata",
                "category",
                "pic_team",
                "end_date",
                "enable_email_notifications",
                "notification_emails",
                "notify_on_success",
                "timeout_seconds",
                "max_retries",
                "created_by",
                "is_active",
                "next_run_at",
                "last_execution_at",
                "consecutive_failures",
                "created_at",
                "updated_at",
            ],
        )
        await connection.copy_records_to_table(
            "job_execution",
            records=executions,
            columns=[
                "id",
                "job_id",
                "status",
                "trigger_type",
                "execution_type",
                "scheduled_for",
                "started_at",
                "completed_at",
                "duration_seconds",
                "target",
                "response_status",
                "error_message",
                "output",
                "attempt",
                "lease_expires_at",
                "created_at",
                "updated_at",
            ],
        )
        await connection.execute("VACUUM ANALYZE")
        failed_count = sum(1 for row in executions if row[2] == "failed")
    finally:
        await connection.close()
    return {
        "admin_id": str(admin_id),
        "job_ids": [str(job[0]) for job in jobs],
        "login_names": [user[1] for user in users[1:]],
        "password": PASSWORD,
        "pic_team": PIC_TEAM,
        "target_url": target_url,
        "counts": {
            "users": len(users),
            "jobs": len(jobs),
            "executions": len(executions),
            "failed_executions": failed_count,
        },
    }


async def _reset(database_url: str) -> None:
    """Undo what the write scenarios did, so every point starts from the seeded data."""
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        await connection.execute("DELETE FROM job_execution WHERE trigger_type = 'manual'")
        await connection.execute("DELETE FROM job WHERE name LIKE 'lt-%'")
        await connection.execute("UPDATE job SET consecutive_failures = 0")
        await connection.execute("DELETE FROM refresh_token")
        await connection.execute("DELETE FROM login_attempt")
        await connection.execute("VACUUM ANALYZE job, job_execution, refresh_token")
    finally:
        await connection.close()


async def _manual_runs(database_url: str, since: datetime, until: datetime) -> dict[str, Any]:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'running') AS running, "
            "count(*) FILTER (WHERE status = 'success' AND completed_at <= $2) AS delivered, "
            "count(*) FILTER (WHERE status = 'failed') AS failed, "
            "min(started_at) AS first_start "
            "FROM job_execution WHERE trigger_type = 'manual' AND started_at >= $1",
            since,
            until,
        )
    finally:
        await connection.close()
    return dict(row) if row is not None else {}


@dataclass(frozen=True)
class Seeded:
    """A migrated, seeded database and an access token of its admin."""

    database_url: str
    data: dict[str, Any]
    token: str
    seed_seconds: float

    def probe(self, base: str) -> tuple[str, dict[str, str]]:
        """A request that answers 200 once a stack serves (for `serving`)."""
        url = f"{base}/api/v1/jobs/{self.data['job_ids'][0]}"
        return url, {"Authorization": f"Bearer {self.token}"}


@contextlib.contextmanager
def seeded_database(target_url: str, *, keep: bool = False) -> Iterator[Seeded]:
    """A fresh database on the test server, migrated and seeded (`seed`); dropped afterwards
    unless `keep`."""
    base_url = databases.server_url()
    if databases.is_sqlite(base_url):
        raise SystemExit("the load test needs PostgreSQL (TEST_DATABASE_URL or 127.0.0.1:5432)")
    database_url = asyncio.run(databases.create_migrated_database(base_url))
    print(f"database {database_url.rsplit('/', 1)[1]} created and migrated", flush=True)
    try:
        started = time.monotonic()
        data = asyncio.run(seed(database_url, target_url))
        seed_seconds = time.monotonic() - started
        print(f"seeded {data['counts']} in {seed_seconds:.1f} s", flush=True)
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            jwt_secret_key=JWT_SECRET,
            access_token_expire_minutes=24 * 60,
        )
        token = create_access_token(uuid.UUID(data["admin_id"]), settings, datetime.now(UTC)).token
        yield Seeded(database_url, data, token, seed_seconds)
    finally:
        if keep:
            print(f"kept the database: {database_url}")
        else:
            asyncio.run(databases.drop_database(base_url, database_url))


# --- processes ---------------------------------------------------------------------------------


def free_port(preferred: int) -> int:
    for candidate in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = probe.getsockname()[1]
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def _target_server(port: int, log: Path, delay: float) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "loadtest.target_server", str(port), str(delay)],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(f"http://127.0.0.1:{port}/stats", {}, process)
            yield process
        finally:
            _stop(process)


def server_environment(database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LOADTEST_", "ADMIN_", "DB_", "SCHEDULER_"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "development",
            "JWT_SECRET_KEY": JWT_SECRET,
            "ALLOW_PRIVATE_TARGETS": "true",
            "SCHEDULER_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
            "CORS_ORIGINS": "",
            "DB_POOL_SIZE": str(POOL_SIZE),
            "DB_MAX_OVERFLOW": str(MAX_OVERFLOW),
            "SYNC_THREADS": str(SYNC_THREADS),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@contextlib.contextmanager
def serving(
    stack: Stack,
    port: int,
    env: dict[str, str],
    log: Path,
    probe: tuple[str, dict[str, str]],
    cwd: Path = ROOT,
) -> Iterator[subprocess.Popen[bytes]]:
    """The stack served by uvicorn until the block ends; its code is imported from `cwd` (a
    copy of another commit's tree serves that commit)."""
    command = [sys.executable, "-m", "uvicorn", stack.app]
    if stack.factory:
        command.append("--factory")
    command += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_for(probe[0], probe[1], process)
            yield process
        finally:
            _stop(process)


def _wait_for(url: str, headers: dict[str, str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within 60 s")


def _warm_up(base: str, data: dict[str, Any], token: str, scenarios: Sequence[str]) -> None:
    """A few sequential requests per read scenario: pools, statement caches, imports."""
    headers = {"Authorization": f"Bearer {token}"}
    paths = {
        "jobs_list": "/api/v1/jobs?page=2&per_page=20",
        "job_get": f"/api/v1/jobs/{data['job_ids'][0]}",
        "failed_executions": "/api/v1/executions?status=failed&limit=50",
    }
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for key in scenarios:
            if key in paths:
                for _ in range(30):
                    client.get(paths[key]).raise_for_status()


def _run_locust(
    point: Point,
    scenario: Scenario,
    base: str,
    env: dict[str, str],
    raw: Path,
    server_pid: int,
) -> None:
    prefix = raw / f"{point.stack}-{point.scenario}-{point.users:03d}"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(point.users),
        "--spawn-rate",
        str(point.users),
        "--run-time",
        f"{point.seconds}s",
        "--host",
        base,
        "--csv",
        str(prefix),
        "--only-summary",
        "--reset-stats",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
        scenario.user_class,
    ]
    cpu_before = cpu_seconds(server_pid)
    with (raw / f"{prefix.name}.log").open("wb") as output:
        subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=point.seconds + 120,
            check=True,
        )
    cpu = cpu_seconds(server_pid) - cpu_before
    _read_stats(point, Path(f"{prefix}_stats.csv"), Path(f"{prefix}_failures.csv"))
    if point.requests:
        point.server_cpu_ms_per_request = round(1000 * cpu / point.requests, 2)


def _read_stats(point: Point, stats: Path, failures: Path) -> None:
    with stats.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                point.requests = int(row["Request Count"])
                point.failures = int(row["Failure Count"])
                point.rps = round(float(row["Requests/s"]), 1)
                point.p50_ms = float(row["50%"] if row["50%"] != "N/A" else 0)
                point.p99_ms = float(row["99%"] if row["99%"] != "N/A" else 0)
    if failures.exists():
        with failures.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                point.errors[row["Error"][:120]] = int(row["Occurrences"])


# --- the sweep ---------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> dict[str, Any]:
    raw = RESULTS / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    users: tuple[int, ...] = (
        tuple(args.users) if args.users else (QUICK_USERS if args.quick else FULL_USERS)
    )
    seconds: int = args.seconds or (QUICK_SECONDS if args.quick else FULL_SECONDS)
    stacks = [STACK_BY_KEY[key] for key in args.stacks]
    scenarios = [SCENARIO_BY_KEY[key] for key in args.scenarios]
    port = free_port(args.port)
    target_port = free_port(args.target_port)
    slow_target_port = free_port(args.target_port + 1)
    started = time.monotonic()
    load_before = os.getloadavg()

    points: list[Point] = []
    target_url = f"http://127.0.0.1:{target_port}/hook"
    with seeded_database(target_url, keep=args.keep_db) as seeded:
        database_url, data, token = seeded.database_url, seeded.data, seeded.token
        data["slow_target_url"] = f"http://127.0.0.1:{slow_target_port}/hook"
        data_file = raw / "data.json"
        data_file.write_text(json.dumps(data))
        env = server_environment(database_url)
        if args.max_outbound is not None:
            env["SCHEDULER_MAX_CONCURRENCY"] = str(args.max_outbound)
        locust_env = {**os.environ, "LOADTEST_TOKEN": token, "LOADTEST_DATA": str(data_file)}
        base = f"http://127.0.0.1:{port}"

        with (
            _target_server(target_port, raw / "target.log", TARGET_DELAY_SECONDS),
            _target_server(slow_target_port, raw / "slow-target.log", SLOW_TARGET_DELAY_SECONDS),
        ):
            for stack in stacks:
                keys = [scenario.key for scenario in scenarios if scenario.key in stack.scenarios]
                if not keys:
                    continue
                log = raw / f"server-{stack.key}.log"
                with serving(stack, port, env, log, seeded.probe(base)) as server:
                    _warm_up(base, data, token, keys)
                    for scenario in scenarios:
                        if scenario.key not in keys:
                            continue
                        for count in users:
                            point = Point(stack.key, scenario.key, count, seconds)
                            wait_until_idle(server.pid)
                            _measure(point, scenario, base, locust_env, raw, server, database_url)
                            points.append(point)
                            print(_describe(point), flush=True)
                            profiled = 64 if 64 in users else max(users)
                            if (args.profile, stack.key, count) == (
                                scenario.key,
                                "async",
                                profiled,
                            ):
                                _profile(server.pid, point, scenario, base, locust_env, raw)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m loadtest.run", *sys.argv[1:]]),
        "mode": "quick" if args.quick else "full",
        "seconds_per_point": seconds,
        "users": list(users),
        "wall_seconds": round(time.monotonic() - started),
        "seed_seconds": round(seeded.seed_seconds, 1),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "data": data["counts"],
        "environment": _environment(),
        "points": [asdict(point) for point in points],
    }


def _measure(
    point: Point,
    scenario: Scenario,
    base: str,
    env: dict[str, str],
    raw: Path,
    server: subprocess.Popen[bytes],
    database_url: str,
) -> None:
    since = datetime.now(UTC)
    _run_locust(point, scenario, base, env, raw, server.pid)
    until = datetime.now(UTC)
    if scenario.kind == "io":
        runs = asyncio.run(_manual_runs(database_url, since, until))
        point.backlog_at_stop = int(runs.get("running") or 0)
        # Let the runs still in flight finish before the data is reset.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and runs.get("running"):
            time.sleep(0.5)
            runs = asyncio.run(_manual_runs(database_url, since, until))
        first: datetime | None = runs.get("first_start")
        window = (until - first).total_seconds() if first else 0
        point.delivered_rps = round(int(runs.get("delivered") or 0) / window, 1) if window else 0
        point.failed_runs = int(runs.get("failed") or 0)
    if scenario.kind not in ("read", "wait"):
        asyncio.run(_reset(database_url))


def wait_until_idle(pid: int, limit_seconds: float = 180) -> None:
    """Wait until the server has finished the requests locust gave up on (it goes on serving
    requests whose client has gone), so that they do not weigh on the next point."""
    deadline = time.monotonic() + limit_seconds
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        quiet = quiet + 1 if cpu_seconds(pid) - before < 0.05 else 0


def _profile(
    pid: int, point: Point, scenario: Scenario, base: str, env: dict[str, str], raw: Path
) -> None:
    """py-spy samples the async server during one more run of the same point."""
    output = RESULTS / f"profile-{point.stack}-{point.scenario}-{point.users}.txt"
    collapsed = raw / f"{output.stem}.collapsed"
    spy = start_py_spy(pid, collapsed, point.seconds)
    again = Point(point.stack, point.scenario, point.users, point.seconds)
    _run_locust(again, scenario, base, env, raw, pid)
    spy.wait(timeout=60)
    heading = (
        f"py-spy, {again.stack} stack, {again.scenario}, {again.users} users, {again.seconds} s: "
        f"{again.rps} rps, p50 {again.p50_ms} ms, p99 {again.p99_ms} ms"
    )
    output.write_text(summarize_profile(collapsed, heading))
    print(f"profile written to {output.relative_to(ROOT)}", flush=True)


def start_py_spy(
    pid: int, collapsed: Path, seconds: float, rate: int = 200
) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` for `seconds` into `collapsed` (its raw, collapsed format)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--duration",
            str(max(1, round(seconds))),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(collapsed),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def read_profile(collapsed: Path) -> Iterator[tuple[list[str], int]]:
    """The stacks of a py-spy raw profile, root first ("function (path:line)" each), with
    their sample counts."""
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield stack.split(";"), int(count_text)


def summarize_profile(collapsed: Path, header: str, top: int = 40) -> str:
    """Inclusive and self shares of the sampled frames of a py-spy raw (collapsed) profile."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for stack, count in read_profile(collapsed):
        frames = [frame.split(" (", 1)[0] + _where(frame) for frame in stack]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [
        f"{header}; {total} samples "
        "(idle time included: waits on the event loop's selector show as such)",
        "",
        "inclusive  self  frame",
    ]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:8.1f}% {100 * own[frame] / total:5.1f}%  {frame}")
    lines += ["", "top self time", ""]
    for frame, count in own.most_common(top):
        lines.append(f"{100 * count / total:8.1f}%  {frame}")
    return "\n".join(lines) + "\n"


def _where(frame: str) -> str:
    # "function (path/to/file.py:123)" -> " (file.py)"; the line number would split a function.
    if " (" not in frame:
        return ""
    location = frame.split(" (", 1)[1].rstrip(")")
    path = location.rsplit(":", 1)[0]
    parts = Path(path).parts
    return " (" + "/".join(parts[-2:]) + ")"


def _describe(point: Point) -> str:
    extra = ""
    if point.delivered_rps is not None:
        extra = f", delivered {point.delivered_rps}/s, backlog {point.backlog_at_stop}"
    return (
        f"{point.stack:8} {point.scenario:18} {point.users:4} users: {point.rps:8.1f} rps, "
        f"p50 {point.p50_ms:6.0f} ms, p99 {point.p99_ms:6.0f} ms, "
        f"{point.failures} errors, cpu {point.server_cpu_ms_per_request} ms/req{extra}"
    )


def _environment() -> dict[str, Any]:
    packages: tuple[str, ...] = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg")
    packages += ("psycopg",)
    packages += ("pydantic", "locust", "uvloop", "httptools")
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    postgres = "unknown"
    with contextlib.suppress(Exception):
        postgres = asyncio.run(_postgres_version())
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_gib),
        "python": platform.python_version(),
        "postgresql": postgres,
        "packages": {name: version(name) for name in packages},
    }


async def _postgres_version() -> str:
    connection = await asyncpg.connect(_dsn(databases.server_url()))
    try:
        row = await connection.fetchrow("SHOW server_version")
        fsync = await connection.fetchrow("SHOW fsync")
        commit = await connection.fetchrow("SHOW synchronous_commit")
    finally:
        await connection.close()
    assert row is not None
    assert fsync is not None
    assert commit is not None
    return f"{row[0]} (fsync {fsync[0]}, synchronous_commit {commit[0]})"


# --- the report --------------------------------------------------------------------------------


def _index(points: Sequence[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(p["stack"], p["scenario"], p["users"]): p for p in points}


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "–"
    return f"{numerator / denominator:.2f}×"


def _cell(point: dict[str, Any] | None) -> str:
    if point is None:
        return "– | – | – | –"
    return (
        f"{point['rps']:.0f} | {point['p50_ms']:.0f} | {point['p99_ms']:.0f} | {point['failures']}"
    )


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, verdict, figures) for each target of the issue."""
    index = _index(results["points"])
    verdicts: list[tuple[str, str, str]] = []

    execute_async = index.get(("async", "execute", 256))
    execute_sync = index.get(("sync", "execute", 256))
    if execute_async and execute_sync:
        delivered = execute_async.get("delivered_rps") or 0
        baseline = execute_sync.get("delivered_rps") or execute_sync["rps"]
        ratio = delivered / baseline if baseline else 0
        met = ratio >= 3 and execute_async["failures"] == 0
        verdicts.append(
            (
                "I/O-bound execute at 256 users: async ≥ 3× sync rps, zero errors",
                "met" if met else "missed",
                f"webhooks delivered/s: async {delivered:.0f} vs sync {baseline:.0f} "
                f"= {ratio:.2f}× (responses/s: async {execute_async['rps']:.0f}, "
                f"sync {execute_sync['rps']:.0f}); errors: async "
                f"{execute_async['failures']}, sync {execute_sync['failures']}",
            )
        )
    else:
        verdicts.append(("I/O-bound execute at 256 users", "not measured", ""))

    waiting_async = index.get(("async", "test_run", 256))
    waiting_sync = index.get(("sync", "test_run", 256))
    if waiting_async and waiting_sync:
        ratio = waiting_async["rps"] / waiting_sync["rps"] if waiting_sync["rps"] else 0
        errors = waiting_async["failures"] + waiting_sync["failures"]
        verdicts.append(
            (
                "I/O-bound test-run (300 ms target) at 256 users: async ≥ 3× sync rps, zero errors",
                "met" if ratio >= 3 and errors == 0 else "missed",
                f"{waiting_async['rps']:.0f} vs {waiting_sync['rps']:.0f} rps = {ratio:.2f}×; "
                f"errors: async {waiting_async['failures']}, sync {waiting_sync['failures']}",
            )
        )
    else:
        verdicts.append(("I/O-bound test-run at 256 users", "not measured", ""))

    reads = [s.key for s in SCENARIOS if s.kind == "read"]
    figures, met_all, measured = [], True, True
    for key in reads:
        mine, theirs = index.get(("async", key, 64)), index.get(("sync", key, 64))
        if not mine or not theirs:
            measured = False
            continue
        ratio = mine["rps"] / theirs["rps"] if theirs["rps"] else 0
        met_all &= ratio >= 0.9
        figures.append(f"{SCENARIO_BY_KEY[key].title}: {ratio:.2f}×")
    verdicts.append(
        (
            "DB reads at 64 users: async ≥ 0.9× sync",
            ("met" if met_all else "missed") if measured else "not measured",
            "; ".join(figures),
        )
    )

    mine, ceiling = index.get(("async", "job_get", 64)), index.get(("ceiling", "job_get", 64))
    if mine and ceiling:
        ratio = mine["rps"] / ceiling["rps"] if ceiling["rps"] else 0
        verdicts.append(
            (
                "GET /jobs/{id} at 64 users: full stack ≥ 0.5× the asyncpg ceiling",
                "met" if ratio >= 0.5 else "missed",
                f"{mine['rps']:.0f} vs {ceiling['rps']:.0f} rps = {ratio:.2f}×",
            )
        )
    else:
        verdicts.append(("GET /jobs/{id} at 64 users vs ceiling", "not measured", ""))

    figures, met_all, measured = [], True, True
    for key in reads:
        mine = index.get(("async", key, 64))
        if not mine:
            measured = False
            continue
        met_all &= mine["p99_ms"] < 100 and mine["failures"] == 0
        figures.append(f"{SCENARIO_BY_KEY[key].title}: {mine['p99_ms']:.0f} ms")
    verdicts.append(
        (
            "p99 at 64 users < 100 ms on every read scenario (async)",
            ("met" if met_all else "missed") if measured else "not measured",
            "; ".join(figures),
        )
    )
    return verdicts


def render_report(results: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    env = results["environment"]
    index = _index(results["points"])
    users = results["users"]
    packages = ", ".join(f"{name} {value}" for name, value in env["packages"].items())
    lines = [
        "# Load test: async service vs sync baseline vs asyncpg ceiling",
        "",
        f"Produced by `{results.get('command', 'python -m loadtest.run')}` "
        f"on {results['generated_at']} in {results['wall_seconds'] // 60} min "
        f"{results['wall_seconds'] % 60} s ({results['mode']} mode: "
        f"{results['seconds_per_point']} s per point, users {', '.join(map(str, users))}). "
        "Chart: [rps.png](rps.png); raw figures: [results.json](results.json).",
        "",
        "## Setup, and how far to trust it",
        "",
        f"- Machine: {env['cores']} cores ({env['cpu']}), {env['memory_gib']} GiB. **The load "
        "generator (locust, one process), the server under test and PostgreSQL share these "
        "two cores**, so every figure is a figure of the three together; a server alone on "
        "the machine would do more. Other work may have been running on the machine at the "
        "same time (load average before the run "
        f"{results['load_average_before']}, after {results['load_average_after']}).",
        f"- PostgreSQL {env['postgresql']} on 127.0.0.1; Python {env['python']}; {packages}.",
        f"- Data: {results['data']['jobs']:,} jobs, {results['data']['executions']:,} "
        f"executions ({results['data']['failed_executions']:,} failed), "
        f"{results['data']['users']} users, seeded with COPY in {results['seed_seconds']} s "
        "into a fresh database migrated with Alembic; writes made by a point are deleted "
        "(and the tables vacuumed) before the next one.",
        "- Each stack in turn is served by uvicorn on the same 127.0.0.1 port: 1 worker, uvloop, "
        f"httptools, access log off, LOG_LEVEL=WARNING, scheduler off; database pool "
        f"{POOL_SIZE} + {MAX_OVERFLOW} overflow (the service's defaults) in every stack; "
        f"the sync baseline runs its handlers in a {SYNC_THREADS}-thread pool (Starlette's "
        "default).",
        "- Each point: locust headless, `FastHttpUser`, no think time (N users = N requests in "
        "flight), all users spawned in the first second, statistics reset once they are. "
        "rps = responses per second; p50/p99 in ms as locust buckets them; errors = non-2xx "
        "responses and failed connections. `cpu` = the server process's CPU time per request.",
        "",
        "## Targets",
        "",
        "| target | verdict | figures |",
        "|---|---|---|",
    ]
    for target, verdict, figures in targets(results):
        lines.append(f"| {target} | **{verdict}** | {figures} |")
    if TARGET_NOTES.exists():
        lines += ["", _notes(TARGET_NOTES)]
    lines += [
        "",
        "## What each stack does per request",
        "",
        "| | async (the service) | sync baseline | ceiling |",
        "|---|---|---|---|",
        "| every request | pure-ASGI request-id middleware; FastAPI dependencies; JWT "
        "decode; one query for the user unless the token is revoked; one transaction "
        "(BEGIN … COMMIT) on an asyncpg connection | same middleware, JWT decode and "
        "queries, in one `def` handler on a pool thread, one psycopg 3 transaction | same "
        "middleware, JWT decode and user query; no transaction; asyncpg prepared statements |",
        "| GET /jobs | page query + count query, `JobRead` models, pydantic-core JSON | same "
        "SQL, same models | same SQL, dicts, pydantic-core `to_json` |",
        "| GET /jobs/{id} | one query | same | same |",
        "| GET /executions?status=failed | page query (join job for its name, newest 50) + "
        "count | same | same |",
        "| POST /jobs | validation (cron, zone, URL); name, category and team queries; "
        "INSERT | same | – |",
        "| POST /auth/login | user query, two throttle queries, argon2 verify in a worker "
        "thread (`asyncio.to_thread`, default executor), four cleanup DELETEs, refresh-token "
        "INSERT | same, argon2 on the request's pool thread | – |",
        "| POST /jobs/{id}/execute | job query, INSERT running execution, COMMIT, **answer 202**; "
        "the webhook call (50 ms target) and the outcome UPDATE happen after the response in "
        "the dispatcher (up to 100 calls at once, outcomes written in batches) | job query, "
        "INSERT, COMMIT, **the webhook call inside the request** (httpx, sync), UPDATE outcome, "
        "COMMIT, then answer (as the Flask service did) | – |",
        "| POST /jobs/test-run | user query, COMMIT, the call to the 300 ms target on the "
        "shared aiohttp client (up to SCHEDULER_MAX_CONCURRENCY connections), answer; nothing "
        "stored | user query, COMMIT, the call (httpx, sync) on the request's pool thread, "
        "answer | – |",
        "",
        "For execute, the response rate alone would flatter the async service, which answers "
        "before calling the target; `delivered/s` counts runs whose webhook call completed "
        "successfully during the point, read from the database, and `backlog` the runs still "
        "waiting for their call when the load stopped. The target verdict uses `delivered/s`.",
        "",
        "## Results",
        "",
        "rps | p50 ms | p99 ms | errors for each stack; ratios of rps. "
        "cpu = server CPU ms per request (async / sync / ceiling).",
        "",
    ]
    for scenario in SCENARIOS:
        if not any(key[1] == scenario.key for key in index):
            continue
        has_ceiling = any(key[:2] == ("ceiling", scenario.key) for key in index)
        lines += [f"### {scenario.title}", ""]
        header = "| users | async rps | p50 | p99 | err | sync rps | p50 | p99 | err |"
        rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        if has_ceiling:
            header += " ceiling rps | p50 | p99 | err |"
            rule += "---:|---:|---:|---:|"
        header += " async/sync |"
        rule += "---:|"
        if has_ceiling:
            header += " async/ceiling |"
            rule += "---:|"
        if scenario.kind == "io":
            header += " delivered/s async | sync | backlog async |"
            rule += "---:|---:|---:|"
        header += " cpu ms/req |"
        rule += "---|"
        lines += [header, rule]
        for count in users:
            mine = index.get(("async", scenario.key, count))
            theirs = index.get(("sync", scenario.key, count))
            ceiling = index.get(("ceiling", scenario.key, count))
            row = f"| {count} | {_cell(mine)} | {_cell(theirs)} |"
            if has_ceiling:
                row += f" {_cell(ceiling)} |"
            rps = {name: p["rps"] if p else None for name, p in (("a", mine), ("s", theirs))}
            row += f" {_ratio(rps['a'], rps['s'])} |"
            if has_ceiling:
                row += f" {_ratio(rps['a'], ceiling['rps'] if ceiling else None)} |"
            if scenario.kind == "io":
                row += (
                    f" {_fmt(mine, 'delivered_rps')} | {_fmt(theirs, 'delivered_rps')} |"
                    f" {_fmt(mine, 'backlog_at_stop')} |"
                )
            cpus = [
                _fmt(point, "server_cpu_ms_per_request", 1)
                for point in (mine, theirs, ceiling)
                if point is not None
            ]
            row += f" {' / '.join(cpus)} |"
            lines.append(row)
        errors = _errors(results["points"], scenario.key)
        if errors:
            lines += ["", "Errors: " + "; ".join(errors)]
        lines.append("")
    if baseline is not None:
        lines += _before_after(baseline, results)
    if PROFILING_NOTES.exists():
        lines += ["", _notes(PROFILING_NOTES), ""]
    lines += [
        "## Reproduce",
        "",
        "```sh",
        "make loadtest                 # full sweep, about 20 minutes; rewrites this report",
        "make loadtest ARGS=--quick    # 2 concurrency levels x 4 s, under 5 minutes",
        "make loadtest ARGS='--stacks async --scenarios job_get --users 64 --profile job_get'",
        "```",
        "",
        "PostgreSQL comes from `TEST_DATABASE_URL`, else 127.0.0.1:5432, else a throwaway "
        "cluster (scripts/ensure_postgres.sh, as `make test`).",
        "",
    ]
    return "\n".join(lines)


def _notes(path: Path) -> str:
    """A hand-written section, without its leading HTML comment."""
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("<!--"):
        text = text.split("-->", 1)[1].strip()
    return text


def _fmt(point: dict[str, Any] | None, key: str, digits: int = 0) -> str:
    if point is None or point.get(key) is None:
        return "–"
    return f"{point[key]:.{digits}f}"


def _errors(points: Sequence[dict[str, Any]], scenario: str) -> list[str]:
    found: dict[str, int] = defaultdict(int)
    for point in points:
        if point["scenario"] == scenario:
            for message, count in point["errors"].items():
                found[f"{point['stack']} @{point['users']}: {message}"] += count
    return [f"{message} ×{count}" for message, count in found.items()]


def _before_after(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old, new = _index(before["points"]), _index(after["points"])
    lines = [
        "## Async stack before and after the changes",
        "",
        f"Before: the code before the changes described below, measured "
        f"{before['generated_at']} ({before.get('note', 'one run')}); after: this run. Same "
        "machine, data and harness. The machine is shared: identical runs in the same hour "
        "differed by up to 20–40 %, so read small differences as noise; the cpu column (server "
        "CPU time per request) is the least disturbed by other load.",
        "",
        "| scenario | users | rps before | rps after | p99 before | p99 after "
        "| errors before | after | cpu ms/req before | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in SCENARIOS:
        for count in after["users"]:
            was, now = (
                old.get(("async", scenario.key, count)),
                new.get(("async", scenario.key, count)),
            )
            if was is None or now is None:
                continue
            lines.append(
                f"| {scenario.title} | {count} | {was['rps']:.0f} | {now['rps']:.0f} | "
                f"{was['p99_ms']:.0f} | {now['p99_ms']:.0f} | "
                f"{was['failures']} | {now['failures']} | "
                f"{_fmt(was, 'server_cpu_ms_per_request', 2)} | "
                f"{_fmt(now, 'server_cpu_ms_per_request', 2)} |"
            )
    return [*lines, ""]


def render_chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    index = _index(results["points"])
    users = results["users"]
    shown = [s for s in SCENARIOS if any(key[1] == s.key for key in index)]
    columns = 3
    rows = -(-len(shown) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    colours = {"async": "tab:blue", "sync": "tab:orange", "ceiling": "tab:green"}
    for number, scenario in enumerate(shown):
        axis = axes[number // columns][number % columns]
        for stack in STACKS:
            xs = [n for n in users if (stack.key, scenario.key, n) in index]
            if not xs:
                continue
            ys = [index[(stack.key, scenario.key, n)]["rps"] for n in xs]
            axis.plot(xs, ys, marker="o", color=colours[stack.key], label=f"{stack.key} responses")
            if scenario.kind == "io":
                delivered = [index[(stack.key, scenario.key, n)]["delivered_rps"] or 0 for n in xs]
                axis.plot(
                    xs,
                    delivered,
                    marker="x",
                    linestyle="--",
                    color=colours[stack.key],
                    label=f"{stack.key} delivered",
                )
        axis.set_title(scenario.title, fontsize=10)
        axis.set_xscale("log", base=2)
        axis.set_xticks(users)
        axis.set_xticklabels([str(n) for n in users])
        axis.set_xlabel("concurrent users")
        axis.set_ylabel("requests / s")
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    for number in range(len(shown), rows * columns):
        axes[number // columns][number % columns].axis("off")
    figure.suptitle(
        f"rps vs concurrency — {results['environment']['cores']} cores shared by locust, "
        f"server and PostgreSQL ({results['generated_at']})",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_outputs(results: dict[str, Any], output: Path, baseline: Path | None) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    before = json.loads(baseline.read_text()) if baseline and baseline.exists() else None
    (output / "report.md").write_text(render_report(results, before))
    render_chart(results, output / "rps.png")
    print(f"wrote {output / 'report.md'} and {output / 'rps.png'}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="2 concurrency levels x 4 s")
    parser.add_argument("--users", type=int, nargs="+", help="concurrency levels")
    parser.add_argument("--seconds", type=int, help="seconds per point")
    parser.add_argument("--stacks", nargs="+", default=list(STACK_BY_KEY), choices=STACK_BY_KEY)
    parser.add_argument(
        "--scenarios", nargs="+", default=list(SCENARIO_BY_KEY), choices=SCENARIO_BY_KEY
    )
    parser.add_argument("--port", type=int, default=8100, help="port of the server under test")
    parser.add_argument("--target-port", type=int, default=8199, help="port of the 50 ms target")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where results go")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=RESULTS / "before.json",
        help="an earlier results.json of the async stack, for a before/after table",
    )
    parser.add_argument(
        "--profile", choices=SCENARIO_BY_KEY, help="sample the async server with py-spy"
    )
    parser.add_argument(
        "--max-outbound",
        type=int,
        help="SCHEDULER_MAX_CONCURRENCY of the async service: its outbound connections, shared "
        "by runs and test runs (default: the service's, 100)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--report-only", action="store_true", help="rewrite report.md and rps.png")
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads((args.output / "results.json").read_text())
    else:
        results = _run(args)
    write_outputs(results, args.output, args.baseline)


if __name__ == "__main__":
    main()

"""Retry chains under faults, measured from outside: do kills and a database cut lose retries?

    python -m loadtest.retry_chaos [--code DIR] [--jobs 60] [--minutes 4] [--schedulers 3]

N every-minute jobs (max_retries 2) call a loopback target that answers 503 with
`Retry-After` (a fixed backoff) to every attempt of half of the jobs ("down": each slot must end
in one final failure, with its alerts) and to the first two attempts of each slot of the other
half ("flaky": each slot must end in a success at attempt 3). `python -m scheduler` runs in
`--schedulers` real processes of the code in DIR (default: this tree), all connected to a fresh
PostgreSQL database through a loopback TCP proxy. Each minute two of them are killed with
SIGKILL a few seconds after the slot (while its chains wait for their backoff) and restarted;
once, the proxy cuts every database connection for `--cut-seconds` across a retry's due time.
After the last slot the jobs are paused and the chains given time to finish, then the database,
the target and a loopback SMTP server are read:

- chains cut early: a slot whose last attempt failed with a retry due that was never made;
- slots with no final outcome alert: the last attempt failed and no in-app failure
  notification / no failure email reached the job's address;
- duplicates: alerts or emails per slot beyond one, attempts per slot beyond 3;
- failure streaks undercounted: for the "down" jobs, slots minus `consecutive_failures`;
- "Task exception was never retrieved" lines and tracebacks in the schedulers' logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.enums import UserRole
from models import Job, User
from tests.support import databases
from tests.support.http_target import HttpTarget, ReceivedRequest, Reply, failing_first_attempts
from tests.support.scheduler_process import SchedulerProcess
from tests.support.smtp_server import SmtpServer
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[1]
MAX_RETRIES = 2
BACKOFF_SECONDS = 12
LEASE_SECONDS = 30
# Seconds after each slot at which a scheduler is killed (restarted RESTART_AFTER later): both
# fall inside the backoff before attempt 2 or 3, when a chain exists only as a pending retry.
KILLS_AT = (5, 16)
RESTART_AFTER = 3
CUT_AT = 6  # seconds after the slot of the minute with the database cut: attempt 2 is due in it


class Fleet:
    """The scheduler processes, killed and restarted in place."""

    def __init__(self, code: Path, env: dict[str, str], logs: Path, size: int) -> None:
        self.processes = [
            SchedulerProcess(env, logs / f"scheduler-{index}.log", code) for index in range(size)
        ]
        self.kills = 0

    async def start_all(self) -> None:
        for process in self.processes:
            await process.start()

    async def kill(self, index: int) -> None:
        await self.processes[index].kill()
        self.kills += 1

    async def restart(self, index: int) -> None:
        await self.processes[index].start()

    async def stop_all(self) -> None:
        for process in self.processes:
            await process.stop()


def _responder() -> Any:
    failing = Reply(status=503, headers={"Retry-After": str(BACKOFF_SECONDS)})
    flaky = failing_first_attempts(MAX_RETRIES, failing)

    def respond(request: ReceivedRequest) -> Reply:
        return flaky(request) if request.path.startswith("/flaky") else failing

    return respond


async def _migrate(code: Path, database_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "upgrade",
        "head",
        cwd=code,
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(code)},
    )
    if await process.wait() != 0:
        raise RuntimeError("migration failed")


async def _seed(engine: AsyncEngine, jobs: int, target_url: str, first_slot: datetime) -> None:
    owner_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            insert(User),
            [
                {
                    "id": owner_id,
                    "username": "chaos-owner",
                    "email": "owner@example.com",
                    "password_hash": "not-a-real-hash",
                    "role": UserRole.USER,
                }
            ],
        )
        await connection.execute(
            insert(Job),
            [
                {
                    "id": uuid.uuid4(),
                    "name": f"chaos-{i}",
                    "cron_expression": "* * * * *",
                    "timezone": "UTC",
                    "target_url": f"{target_url}/{'flaky' if i % 2 else 'down'}/{i}",
                    "http_method": "POST",
                    "job_metadata": {},
                    "category": "general",
                    "pic_team": "chaos",
                    "end_date": date(2099, 1, 1),
                    "enable_email_notifications": True,
                    "notification_emails": [f"job{i}@example.com"],
                    "max_retries": MAX_RETRIES,
                    "timeout_seconds": 10,
                    "created_by": owner_id,
                    "next_run_at": first_slot,
                }
                for i in range(jobs)
            ],
        )


async def _wait_until(instant: datetime) -> None:
    await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))


async def _chaos(fleet: Fleet, proxy: TcpProxy, first_slot: datetime, args: Any) -> list[str]:
    events: list[str] = []
    if args.no_faults:
        return events
    cut_minute = args.minutes // 2
    for minute in range(args.minutes):
        slot = first_slot + timedelta(minutes=minute)
        if minute == cut_minute:
            await _wait_until(slot + timedelta(seconds=CUT_AT))
            await proxy.stop()
            events.append(f"{datetime.now(UTC):%H:%M:%S} database cut for {args.cut_seconds}s")
            await asyncio.sleep(args.cut_seconds)
            await proxy.start()
            continue
        for turn, second in enumerate(KILLS_AT):
            victim = (minute + turn) % args.schedulers
            await _wait_until(slot + timedelta(seconds=second))
            await fleet.kill(victim)
            events.append(f"{datetime.now(UTC):%H:%M:%S} killed scheduler {victim}")
            await asyncio.sleep(RESTART_AFTER)
            await fleet.restart(victim)
    return events


async def _measure(
    engine: AsyncEngine, target: HttpTarget, smtp: SmtpServer, logs: Path
) -> dict[str, Any]:
    async with engine.connect() as connection:
        jobs = {
            row.id: row
            for row in await connection.execute(
                text("SELECT id, target_url, consecutive_failures, notification_emails FROM job")
            )
        }
        executions = (
            await connection.execute(
                text(
                    "SELECT id, job_id, scheduled_for, attempt, status, error_message "
                    "FROM job_execution WHERE trigger_type = 'scheduled'"
                )
            )
        ).all()
        alerts = Counter(
            row.related_execution_id
            for row in await connection.execute(
                text("SELECT related_execution_id FROM notification WHERE type = 'error'")
            )
        )
    slots: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    slot_of_execution = {}
    for row in executions:
        slots[(row.job_id, row.scheduled_for)].append(row)
        slot_of_execution[str(row.id)] = (row.job_id, row.scheduled_for)
    emails: Counter[tuple[Any, Any]] = Counter()
    for mail in smtp.received:
        slot = slot_of_execution.get(str(mail.message["X-Cron-Execution-Id"]))
        job_address = slot and jobs[slot[0]].notification_emails[0]
        if slot is not None and job_address in mail.recipients:
            emails[slot] += 1

    figures: Counter[str] = Counter()
    down_slots: Counter[Any] = Counter()
    for (job_id, scheduled_for), rows in slots.items():
        rows.sort(key=lambda row: row.attempt)
        last = rows[-1]
        down = "/down/" in jobs[job_id].target_url
        figures["slots"] += 1
        if last.status == "missed":
            figures["missed (no scheduler running)"] += 1
            continue
        if down:
            down_slots[job_id] += 1
        if last.status == "running":
            figures["left running"] += 1
            continue
        interrupted = last.status == "failed" and last.error_message == "interrupted"
        if last.status == "success":
            figures["ended in success"] += 1
        elif last.attempt > MAX_RETRIES or interrupted:
            figures["ended in a final failure"] += 1
            if interrupted:
                figures["  of which interrupted runs"] += 1
        else:
            figures["chains cut early"] += 1
        if last.status == "failed":
            slot_alerts = sum(alerts[row.id] for row in rows)
            if slot_alerts == 0:
                figures["failed slots without a failure alert (in-app)"] += 1
            if emails[(job_id, scheduled_for)] == 0:
                figures["failed slots without a failure email"] += 1
            figures["duplicate alerts"] += max(0, slot_alerts - 1)
            figures["duplicate emails"] += max(0, emails[(job_id, scheduled_for)] - 1)
    figures["failure streak undercount (down jobs)"] = sum(
        count - jobs[job_id].consecutive_failures for job_id, count in down_slots.items()
    )
    attempts = Counter(request.headers.get("idempotency-key") for request in target.received)
    figures["slots attempted more than 3 times"] = sum(1 for n in attempts.values() if n > 3)
    pairs = Counter(
        (request.headers.get("idempotency-key"), request.headers.get("x-cron-attempt"))
        for request in target.received
    )
    figures["attempts made twice"] = sum(n - 1 for n in pairs.values() if n > 1)
    log_text = await asyncio.to_thread(_read_logs, logs)
    figures["'Task exception was never retrieved' in logs"] = log_text.count(
        "Task exception was never retrieved"
    )
    figures["tracebacks in logs"] = log_text.count("Traceback (most recent call last)")
    return dict(figures)


def _read_logs(logs: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in sorted(logs.glob("*.log")))


async def _run(args: Any) -> dict[str, Any]:
    code = Path(args.code)
    server = databases.server_url()
    database_url = await databases.create_empty_database(server)
    await _migrate(code, database_url)
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    target, smtp = HttpTarget(), SmtpServer()
    target.responder = _responder()
    await target.start()
    await smtp.start()
    logs = Path(tempfile.mkdtemp(prefix="retry-chaos-"))
    engine = create_async_engine(database_url)
    env = {
        "DATABASE_URL": url.set(port=proxy.port).render_as_string(hide_password=False),
        "ALLOW_PRIVATE_TARGETS": "true",
        "EXECUTION_LEASE_SECONDS": str(LEASE_SECONDS),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_STARTTLS": "false",
        "NOTIFICATION_POLL_SECONDS": "1",
        # Small claims, so that the schedulers share each minute's slots.
        "SCHEDULER_BATCH_SIZE": "10",
        "LOG_LEVEL": "WARNING",
    }
    fleet = Fleet(code, env, logs, args.schedulers)
    try:
        now = datetime.now(UTC)
        first_slot = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if (first_slot - now).total_seconds() < 15:
            first_slot += timedelta(minutes=1)
        await _seed(engine, args.jobs, target.url, first_slot)
        await fleet.start_all()
        events = await _chaos(fleet, proxy, first_slot, args)
        last_slot = first_slot + timedelta(minutes=args.minutes - 1)
        await _wait_until(last_slot + timedelta(seconds=50))
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE job SET is_active = false, next_run_at = NULL"))
        # Long enough for a chain (2 backoffs), a lease to lapse and its reaping, and alerts.
        await asyncio.sleep(2 * BACKOFF_SECONDS + LEASE_SECONDS + 20)
        figures = await _measure(engine, target, smtp, logs)
    finally:
        await fleet.stop_all()
        await engine.dispose()
        await target.stop()
        await smtp.stop()
        await proxy.stop()
        await databases.drop_database(server, database_url)
    return {
        "code": str(code),
        "jobs": args.jobs,
        "minutes": args.minutes,
        "schedulers": args.schedulers,
        "kills": fleet.kills,
        "events": events,
        "logs": str(logs),
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", default=str(ROOT), help="the source tree whose scheduler runs")
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--minutes", type=int, default=4)
    parser.add_argument("--schedulers", type=int, default=3)
    parser.add_argument("--cut-seconds", type=float, default=10)
    parser.add_argument("--no-faults", action="store_true", help="a control run: no kill, no cut")
    args = parser.parse_args()
    args.code = str(Path(args.code).resolve())
    result = asyncio.run(_run(args))
    with contextlib.suppress(BrokenPipeError):
        print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()

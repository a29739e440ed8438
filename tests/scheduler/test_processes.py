"""Retry chains across real `python -m scheduler` processes: killed with SIGKILL during the
backoff, or cut from the database by a loopback TCP proxy (a PostgreSQL restart as the
scheduler sees it). The chain goes on, ends in one final outcome, and its alerts (in-app and
email, to a real SMTP server) are sent once. Backoffs are a few seconds (Retry-After)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.enums import ExecutionStatus
from models import Job, JobExecution, Notification, User
from tests.scheduler.conftest import JobMaker, executions_of
from tests.support.http_target import HttpTarget, Reply, failing_first_attempts
from tests.support.scheduler_process import SchedulerProcess
from tests.support.server_process import server_process
from tests.support.smtp_server import SmtpServer
from tests.support.tcp_proxy import TcpProxy

BACKOFF_SECONDS = 4
ONCALL = "oncall@example.com"
Rows = list[JobExecution]


def busy() -> Reply:
    return Reply(status=503, headers={"Retry-After": str(BACKOFF_SECONDS)})


@pytest.fixture
def scheduler_env(database_url: str, smtp_server: SmtpServer) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ALLOW_PRIVATE_TARGETS": "true",
        "SCHEDULER_POLL_SECONDS": "0.2",
        "EXECUTION_LEASE_SECONDS": "6",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_STARTTLS": "false",
        "NOTIFICATION_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "INFO",
    }


Launch = Callable[[dict[str, str]], Awaitable[SchedulerProcess]]


@pytest.fixture
async def launch(tmp_path: Path) -> AsyncIterator[Launch]:
    """Start a scheduler process with `env`; whatever is still running is stopped after."""
    started: list[SchedulerProcess] = []

    async def start(env: dict[str, str]) -> SchedulerProcess:
        process = SchedulerProcess(env, tmp_path / f"scheduler-{len(started) + 1}.log")
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        await process.stop()


async def due_now(
    make_job: JobMaker, committing: async_sessionmaker[AsyncSession], **fields: object
) -> Job:
    """A job with one slot due now by the wall clock (the processes run on the real clock);
    its next one is months away, so a slow machine never sees a second slot."""
    job = await make_job(
        cron_expression="0 0 1 1 *",
        end_date=date(2099, 1, 1),
        enable_email_notifications=True,
        notification_emails=[ONCALL],
        **fields,
    )
    async with committing.begin() as session:
        await session.execute(
            update(Job).where(Job.id == job.id).values(next_run_at=datetime.now(UTC))
        )
    return job


async def wait_for(
    committing: async_sessionmaker[AsyncSession],
    job: Job,
    condition: Callable[[Rows], bool],
    within_seconds: float = 40,
) -> Rows:
    async with asyncio.timeout(within_seconds):
        while True:
            rows = await executions_of(committing, job.id)
            if condition(rows):
                return rows
            await asyncio.sleep(0.1)


def retry_pending(attempt: int) -> Callable[[Rows], bool]:
    """Attempt `attempt` is recorded as failed and its retry is waiting in the database."""
    return lambda rows: len(rows) == attempt and rows[-1].next_attempt_at is not None


def finished(attempts: int) -> Callable[[Rows], bool]:
    return lambda rows: (
        len(rows) == attempts
        and rows[-1].status != ExecutionStatus.RUNNING
        and rows[-1].next_attempt_at is None
    )


async def failure_alerts(committing: async_sessionmaker[AsyncSession], job: Job) -> list[str]:
    async with committing() as session:
        notes = await session.scalars(
            select(Notification.type).where(Notification.related_job_id == job.id)
        )
        return list(notes)


async def streak(committing: async_sessionmaker[AsyncSession], job: Job) -> int:
    async with committing() as session:
        refreshed = await session.get(Job, job.id)
        assert refreshed is not None
        return refreshed.consecutive_failures


def assert_one_slot(http_target: HttpTarget, attempts: int) -> None:
    assert len({r.headers["idempotency-key"] for r in http_target.received}) == 1
    assert [r.headers["x-cron-attempt"] for r in http_target.received] == [
        str(n) for n in range(1, attempts + 1)
    ]


def assert_clean_logs(process: SchedulerProcess) -> None:
    log = process.log()
    assert "Task exception was never retrieved" not in log
    assert "Traceback" not in log


async def test_a_scheduler_killed_during_each_backoff_cuts_no_chain(
    make_job: JobMaker,
    owner: User,
    committing: async_sessionmaker[AsyncSession],
    http_target: HttpTarget,
    smtp_server: SmtpServer,
    scheduler_env: dict[str, str],
    launch: Launch,
) -> None:
    http_target.default = busy()
    job = await due_now(make_job, committing, target_url=http_target.url, max_retries=2)
    for attempt in (1, 2):
        process = await launch(scheduler_env)
        await wait_for(committing, job, retry_pending(attempt))
        await process.kill()
        # Killed inside the backoff: the next attempt was not made, it is only a due time.
        assert len(await executions_of(committing, job.id)) == attempt
        assert len(http_target.received) == attempt

    survivor = await launch(scheduler_env)
    rows = await wait_for(committing, job, finished(attempts=3))
    await smtp_server.wait_for(2, within_seconds=20)  # the job's list and its owner

    assert [(r.attempt, r.status, r.response_status) for r in rows] == [
        (1, ExecutionStatus.FAILED, 503),
        (2, ExecutionStatus.FAILED, 503),
        (3, ExecutionStatus.FAILED, 503),
    ]
    assert_one_slot(http_target, attempts=3)
    assert await failure_alerts(committing, job) == ["error"]
    assert await streak(committing, job) == 1
    await survivor.stop()
    assert smtp_server.recipients == sorted([ONCALL, owner.email])
    assert {mail.message["X-Cron-Execution-Id"] for mail in smtp_server.received} == {
        str(rows[-1].id)
    }
    assert_clean_logs(survivor)


@pytest.fixture
async def database_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.stop()


def through(proxy: TcpProxy, env: dict[str, str]) -> dict[str, str]:
    url = make_url(env["DATABASE_URL"]).set(port=proxy.port)
    return {**env, "DATABASE_URL": url.render_as_string(hide_password=False)}


@pytest.mark.postgres_only
async def test_a_database_cut_during_the_backoff_cuts_no_chain(
    make_job: JobMaker,
    committing: async_sessionmaker[AsyncSession],
    http_target: HttpTarget,
    scheduler_env: dict[str, str],
    launch: Launch,
    database_proxy: TcpProxy,
) -> None:
    http_target.responder = failing_first_attempts(1, busy())
    job = await due_now(make_job, committing, target_url=http_target.url, max_retries=2)
    process = await launch(through(database_proxy, scheduler_env))
    await wait_for(committing, job, retry_pending(1))

    await database_proxy.stop()  # every connection dropped, new ones refused
    await asyncio.sleep(BACKOFF_SECONDS + 2)  # the retry falls due while the database is away
    assert len(http_target.received) == 1
    await database_proxy.start()

    rows = await wait_for(committing, job, finished(attempts=2))
    assert [(r.attempt, r.status) for r in rows] == [
        (1, ExecutionStatus.FAILED),
        (2, ExecutionStatus.SUCCESS),
    ]
    assert_one_slot(http_target, attempts=2)
    assert await failure_alerts(committing, job) == []
    assert process.alive
    assert await process.stop() == 0
    assert "Task exception was never retrieved" not in process.log()


@pytest.mark.postgres_only
async def test_a_database_cut_while_an_outcome_is_written_still_records_it(
    make_job: JobMaker,
    committing: async_sessionmaker[AsyncSession],
    http_target: HttpTarget,
    scheduler_env: dict[str, str],
    launch: Launch,
    database_proxy: TcpProxy,
) -> None:
    http_target.respond(Reply(status=200, delay_seconds=2))
    job = await due_now(make_job, committing, target_url=http_target.url)
    process = await launch(through(database_proxy, scheduler_env))
    await http_target.wait_for_requests(1, within_seconds=30)

    await database_proxy.stop()  # the target answers while the database is away
    await asyncio.sleep(4)
    await database_proxy.start()

    [row] = await wait_for(committing, job, finished(attempts=1))
    assert (row.status, row.error_message) == (ExecutionStatus.SUCCESS, None)
    assert "could not record 1 outcomes" in process.log()
    assert await process.stop() == 0
    assert "Task exception was never retrieved" not in process.log()


async def test_a_cancel_through_the_api_process_stops_the_call_in_the_scheduler_process(
    make_job: JobMaker,
    committing: async_sessionmaker[AsyncSession],
    http_target: HttpTarget,
    scheduler_env: dict[str, str],
    launch: Launch,
    database_url: str,
) -> None:
    """Two real processes: the scheduler makes the call, the API (no scheduler of its own)
    takes the cancel; the scheduler learns of it from the database and hangs up."""
    http_target.default = Reply(hang=True)
    api_process = server_process(database_url, scheduler_enabled=False)
    api = await asyncio.to_thread(api_process.__enter__)
    try:
        headers = await asyncio.to_thread(api.admin_headers)
        job = await due_now(
            make_job,
            committing,
            target_url=http_target.url,
            max_retries=3,
            timeout_seconds=300,  # the call only ends by the cancel
        )
        scheduler = await launch(scheduler_env)
        [running] = await wait_for(
            committing, job, lambda rows: len(rows) == 1 and len(http_target.received) == 1
        )
        async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=30) as client:
            answer = await client.post(f"/api/v1/executions/{running.id}/cancel")
        assert answer.status_code == 200, answer.text
        await http_target.wait_for_hang_ups(1, within_seconds=10)
    finally:
        await asyncio.to_thread(api_process.__exit__, None, None, None)

    # Longer than a lease and a backoff: nothing is retried, reaped or alerted.
    await asyncio.sleep(int(scheduler_env["EXECUTION_LEASE_SECONDS"]) + 1)
    [cancelled] = await executions_of(committing, job.id)
    assert (cancelled.status, cancelled.error_message) == (
        ExecutionStatus.CANCELLED,
        "cancelled by admin",
    )
    assert len(http_target.received) == 1
    assert await failure_alerts(committing, job) == []
    await scheduler.stop()
    assert f"abandoned the call of run {running.id}: it was cancelled" in scheduler.log()
    assert_clean_logs(scheduler)

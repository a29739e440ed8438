"""Retries are state in the database: a failed attempt stores when its next one is due, and
whichever scheduler is live then makes it. (Real processes killed and cut from the database
during the backoff: test_processes.py.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import db
from core.enums import ExecutionStatus
from models import Job, JobExecution
from tests.scheduler.conftest import (
    JobMaker,
    SchedulerMaker,
    executions_of,
    failure_notes,
    run_pass,
)
from tests.support.clock import FrozenClock
from tests.support.http_target import HttpTarget, Reply, failing_first_attempts

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
SLOT = T0 + timedelta(minutes=1)


def busy(retry_after: int) -> Reply:
    return Reply(status=503, headers={"Retry-After": str(retry_after)})


async def streak(committing: async_sessionmaker[AsyncSession], job: Job) -> int:
    async with committing() as session:
        refreshed = await session.get(Job, job.id)
        assert refreshed is not None
        return refreshed.consecutive_failures


async def test_a_failed_attempt_stores_its_retry_and_the_retry_keeps_the_slot(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(T0)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url, max_retries=2)
    http_target.respond(Reply(status=500, body=b"boom"), Reply(status=200, body=b"fine"))
    scheduler = make_scheduler(retry_backoff_base_seconds=4)
    clock.set(SLOT)
    await run_pass(scheduler)

    [first] = await executions_of(committing, job.id)
    assert (first.attempt, first.status, first.output) == (1, ExecutionStatus.FAILED, "boom")
    assert first.next_attempt_at is not None
    assert first.completed_at is not None
    assert timedelta(0) <= first.next_attempt_at - first.completed_at <= timedelta(seconds=4)

    clock.set(first.next_attempt_at)
    await run_pass(scheduler)

    executions = await executions_of(committing, job.id)
    assert [(e.attempt, e.status, e.response_status, e.next_attempt_at) for e in executions] == [
        (1, ExecutionStatus.FAILED, 500, None),
        (2, ExecutionStatus.SUCCESS, 200, None),
    ]
    assert {e.scheduled_for for e in executions} == {SLOT}
    assert [r.headers["x-cron-attempt"] for r in http_target.received] == ["1", "2"]
    keys = {r.headers["idempotency-key"] for r in http_target.received}
    assert keys == {f"{job.id}:{SLOT.isoformat()}"}
    assert await failure_notes(committing, job) == 0
    assert await streak(committing, job) == 0


async def test_a_retry_waits_for_its_due_time_honouring_retry_after(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(T0)
    job = await make_job(cron_expression="0 * * * *", target_url=http_target.url, max_retries=1)
    http_target.default = busy(retry_after=20)
    scheduler = make_scheduler()
    clock.set(T0 + timedelta(hours=1))
    await run_pass(scheduler)
    [first] = await executions_of(committing, job.id)
    assert first.next_attempt_at == first.completed_at + timedelta(seconds=20)  # type: ignore[operator]

    clock.advance(timedelta(seconds=19))
    assert await run_pass(scheduler) == 0
    assert len(http_target.received) == 1

    clock.advance(timedelta(seconds=1))
    assert await run_pass(scheduler) == 1

    executions = await executions_of(committing, job.id)
    assert [(e.attempt, e.status, e.next_attempt_at) for e in executions] == [
        (1, ExecutionStatus.FAILED, None),
        (2, ExecutionStatus.FAILED, None),  # max_retries reached: final
    ]
    assert await failure_notes(committing, job) == 1
    assert await streak(committing, job) == 1


async def test_another_scheduler_makes_the_retry_of_one_that_is_gone(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(T0)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url, max_retries=2)
    http_target.default = busy(retry_after=5)
    first, second, third = (make_scheduler() for _ in range(3))

    clock.set(SLOT)
    await run_pass(first)  # then it is gone: nothing in memory carries the chain on
    clock.advance(timedelta(seconds=5))
    await run_pass(second)
    clock.advance(timedelta(seconds=5))
    await run_pass(third)
    clock.advance(timedelta(seconds=5))
    assert await run_pass(third) == 0

    executions = await executions_of(committing, job.id)
    assert [(e.attempt, e.status, e.next_attempt_at) for e in executions] == [
        (1, ExecutionStatus.FAILED, None),
        (2, ExecutionStatus.FAILED, None),
        (3, ExecutionStatus.FAILED, None),
    ]
    assert len(http_target.received) == 3
    assert await failure_notes(committing, job) == 1
    assert await streak(committing, job) == 1


async def test_a_retry_waiting_longer_than_a_lease_is_not_reaped(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(T0)
    job = await make_job(cron_expression="0 * * * *", target_url=http_target.url, max_retries=1)
    http_target.respond(busy(retry_after=50))
    scheduler = make_scheduler(execution_lease_seconds=10, retry_backoff_max_seconds=60)
    clock.set(T0 + timedelta(hours=1))
    await run_pass(scheduler)

    for _ in range(4):  # 40 s: four leases' worth, the retry still ahead
        clock.advance(timedelta(seconds=10))
        assert await run_pass(scheduler) == 0
    [waiting] = await executions_of(committing, job.id)
    assert (waiting.status, waiting.error_message) == (ExecutionStatus.FAILED, "HTTP 503")
    assert await failure_notes(committing, job) == 0

    clock.advance(timedelta(seconds=10))
    await run_pass(scheduler)

    executions = await executions_of(committing, job.id)
    assert [(e.attempt, e.status) for e in executions] == [
        (1, ExecutionStatus.FAILED),
        (2, ExecutionStatus.SUCCESS),
    ]
    assert await failure_notes(committing, job) == 0


async def test_a_retry_of_a_deleted_job_is_dropped(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(T0)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url, max_retries=1)
    http_target.default = busy(retry_after=5)
    scheduler = make_scheduler()
    clock.set(SLOT)
    await run_pass(scheduler)
    async with committing.begin() as session:
        await session.delete(await session.get(Job, job.id))

    clock.advance(timedelta(seconds=5))
    assert await run_pass(scheduler) == 0
    assert len(http_target.received) == 1


@pytest.mark.postgres_only
async def test_two_schedulers_make_each_due_retry_once(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(T0)
    jobs = [
        await make_job(cron_expression="* * * * *", target_url=http_target.url, max_retries=3)
        for _ in range(60)
    ]
    http_target.responder = failing_first_attempts(3, busy(retry_after=5))
    engines = [db.create_engine(make_scheduler().settings) for _ in range(2)]
    schedulers = [
        make_scheduler(sessionmaker=db.create_sessionmaker(e), scheduler_batch_size=7)
        for e in engines
    ]
    try:
        clock.set(SLOT)
        for _ in range(4):  # the slot, then three retries
            await asyncio.gather(*(s.tick() for s in schedulers))
            await asyncio.gather(*(s.dispatcher.drain(grace_seconds=60) for s in schedulers))
            clock.advance(timedelta(seconds=5))
    finally:
        for e in engines:
            await e.dispose()

    async with committing() as session:
        rows = (
            await session.execute(
                select(JobExecution.job_id, JobExecution.attempt, JobExecution.status)
            )
        ).all()
    assert sorted((job_id, attempt) for job_id, attempt, _ in rows) == sorted(
        (job.id, attempt) for job in jobs for attempt in range(1, 5)
    )
    assert {status for _, attempt, status in rows if attempt == 4} == {ExecutionStatus.SUCCESS}
    pairs = [
        (r.headers["idempotency-key"], r.headers["x-cron-attempt"]) for r in http_target.received
    ]
    assert len(pairs) == len(set(pairs)) == 60 * 4

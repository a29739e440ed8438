"""Retries are state in the database: a failed attempt stores when its next one is due, and
whichever scheduler is live then makes it. (Real processes killed and cut from the database
during the backoff: test_processes.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.enums import ExecutionStatus
from models import Job, JobExecution
from tests.scheduler.conftest import (
    Rig,
    run_pass,
    run_passes,
)
from tests.support.http_target import Reply, failing_first_attempts

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
SLOT = T0 + timedelta(minutes=1)


def busy(retry_after: int) -> Reply:
    return Reply(status=503, headers={"Retry-After": str(retry_after)})


async def alerts_and_streak(rig: Rig, job: Job) -> tuple[int, int]:
    """The failure alerts the job's owner got, and the job's failure streak."""
    return await rig.failure_notes(job), (await rig.stored(job)).consecutive_failures


async def test_a_failed_attempt_stores_its_retry_and_the_retry_keeps_the_slot(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", max_retries=2)
    rig.http_target.respond(Reply(status=500, body=b"boom"), Reply(status=200, body=b"fine"))
    scheduler = rig.make_scheduler(retry_backoff_base_seconds=4)
    rig.clock.set(SLOT)
    await run_pass(scheduler)

    [first] = await rig.executions(job)
    assert (first.attempt, first.status, first.output) == (1, ExecutionStatus.FAILED, "boom")
    assert first.next_attempt_at is not None
    assert first.completed_at is not None
    assert timedelta(0) <= first.next_attempt_at - first.completed_at <= timedelta(seconds=4)

    rig.clock.set(first.next_attempt_at)
    await run_pass(scheduler)

    executions = await rig.executions(job)
    assert [(e.attempt, e.status, e.response_status, e.next_attempt_at) for e in executions] == [
        (1, ExecutionStatus.FAILED, 500, None),
        (2, ExecutionStatus.SUCCESS, 200, None),
    ]
    assert {e.scheduled_for for e in executions} == {SLOT}
    assert [r.headers["x-cron-attempt"] for r in rig.http_target.received] == ["1", "2"]
    keys = {r.headers["idempotency-key"] for r in rig.http_target.received}
    assert keys == {f"{job.id}:{SLOT.isoformat()}"}
    assert await alerts_and_streak(rig, job) == (0, 0)


async def test_a_retry_waits_for_its_due_time_honouring_retry_after(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("0 * * * *", max_retries=1)
    rig.http_target.default = busy(retry_after=20)
    scheduler = rig.make_scheduler()
    rig.clock.set(T0 + timedelta(hours=1))
    await run_pass(scheduler)
    [first] = await rig.executions(job)
    assert first.next_attempt_at == first.completed_at + timedelta(seconds=20)  # type: ignore[operator]

    rig.clock.advance(timedelta(seconds=19))
    assert await run_pass(scheduler) == 0
    assert len(rig.http_target.received) == 1

    rig.clock.advance(timedelta(seconds=1))
    assert await run_pass(scheduler) == 1

    executions = await rig.executions(job)
    assert [(e.attempt, e.status, e.next_attempt_at) for e in executions] == [
        (1, ExecutionStatus.FAILED, None),
        (2, ExecutionStatus.FAILED, None),  # max_retries reached: final
    ]
    assert await alerts_and_streak(rig, job) == (1, 1)


async def test_another_scheduler_makes_the_retry_of_one_that_is_gone(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", max_retries=2)
    rig.http_target.default = busy(retry_after=5)
    first, second, third = (rig.make_scheduler() for _ in range(3))

    rig.clock.set(SLOT)
    await run_pass(first)  # then it is gone: nothing in memory carries the chain on
    rig.clock.advance(timedelta(seconds=5))
    await run_pass(second)
    rig.clock.advance(timedelta(seconds=5))
    await run_pass(third)
    rig.clock.advance(timedelta(seconds=5))
    assert await run_pass(third) == 0

    executions = await rig.executions(job)
    assert [(e.attempt, e.status, e.next_attempt_at) for e in executions] == [
        (1, ExecutionStatus.FAILED, None),
        (2, ExecutionStatus.FAILED, None),
        (3, ExecutionStatus.FAILED, None),
    ]
    assert len(rig.http_target.received) == 3
    assert await alerts_and_streak(rig, job) == (1, 1)


async def test_a_retry_waiting_longer_than_a_lease_is_not_reaped(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("0 * * * *", max_retries=1)
    rig.http_target.respond(busy(retry_after=50))
    scheduler = rig.make_scheduler(execution_lease_seconds=10, retry_backoff_max_seconds=60)
    rig.clock.set(T0 + timedelta(hours=1))
    await run_pass(scheduler)

    for _ in range(4):  # 40 s: four leases' worth, the retry still ahead
        rig.clock.advance(timedelta(seconds=10))
        assert await run_pass(scheduler) == 0
    [waiting] = await rig.executions(job)
    assert (waiting.status, waiting.error_message) == (ExecutionStatus.FAILED, "HTTP 503")
    assert await rig.failure_notes(job) == 0

    rig.clock.advance(timedelta(seconds=10))
    await run_pass(scheduler)

    executions = await rig.executions(job)
    assert [(e.attempt, e.status) for e in executions] == [
        (1, ExecutionStatus.FAILED),
        (2, ExecutionStatus.SUCCESS),
    ]
    assert await rig.failure_notes(job) == 0


async def test_a_retry_of_a_deleted_job_is_dropped(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", max_retries=1)
    rig.http_target.default = busy(retry_after=5)
    scheduler = rig.make_scheduler()
    rig.clock.set(SLOT)
    await run_pass(scheduler)
    async with rig.committing.begin() as session:
        await session.delete(await session.get(Job, job.id))

    rig.clock.advance(timedelta(seconds=5))
    assert await run_pass(scheduler) == 0
    assert len(rig.http_target.received) == 1


@pytest.mark.postgres_only
async def test_two_schedulers_make_each_due_retry_once(rig: Rig) -> None:
    rig.clock.set(T0)
    jobs = [await rig.job("* * * * *", max_retries=3) for _ in range(60)]
    rig.http_target.responder = failing_first_attempts(3, busy(retry_after=5))
    schedulers = [rig.make_scheduler(own_engine=True, scheduler_batch_size=7) for _ in range(2)]
    rig.clock.set(SLOT)
    for _ in range(4):  # the slot, then three retries
        await run_passes(schedulers)
        rig.clock.advance(timedelta(seconds=5))

    async with rig.committing() as session:
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
        (r.headers["idempotency-key"], r.headers["x-cron-attempt"])
        for r in rig.http_target.received
    ]
    assert len(pairs) == len(set(pairs)) == 60 * 4

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.enums import ExecutionStatus
from tests.scheduler.conftest import (
    JobMaker,
    RecordedSleeps,
    SchedulerMaker,
    executions_of,
    run_pass,
)
from tests.support.clock import FrozenClock
from tests.support.http_target import HttpTarget

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


class FlakySessions:
    """A sessionmaker whose first `failures` transactions fail as if the database were away."""

    def __init__(self, inner: async_sessionmaker[AsyncSession], failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def __call__(self) -> AsyncSession:
        return self.inner()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))
        async with self.inner.begin() as session:
            yield session


async def test_outcomes_survive_a_brief_database_outage(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
    sleeps: RecordedSleeps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.set(T0)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url)
    scheduler = make_scheduler(sleep=sleeps)
    clock.advance(timedelta(minutes=1))
    assert await scheduler.tick() == 1
    scheduler.dispatcher.sessionmaker = FlakySessions(committing, failures=2)  # type: ignore[assignment]
    await scheduler.dispatcher.drain(grace_seconds=10)

    (execution,) = await executions_of(committing, job.id)
    assert execution.status == ExecutionStatus.SUCCESS
    assert sleeps.delays == [0.5, 1.0]
    assert "could not record 1 outcomes" in caplog.text


async def test_a_long_outage_leaves_the_run_to_its_lease(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
    sleeps: RecordedSleeps,
) -> None:
    clock.set(T0)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url)

    scheduler = make_scheduler(sleep=sleeps, execution_lease_seconds=30)
    clock.advance(timedelta(minutes=1))
    await scheduler.tick()
    scheduler.dispatcher.sessionmaker = FlakySessions(committing, failures=99)  # type: ignore[assignment]
    await scheduler.dispatcher.drain(grace_seconds=10)
    assert (await executions_of(committing, job.id))[0].status == ExecutionStatus.RUNNING

    clock.advance(timedelta(seconds=31))
    scheduler.dispatcher.sessionmaker = committing
    await run_pass(scheduler)

    (execution,) = await executions_of(committing, job.id)
    assert (execution.status, execution.error_message) == (ExecutionStatus.FAILED, "interrupted")

"""The hourly rollup (`job_execution_hourly`, kept by triggers): whatever writes executions,
statistics read from it equal the same figures computed from the executions themselves."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import ExecutionStatus, TriggerType
from models import Job, JobExecution, JobExecutionHourly, User
from repositories.job_execution import ExecutionCounts, ExecutionFilters, JobExecutionRepository
from tests.support.execution_factories import create_execution
from tests.support.factories import create_user
from tests.support.job_factories import create_job

START = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
STATUSES = [
    ExecutionStatus.SUCCESS,
    ExecutionStatus.FAILED,
    ExecutionStatus.MISSED,
    ExecutionStatus.SKIPPED,
    ExecutionStatus.CANCELLED,
    ExecutionStatus.RUNNING,
]


@pytest.fixture
async def owner(session: AsyncSession) -> User:
    return await create_user(session)


@pytest.fixture
async def jobs(session: AsyncSession, owner: User) -> list[Job]:
    return [
        await create_job(session, owner=owner, pic_team="platform", name=f"rolled-{n}")
        for n in range(3)
    ]


async def _direct(session: AsyncSession, filters: ExecutionFilters) -> ExecutionCounts:
    """The figures from the executions alone: what the rollup must agree with."""
    rows = await session.execute(
        select(JobExecution.status, func.count(), func.sum(JobExecution.duration_seconds))
        .where(*filters.where())
        .group_by(JobExecution.status)
    )
    by_status: dict[ExecutionStatus, int] = {}
    duration_sum = 0.0
    for status, n, total in rows:
        by_status[ExecutionStatus(status)] = int(n)
        duration_sum += float(total or 0.0)
    timed = await session.scalar(
        select(func.count(JobExecution.duration_seconds)).where(*filters.where())
    )
    average = round(duration_sum / timed, 3) if timed else None
    return ExecutionCounts(sum(by_status.values()), by_status, average)


def _windows(jobs: list[Job]) -> list[ExecutionFilters]:
    """Whole hours, partial first and last hours, within one hour, open ends; per job too."""
    ranges = [
        (None, None),
        (START, START + timedelta(hours=5)),
        (START + timedelta(minutes=17), START + timedelta(hours=3, minutes=41)),
        (START + timedelta(minutes=5), START + timedelta(minutes=50)),
        (START + timedelta(hours=2, minutes=30), None),
        (None, START + timedelta(hours=1, minutes=10)),
        (START + timedelta(hours=9), START + timedelta(hours=10)),  # nothing there
    ]
    return [
        ExecutionFilters(job_id=job_id, start=start, end=end)
        for job_id in (None, jobs[0].id, jobs[2].id)
        for start, end in ranges
    ]


async def _assert_agrees(session: AsyncSession, jobs: list[Job]) -> None:
    repository = JobExecutionRepository(session)
    for filters in _windows(jobs):
        assert await repository.counts(filters) == await _direct(session, filters), filters


async def _rollup_rows(session: AsyncSession) -> dict[tuple[object, ...], tuple[int, int]]:
    rows = await session.execute(
        select(
            JobExecutionHourly.job_id,
            JobExecutionHourly.hour,
            JobExecutionHourly.status,
            JobExecutionHourly.executions,
            JobExecutionHourly.durations,
        )
    )
    return {(job, hour, status): (n, timed) for job, hour, status, n, timed in rows}


async def test_the_rollup_agrees_with_the_executions_through_every_kind_of_write(
    session: AsyncSession, jobs: list[Job]
) -> None:
    rng = random.Random(16)
    created: list[JobExecution] = []
    for n in range(60):
        status = rng.choice(STATUSES)
        created.append(
            await create_execution(
                session,
                jobs[n % 3],
                scheduled_for=START + timedelta(minutes=7 * n, seconds=n),
                status=status,
                trigger_type=TriggerType.MANUAL if n % 7 == 0 else TriggerType.SCHEDULED,
                # Eighths add up exactly in binary: sums in any order agree to the last bit.
                duration_seconds=rng.randint(1, 72) / 8,
            )
        )
    await _assert_agrees(session, jobs)

    # Running rows finish (Core UPDATE, as the outcome writer does), a final row is cancelled,
    # a duration is corrected, a row moves to another slot, some rows are deleted.
    running = [e.id for e in created if e.status == ExecutionStatus.RUNNING]
    await session.execute(
        update(JobExecution)
        .where(JobExecution.id.in_(running[: len(running) // 2]))
        .values(status=ExecutionStatus.SUCCESS, duration_seconds=1.25)
    )
    finished = [e for e in created if e.status == ExecutionStatus.FAILED]
    await session.execute(
        update(JobExecution)
        .where(JobExecution.id == finished[0].id)
        .values(status=ExecutionStatus.CANCELLED)
    )
    await session.execute(
        update(JobExecution).where(JobExecution.id == finished[1].id).values(duration_seconds=None)
    )
    await session.execute(
        update(JobExecution)
        .where(JobExecution.id == created[5].id)
        .values(scheduled_for=START + timedelta(hours=4, minutes=3))
    )
    await session.execute(
        delete(JobExecution).where(JobExecution.id.in_([e.id for e in created[40:48]]))
    )
    await _assert_agrees(session, jobs)

    # Exactly one rollup row per (job, hour, final status) there is: none for running rows,
    # none left at zero by the deletes.
    rows = await _rollup_rows(session)
    fresh = select(JobExecution).execution_options(populate_existing=True)
    executions = (await session.execute(fresh)).scalars().all()
    expected: dict[tuple[object, ...], tuple[int, int]] = {}
    for execution in executions:
        if execution.status == ExecutionStatus.RUNNING:
            continue
        hour = execution.scheduled_for.replace(minute=0, second=0, microsecond=0)
        n, timed = expected.get((execution.job_id, hour, execution.status.value), (0, 0))
        expected[execution.job_id, hour, execution.status.value] = (
            n + 1,
            timed + (execution.duration_seconds is not None),
        )
    assert rows == expected


async def test_a_deleted_job_takes_its_rollup_rows(session: AsyncSession, jobs: list[Job]) -> None:
    for minute in (0, 70, 140):
        await create_execution(session, jobs[1], scheduled_for=START + timedelta(minutes=minute))
    await create_execution(session, jobs[0], scheduled_for=START)

    await session.delete(jobs[1])
    await session.flush()

    remaining = await session.scalars(select(JobExecutionHourly.job_id).distinct())
    assert list(remaining) == [jobs[0].id]
    await _assert_agrees(session, [jobs[0], jobs[0], jobs[2]])


async def test_hourly_counts_for_the_dashboard_agree_with_the_executions(
    session: AsyncSession, jobs: list[Job]
) -> None:
    rng = random.Random(7)
    for n in range(40):
        await create_execution(
            session,
            jobs[n % 3],
            scheduled_for=START + timedelta(minutes=11 * n),
            status=rng.choice(STATUSES),
        )

    counts = await JobExecutionRepository(session).hourly_status_counts(START, 6)

    executions = (await session.execute(select(JobExecution))).scalars().all()
    expected: dict[tuple[int, ExecutionStatus], int] = {}
    for execution in executions:
        index = int((execution.scheduled_for - START).total_seconds() // 3600)
        if index < 6:
            expected[index, execution.status] = expected.get((index, execution.status), 0) + 1
    assert counts == expected

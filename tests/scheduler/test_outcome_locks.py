"""Outcome writers in two processes at once: their batches share job-hours of the hourly
rollup, whose rows the triggers lock as each execution closes."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import db
from core.config import Settings
from core.enums import ExecutionStatus
from models import Job, JobExecution, JobExecutionHourly
from repositories.job_execution import JobExecutionRepository
from tests.scheduler.conftest import JobMaker
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution

JOBS = 60
ROUNDS = 8

pytestmark = pytest.mark.postgres_only


async def test_two_writers_closing_the_same_job_hours_in_any_order_never_deadlock(
    committing: async_sessionmaker[AsyncSession],
    settings: Settings,
    make_job: JobMaker,
    clock: FrozenClock,
) -> None:
    jobs = [await make_job() for _ in range(JOBS)]
    other_engine = db.create_engine(settings)
    writers = [committing, db.create_sessionmaker(other_engine)]
    draw = random.Random(13)
    hour = clock.now().replace(minute=0, second=0, microsecond=0)
    try:
        for round_ in range(ROUNDS):
            # Each job gets one running execution per writer, in the same hour, and each
            # outcome is drawn: the writers share some (job, hour, status) rollup rows.
            batches: list[list[dict[str, Any]]] = [[], []]
            async with committing.begin() as session:
                for job in jobs:
                    for side, batch in enumerate(batches):
                        slot = hour + timedelta(minutes=2 * round_ + side)
                        execution = await create_execution(
                            session, job, scheduled_for=slot, status=ExecutionStatus.RUNNING
                        )
                        batch.append(_closing(execution, job, draw.random() < 0.5))
            for batch in batches:
                draw.shuffle(batch)
            await asyncio.gather(
                *(
                    _close(writer, batch, clock)
                    for writer, batch in zip(writers, batches, strict=True)
                )
            )
    finally:
        await other_engine.dispose()

    async with committing() as session:
        counted = await session.scalar(select(func.sum(JobExecutionHourly.executions)))
        running = await session.scalar(
            select(func.count()).where(JobExecution.status == ExecutionStatus.RUNNING)
        )
    assert (counted, running) == (2 * JOBS * ROUNDS, 0)


def _closing(execution: JobExecution, job: Job, succeeded: bool) -> dict[str, Any]:
    status = ExecutionStatus.SUCCESS if succeeded else ExecutionStatus.FAILED
    return {
        "id": execution.id,
        "job_id": job.id,
        "scheduled_for": execution.scheduled_for,
        "status": status,
        "completed_at": execution.scheduled_for,
        "lateness_ms": 0,
        "duration_seconds": 1.0,
        "response_status": 200 if succeeded else 500,
        "output": "",
        "error_message": None if succeeded else "HTTP 500",
        "next_attempt_at": None,
        "dns_ms": None,
        "connect_ms": None,
        "tls_ms": None,
        "first_byte_ms": None,
    }


async def _close(
    writer: async_sessionmaker[AsyncSession], batch: list[dict[str, Any]], clock: FrozenClock
) -> None:
    ids: list[uuid.UUID] = [row["id"] for row in batch]
    async with writer.begin() as session:
        executions = JobExecutionRepository(session)
        assert await executions.lock_running(ids) == set(ids)
        await executions.close_running(batch, clock.now())

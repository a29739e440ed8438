"""The home page's summary: job counts, run counts, runs per hour, failing, running, upcoming."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import cron
from core.clock import Clock
from core.config import Settings
from core.enums import ExecutionStatus
from models import Job
from repositories.job import JobRepository
from repositories.job_execution import ExecutionFilters, JobExecutionRepository
from schemas.dashboard import (
    DashboardSummary,
    FailingJob,
    HourBucket,
    JobCounts,
    RunCounts,
    UpcomingRun,
)
from schemas.execution import ExecutionRead
from services.scheduling import next_slot

HOURS = 24
LISTED_FAILING = 10
LISTED_RUNNING = 20
LISTED_UPCOMING = 10


class DashboardService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.jobs = JobRepository(session)
        self.executions = JobExecutionRepository(session)

    async def summary(self, timezone: str | None) -> DashboardSummary:
        now = self.clock.now()
        zone_name = timezone or self.settings.scheduler_timezone
        midnight = now.astimezone(cron.zone(zone_name)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
        active, paused = await self.jobs.count_by_activity()
        running = await self.executions.search(
            ExecutionFilters(statuses=[ExecutionStatus.RUNNING]), offset=0, limit=LISTED_RUNNING
        )
        return DashboardSummary(
            generated_at=now,
            timezone=zone_name,
            jobs=JobCounts(active=active, paused=paused),
            today=await self._run_counts(midnight),
            last_24h=await self._run_counts(now - timedelta(hours=24)),
            last_7d=await self._run_counts(now - timedelta(days=7)),
            runs_per_hour=await self._runs_per_hour(first_hour),
            failing_jobs=[
                FailingJob.model_validate(job, from_attributes=True)
                for job in await self.jobs.failing(LISTED_FAILING)
            ],
            running=[ExecutionRead.model_validate(row) for row in running],
            upcoming=_upcoming(await self.jobs.next_due(LISTED_UPCOMING)),
        )

    async def _run_counts(self, since: datetime) -> RunCounts:
        counts = await self.executions.counts(ExecutionFilters(start=since))
        return RunCounts(
            total=counts.total,
            **{status.value: counts.of(status) for status in ExecutionStatus},
            success_rate=counts.success_rate if counts.rated else None,
        )

    async def _runs_per_hour(self, first_hour: datetime) -> list[HourBucket]:
        counts = await self.executions.hourly_status_counts(first_hour, HOURS)
        return [
            HourBucket(
                hour=first_hour + timedelta(hours=index),
                **{status.value: counts.get((index, status), 0) for status in ExecutionStatus},
            )
            for index in range(HOURS)
        ]


def _upcoming(jobs: Sequence[Job]) -> list[UpcomingRun]:
    """The next LISTED_UPCOMING slots of `jobs`, soonest first.

    `jobs` are the LISTED_UPCOMING soonest-due jobs: any later job's first slot comes after
    each of theirs, so no slot of it can be among the first LISTED_UPCOMING.
    """

    def slots(job: Job) -> Iterator[tuple[datetime, Job]]:
        slot = job.next_run_at
        for _ in range(LISTED_UPCOMING):
            if slot is None:
                return
            yield slot, job
            slot = next_slot(job, slot)

    merged = heapq.merge(*(slots(job) for job in jobs), key=lambda pair: pair[0])
    return [
        UpcomingRun(job_id=job.id, job_name=job.name, timezone=job.timezone, at=slot)
        for slot, job in itertools.islice(merged, LISTED_UPCOMING)
    ]

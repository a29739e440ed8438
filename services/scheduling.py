"""What the scheduler does with jobs inside one transaction: claim due slots, pause finished
jobs. The caller (scheduler/loop.py) owns the transaction and dispatches the returned runs
only after it commits; the executions themselves are services/execution_lifecycle.py's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import cron
from core.clock import Clock
from core.config import Settings
from models import Job
from repositories.job import JobRepository
from services.execution_lifecycle import ExecutionLifecycle, RunSpec
from services.notifications.rules import NotifierService


def slot_is_within_end_date(job: Job, slot: datetime) -> bool:
    return slot.astimezone(cron.zone(job.timezone)).date() <= job.end_date


def next_slot(job: Job, after: datetime) -> datetime | None:
    """The job's next slot after `after` (UTC), or None when it would fall past the end date."""
    slot = cron.next_fire_time(job.cron_expression, job.timezone, after)
    return slot if slot_is_within_end_date(job, slot) else None


class SchedulingService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.jobs = JobRepository(session)
        self.lifecycle = ExecutionLifecycle(session, settings, clock)
        self.notifier = NotifierService(session, settings, clock)

    async def claim_due(self, limit: int) -> list[RunSpec]:
        """Lock up to `limit` due jobs, record their due slots and advance them.

        A slot less than MISFIRE_GRACE_SECONDS late is fired; older slots of a job (the
        scheduler was down) become one `missed` execution, so an outage never bursts.
        """
        now = self.clock.now()
        grace = timedelta(seconds=self.settings.misfire_grace_seconds)
        fired: list[tuple[Job, datetime]] = []
        missed: list[tuple[Job, datetime]] = []
        ended: list[Job] = []
        for job in await self.jobs.lock_due(now, limit):
            slot: datetime | None = job.next_run_at
            assert slot is not None  # lock_due selects only jobs with a next run
            if not slot_is_within_end_date(job, slot):
                slot = None
            elif now - slot >= grace:
                missed.append((job, slot))
                slot = next_slot(job, now - grace)
            while slot is not None and slot <= now:
                fired.append((job, slot))
                job.last_execution_at = now
                slot = next_slot(job, slot)
            job.next_run_at = slot
            if slot is None:
                ended.append(job)
        await self._pause_finished(ended)
        runs = await self.lifecycle.start_scheduled(fired, missed)
        await self.session.flush()
        return runs

    async def pause_finished_jobs(self, limit: int) -> int:
        """Pause active jobs that have no slot left (their end date has passed)."""
        jobs = await self.jobs.lock_finished(limit)
        await self._pause_finished(jobs)
        await self.session.flush()
        return len(jobs)

    async def earliest_due(self) -> datetime | None:
        """The earliest instant there is work: a job's next slot or a retry."""
        dues = [await self.jobs.earliest_due(), await self.lifecycle.earliest_retry()]
        return min((due for due in dues if due is not None), default=None)

    async def _pause_finished(self, jobs: Sequence[Job]) -> None:
        """Pause jobs with no slot left before their end date, and tell their owners."""
        for job in jobs:
            job.is_active = False
            job.next_run_at = None
        await self.notifier.on_jobs_ended(jobs)

"""What the scheduler does inside one transaction: claim due slots, record misfires, pause
finished jobs, reap interrupted runs. The caller (scheduler/loop.py) owns the transaction and
dispatches the returned runs only after it commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import cron
from core.clock import Clock
from core.config import Settings
from core.enums import ExecutionStatus, ExecutionType, TriggerType
from models import Job, JobExecution
from repositories.job import JobRepository
from repositories.job_execution import JobExecutionRepository
from services.notifications.rules import FinishedRun, NotifierService

INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything needed to perform one execution, detached from the session."""

    execution_id: uuid.UUID
    job_id: uuid.UUID
    job_name: str
    scheduled_for: datetime
    attempt: int
    trigger_type: TriggerType
    execution_type: ExecutionType
    target: str
    http_method: str
    metadata: dict[str, Any]
    github_owner: str | None
    github_repo: str | None
    github_workflow_name: str | None
    timeout_seconds: int
    max_retries: int
    github_token: str | None = field(default=None, repr=False)


def execution_type_of(job: Job) -> ExecutionType:
    return ExecutionType.WEBHOOK if job.target_url else ExecutionType.GITHUB_ACTIONS


def target_of(job: Job) -> str:
    if job.target_url:
        return job.target_url
    return f"{job.github_owner}/{job.github_repo}:{job.github_workflow_name}"


def run_spec(
    job: Job,
    execution_id: uuid.UUID,
    scheduled_for: datetime,
    *,
    attempt: int = 1,
    trigger_type: TriggerType = TriggerType.SCHEDULED,
    metadata: dict[str, Any] | None = None,
    github_token: str | None = None,
) -> RunSpec:
    return RunSpec(
        execution_id=execution_id,
        job_id=job.id,
        job_name=job.name,
        scheduled_for=scheduled_for,
        attempt=attempt,
        trigger_type=trigger_type,
        execution_type=execution_type_of(job),
        target=target_of(job),
        http_method=str(job.http_method),
        metadata=dict(job.job_metadata if metadata is None else metadata),
        github_owner=job.github_owner,
        github_repo=job.github_repo,
        github_workflow_name=job.github_workflow_name,
        timeout_seconds=job.timeout_seconds,
        max_retries=job.max_retries,
        github_token=github_token,
    )


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
        self.executions = JobExecutionRepository(session)
        self.notifier = NotifierService(session, settings, clock)

    async def claim_due(self, limit: int) -> list[RunSpec]:
        """Lock up to `limit` due jobs, record their due slots and advance them.

        A slot less than MISFIRE_GRACE_SECONDS late is fired; older slots of a job (the
        scheduler was down) become one `missed` execution, so an outage never bursts.
        """
        now = self.clock.now()
        grace = timedelta(seconds=self.settings.misfire_grace_seconds)
        lease_until = now + timedelta(seconds=self.settings.execution_lease_seconds)
        fired: list[tuple[Job, datetime]] = []
        ended: list[Job] = []
        rows: list[dict[str, Any]] = []
        for job in await self.jobs.lock_due(now, limit):
            slot: datetime | None = job.next_run_at
            assert slot is not None  # lock_due selects only jobs with a next run
            if not slot_is_within_end_date(job, slot):
                slot = None
            elif now - slot >= grace:
                rows.append(self._missed_row(job, slot, now))
                slot = next_slot(job, now - grace)
            while slot is not None and slot <= now:
                rows.append(self._running_row(job, slot, now, lease_until))
                fired.append((job, slot))
                job.last_execution_at = now
                slot = next_slot(job, slot)
            job.next_run_at = slot
            if slot is None:
                ended.append(job)
        await self._pause_finished(ended)
        inserted = set(await self.executions.insert_ignoring_duplicates(rows))
        by_slot = {(row["job_id"], row["scheduled_for"]): row["id"] for row in rows}
        runs = []
        for job, slot in fired:
            execution_id = by_slot[(job.id, slot)]
            if execution_id in inserted:
                runs.append(run_spec(job, execution_id, slot))
        await self.session.flush()
        return runs

    async def pause_finished_jobs(self, limit: int) -> int:
        """Pause active jobs that have no slot left (their end date has passed)."""
        jobs = await self.jobs.lock_finished(limit)
        await self._pause_finished(jobs)
        await self.session.flush()
        return len(jobs)

    async def reap_interrupted(self) -> int:
        """Close runs whose scheduler died (lease lapsed) as failed: "interrupted". Such a run
        is final (nobody retries it): it counts in its job's failure streak and notifies."""
        ids = await self.executions.fail_lapsed_leases(self.clock.now(), INTERRUPTED)
        if not ids:
            return 0
        reaped = await self.executions.get_multi(JobExecution.id.in_(ids))
        runs = [FinishedRun.of_execution(execution) for execution in reaped]
        await self.notifier.on_finished(runs)  # before the streaks change
        await self.jobs.record_streaks([(run.job_id, False) for run in runs])
        return len(ids)

    async def renew_leases(self, execution_ids: list[uuid.UUID]) -> None:
        until = self.clock.now() + timedelta(seconds=self.settings.execution_lease_seconds)
        await self.executions.renew_leases(execution_ids, until)

    async def earliest_due(self) -> datetime | None:
        return await self.jobs.earliest_due()

    async def _pause_finished(self, jobs: Sequence[Job]) -> None:
        """Pause jobs with no slot left before their end date, and tell their owners."""
        for job in jobs:
            job.is_active = False
            job.next_run_at = None
        await self.notifier.on_jobs_ended(jobs)

    def _base_row(self, job: Job, slot: datetime, now: datetime) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "job_id": job.id,
            "trigger_type": TriggerType.SCHEDULED,
            "execution_type": execution_type_of(job),
            "target": target_of(job)[:500],
            "scheduled_for": slot,
            "attempt": 1,
            "created_at": now,
            "updated_at": now,
        }

    def _running_row(
        self, job: Job, slot: datetime, now: datetime, lease_until: datetime
    ) -> dict[str, Any]:
        return {
            **self._base_row(job, slot, now),
            "status": ExecutionStatus.RUNNING,
            "started_at": now,
            "completed_at": None,
            "error_message": None,
            "lease_expires_at": lease_until,
        }

    def _missed_row(self, job: Job, slot: datetime, now: datetime) -> dict[str, Any]:
        return {
            **self._base_row(job, slot, now),
            "status": ExecutionStatus.MISSED,
            "started_at": None,
            "completed_at": now,
            "error_message": (
                f"no scheduler was running; slots from {slot.isoformat()} until "
                f"{(now - timedelta(seconds=self.settings.misfire_grace_seconds)).isoformat()} "
                "were skipped"
            ),
            "lease_expires_at": None,
        }

"""Executions: starting runs by hand, recording outcomes and retries."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.config import Settings
from core.date_range import DateRange, parse_date_range
from core.enums import ExecutionStatus, ExecutionType, TriggerType
from core.errors import NotFound
from integrations.outbound import OutboundResult
from models import Job, JobExecution
from repositories.base import Page
from repositories.job import JobRepository
from repositories.job_execution import (
    ExecutionCounts,
    ExecutionFilters,
    JobExecutionRepository,
    NamedExecution,
)
from schemas.execution import ExecutionListQuery, JobExecutionListQuery, StatisticsQuery
from services.notifications.rules import FinishedRun, NotifierService
from services.scheduling import RunSpec, execution_type_of, run_spec, target_of

logger = logging.getLogger("services.execution")


@dataclass(frozen=True, slots=True)
class Outcome:
    run: RunSpec
    result: OutboundResult
    duration_seconds: float
    final: bool
    """The last attempt of its slot: what the job's failure streak counts."""


class ExecutionService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.executions = JobExecutionRepository(session)
        self.jobs = JobRepository(session)

    # --- reading ---------------------------------------------------------------------------

    async def list(self, query: ExecutionListQuery) -> Page[NamedExecution]:
        filters = _filters(query, job_id=query.job_id, execution_type=query.execution_type)
        rows = await self.executions.search(
            filters, offset=(query.page - 1) * query.limit, limit=query.limit
        )
        total = await self.executions.count(*filters.where())
        return Page(items=rows, total=total, page=query.page, per_page=query.limit)

    async def get(self, execution_id: uuid.UUID, job: Job | None = None) -> NamedExecution:
        found = await self.executions.get_with_job_name(execution_id)
        if found is None or (job is not None and found.job_id != job.id):
            raise NotFound("Execution not found")
        return found

    async def statistics(self, query: StatisticsQuery) -> tuple[ExecutionCounts, DateRange]:
        window = parse_date_range(query.from_, query.to)
        counts = await self.executions.counts(
            ExecutionFilters(job_id=query.job_id, start=window.start, end=window.end)
        )
        return counts, window

    async def list_for_job(
        self, job: Job, query: JobExecutionListQuery
    ) -> tuple[Sequence[NamedExecution], int]:
        """The job's newest executions (up to `query.limit`) and how many match in all."""
        filters = _filters(query, job_id=job.id)
        rows = await self.executions.search(filters, offset=0, limit=query.limit)
        return rows, await self.executions.count(*filters.where())

    async def statistics_for_job(self, job: Job) -> tuple[ExecutionCounts, NamedExecution | None]:
        """The job's counts and its newest execution."""
        filters = ExecutionFilters(job_id=job.id)
        counts = await self.executions.counts(filters)
        latest = await self.executions.search(filters, offset=0, limit=1)
        return counts, latest[0] if latest else None

    # --- running -----------------------------------------------------------------------------

    async def start_manual(
        self, job: Job, *, metadata: dict[str, Any] | None, github_token: str | None
    ) -> tuple[JobExecution, RunSpec]:
        """A running execution for a manual trigger; overrides apply to this run only."""
        now = self.clock.now()
        execution = await self.executions.create(
            {
                "job_id": job.id,
                "status": ExecutionStatus.RUNNING,
                "trigger_type": TriggerType.MANUAL,
                "execution_type": execution_type_of(job),
                "target": target_of(job)[:500],
                "scheduled_for": now,
                "started_at": now,
                "attempt": 1,
                "lease_expires_at": self._lease_until(),
            }
        )
        job.last_execution_at = now
        spec = run_spec(
            job,
            execution.id,
            now,
            trigger_type=TriggerType.MANUAL,
            metadata=metadata,
            github_token=github_token,
        )
        return execution, spec

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Close finished executions with what their targets answered, in a few statements.

        An execution that is no longer running (reaped as interrupted, or deleted with its job)
        is left as it is. Final outcomes of the executions this closes update their job's
        failure streak and notify, in this same transaction (services/notifications/rules.py).
        """
        now = self.clock.now()
        # Locked first: a reaper closing one of them meanwhile waits, then leaves it alone.
        closing = await self.executions.lock_running(
            [outcome.run.execution_id for outcome in outcomes if outcome.final]
        )
        finished = [
            _finished_run(outcome)
            for outcome in outcomes
            if outcome.final and outcome.run.execution_id in closing
        ]
        # Before the streaks change: recovery and auto-pause read the streak runs ended with.
        # In a savepoint: whatever goes wrong there costs the alerts, never the records.
        try:
            async with self.session.begin_nested():
                await NotifierService(self.session, self.settings, self.clock).on_finished(finished)
        except Exception:
            logger.exception(
                "could not notify about executions %s",
                ", ".join(str(run.execution_id) for run in finished),
            )
        await self.executions.close_running(
            [
                {
                    "id": outcome.run.execution_id,
                    "status": ExecutionStatus.SUCCESS
                    if outcome.result.ok
                    else ExecutionStatus.FAILED,
                    "completed_at": now,
                    "duration_seconds": round(outcome.duration_seconds, 3),
                    "response_status": outcome.result.status_code,
                    "output": outcome.result.output,
                    "error_message": outcome.result.error,
                }
                for outcome in outcomes
            ],
            now,
        )
        await self.jobs.record_streaks([(run.job_id, run.succeeded) for run in finished])

    async def start_retry(self, run: RunSpec) -> RunSpec | None:
        """The next attempt of `run` as a new running execution (None if its job is gone)."""
        if await self.session.get(Job, run.job_id) is None:
            return None
        now = self.clock.now()
        execution_id = uuid.uuid4()
        inserted = await self.executions.insert_ignoring_duplicates(
            [
                {
                    "id": execution_id,
                    "job_id": run.job_id,
                    "status": ExecutionStatus.RUNNING,
                    "trigger_type": run.trigger_type,
                    "execution_type": run.execution_type,
                    "target": run.target[:500],
                    "scheduled_for": run.scheduled_for,
                    "started_at": now,
                    "attempt": run.attempt + 1,
                    "lease_expires_at": self._lease_until(),
                    "created_at": now,
                    "updated_at": now,
                }
            ]
        )
        if not inserted:
            return None
        return replace(run, execution_id=execution_id, attempt=run.attempt + 1)

    def _lease_until(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.settings.execution_lease_seconds)


def _finished_run(outcome: Outcome) -> FinishedRun:
    return FinishedRun(
        execution_id=outcome.run.execution_id,
        job_id=outcome.run.job_id,
        scheduled_for=outcome.run.scheduled_for,
        trigger_type=outcome.run.trigger_type,
        attempt=outcome.run.attempt,
        succeeded=outcome.result.ok,
        status_code=outcome.result.status_code,
        error=outcome.result.error,
        duration_seconds=round(outcome.duration_seconds, 3),
    )


def _filters(
    query: ExecutionListQuery | JobExecutionListQuery,
    *,
    job_id: uuid.UUID | None,
    execution_type: ExecutionType | None = None,
) -> ExecutionFilters:
    window = parse_date_range(query.from_, query.to)
    return ExecutionFilters(
        job_id=job_id,
        statuses=query.status,
        trigger_type=query.trigger_type,
        execution_type=execution_type,
        start=window.start,
        end=window.end,
    )

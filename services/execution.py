"""Executions as people read them: listings, one execution, statistics, and how long they are
kept (retention). How executions are created and closed is services/execution_lifecycle.py's."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, days_ago
from core.config import Settings
from core.date_range import DateRange, parse_date_range
from core.enums import ExecutionType
from core.errors import NotFound
from models import Job
from repositories.base import Page
from repositories.job_execution import (
    ExecutionCounts,
    ExecutionFilters,
    JobExecutionRepository,
    NamedExecution,
    Percentiles,
    Position,
)
from schemas.execution import ExecutionListQuery, JobExecutionListQuery, StatisticsQuery


class ExecutionService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.executions = JobExecutionRepository(session)

    # --- reading ---------------------------------------------------------------------------

    async def list(self, query: ExecutionListQuery) -> tuple[Page[NamedExecution], Position | None]:
        """One page of every job's executions, newest slot first, and where the next page
        starts (None on the last)."""
        filters = _filters(query, job_id=query.job_id, execution_type=query.execution_type)
        return await self._page(filters, query)

    async def get(self, execution_id: uuid.UUID, job: Job | None = None) -> NamedExecution:
        found = await self.executions.get_with_job_name(execution_id)
        if found is None or (job is not None and found.job_id != job.id):
            raise NotFound("Execution not found")
        return found

    async def statistics(
        self, query: StatisticsQuery
    ) -> tuple[ExecutionCounts, Percentiles, DateRange]:
        window = parse_date_range(query.from_, query.to)
        filters = ExecutionFilters(job_id=query.job_id, start=window.start, end=window.end)
        counts = await self.executions.counts(filters)
        return counts, await self.executions.percentiles(filters, counts.total), window

    async def list_for_job(
        self, job: Job, query: JobExecutionListQuery
    ) -> tuple[Page[NamedExecution], Position | None]:
        """One page of the job's executions, newest slot first, and where the next starts."""
        return await self._page(_filters(query, job_id=job.id), query)

    async def _page(
        self, filters: ExecutionFilters, query: ExecutionListQuery | JobExecutionListQuery
    ) -> tuple[Page[NamedExecution], Position | None]:
        # One row more than the page says whether another page follows.
        after = query.after
        rows = await self.executions.search(
            filters,
            offset=0 if after else (query.page - 1) * query.limit,
            limit=query.limit + 1,
            after=after,
        )
        following = Position.of(rows[query.limit - 1]) if len(rows) > query.limit else None
        total, estimated = await self.executions.count_or_estimate(
            self.settings.execution_exact_count_limit, *filters.where()
        )
        page = Page(
            items=rows[: query.limit],
            total=total,
            page=query.page,
            per_page=query.limit,
            total_is_estimate=estimated,
        )
        return page, following

    async def statistics_for_job(
        self, job: Job
    ) -> tuple[ExecutionCounts, Percentiles, NamedExecution | None]:
        """The job's counts, percentiles and its newest execution."""
        filters = ExecutionFilters(job_id=job.id)
        counts = await self.executions.counts(filters)
        percentiles = await self.executions.percentiles(filters, counts.total)
        latest = await self.executions.search(filters, offset=0, limit=1)
        return counts, percentiles, latest[0] if latest else None

    # --- retention -------------------------------------------------------------------------

    async def purge_batch(self, retention_days: int, batch_size: int) -> int:
        """Delete up to `batch_size` finished executions whose slot is older than
        `retention_days` (each job's newest slot stays); how many went."""
        return await self.executions.purge_batch(days_ago(self.clock, retention_days), batch_size)


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

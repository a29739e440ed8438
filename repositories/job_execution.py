from __future__ import annotations

import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    exists,
    func,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.orm.util import AliasedClass
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import ScalarSelect

from core.enums import ExecutionStatus, ExecutionType, TriggerType
from models import Job, JobExecution, JobExecutionHourly
from repositories.base import BaseRepository


@dataclass(frozen=True, slots=True)
class ExecutionFilters:
    job_id: uuid.UUID | None = None
    statuses: Sequence[ExecutionStatus] | None = None
    trigger_type: TriggerType | None = None
    execution_type: ExecutionType | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(
        self, execution: type[JobExecution] | AliasedClass[JobExecution] = JobExecution
    ) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.job_id is not None:
            conditions.append(execution.job_id == self.job_id)
        if self.statuses:
            conditions.append(execution.status.in_(self.statuses))
        if self.trigger_type is not None:
            conditions.append(execution.trigger_type == self.trigger_type)
        if self.execution_type is not None:
            conditions.append(execution.execution_type == self.execution_type)
        if self.start is not None:
            conditions.append(execution.scheduled_for >= self.start)
        if self.end is not None:
            conditions.append(execution.scheduled_for < self.end)
        return conditions

    @property
    def by_job_and_slot_only(self) -> bool:
        """Whether only the job and the slot range filter (what the hourly rollup keeps)."""
        return not (self.statuses or self.trigger_type or self.execution_type)

    def within(self, start: datetime | None, end: datetime | None) -> ExecutionFilters:
        """These filters, the slot range narrowed to [start, end) (None: unbounded)."""
        return replace(self, start=start, end=end)


# Rows no target was asked about by the scheduler's choice or a person's: neither a success nor
# a failure, so they are left out of success rates.
UNRATED_STATUSES = frozenset({ExecutionStatus.SKIPPED, ExecutionStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class ExecutionCounts:
    total: int
    by_status: Mapping[ExecutionStatus, int]
    average_duration_seconds: float | None

    def of(self, status: ExecutionStatus) -> int:
        return self.by_status.get(status, 0)

    @property
    def success(self) -> int:
        return self.of(ExecutionStatus.SUCCESS)

    @property
    def failed(self) -> int:
        return self.of(ExecutionStatus.FAILED)

    @property
    def running(self) -> int:
        return self.of(ExecutionStatus.RUNNING)

    @property
    def rated(self) -> int:
        """Executions a success rate counts: all but skipped and cancelled ones."""
        return self.total - sum(self.of(status) for status in UNRATED_STATUSES)

    @property
    def success_rate(self) -> float:
        """Successes as a percentage of the rated executions (0 without any)."""
        return round(100 * self.success / self.rated, 2) if self.rated else 0.0


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Nearest-rank percentiles (PostgreSQL's percentile_disc) over the rows that have the
    value; None without any."""

    p50_duration_seconds: float | None
    p95_duration_seconds: float | None
    p50_lateness_ms: int | None
    p95_lateness_ms: int | None
    # From a sample of the rows (a range of many executions on PostgreSQL), not all of them.
    sampled: bool = False


PERCENTILES = (0.5, 0.95)
# Percentiles over more executions than this (all jobs, PostgreSQL) come from a block sample
# of about PERCENTILE_SAMPLE of them: sorting millions of values is what made statistics slow.
PERCENTILE_EXACT_LIMIT = 100_000
PERCENTILE_SAMPLE = 20_000
_ID_CHUNK = 1000


class _Tally:
    """Executions, duration sum and timed executions per status, added up from parts."""

    def __init__(self) -> None:
        self.by_status: dict[ExecutionStatus, list[float]] = {}

    def add(self, status: str, executions: int, duration_sum: float | None, durations: int) -> None:
        entry = self.by_status.setdefault(ExecutionStatus(status), [0, 0.0, 0])
        entry[0] += int(executions or 0)
        entry[1] += float(duration_sum or 0.0)
        entry[2] += int(durations or 0)

    def counts(self) -> ExecutionCounts:
        by_status = {status: int(entry[0]) for status, entry in self.by_status.items() if entry[0]}
        durations = sum(entry[2] for entry in self.by_status.values())
        duration_sum = sum(entry[1] for entry in self.by_status.values())
        average = round(duration_sum / durations, 3) if durations else None
        return ExecutionCounts(sum(by_status.values()), by_status, average)


def _hour_after(instant: datetime | None) -> datetime | None:
    """The first whole hour at or after `instant`."""
    if instant is None:
        return None
    hour = instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour if hour == instant else hour + timedelta(hours=1)


def _hour_before(instant: datetime | None) -> datetime | None:
    """The start of the hour holding `instant` (the end of the whole hours before it)."""
    if instant is None:
        return None
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _percentiles(values: list[Any], sampled: bool) -> Percentiles:
    duration_50, duration_95, lateness_50, lateness_95 = values
    return Percentiles(
        None if duration_50 is None else round(float(duration_50), 3),
        None if duration_95 is None else round(float(duration_95), 3),
        None if lateness_50 is None else int(lateness_50),
        None if lateness_95 is None else int(lateness_95),
        sampled,
    )


@dataclass(frozen=True, slots=True)
class NamedExecution:
    """An execution with its job's name, read in one query: what every listing shows. Reads
    the execution's attributes through to it."""

    execution: JobExecution
    job_name: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.execution, name)


def _newest_first(execution: type[JobExecution] | AliasedClass[JobExecution]) -> list[Any]:
    """Newest slot first; within a slot, the last attempt first, then by id: the order of the
    listing indexes (ix_job_execution_order and its job and status forms) read backwards."""
    return [execution.scheduled_for.desc(), execution.attempt.desc(), execution.id.desc()]


@dataclass(frozen=True, slots=True)
class Position:
    """A row's place in the newest-first order: what a listing's cursor carries. The rows
    after it are those whose (scheduled_for, attempt, id) is smaller."""

    scheduled_for: datetime
    attempt: int
    id: uuid.UUID

    @classmethod
    def of(cls, execution: JobExecution | NamedExecution) -> Position:
        return cls(execution.scheduled_for, execution.attempt, execution.id)

    def rows_after(self) -> ColumnElement[bool]:
        key = tuple_(JobExecution.scheduled_for, JobExecution.attempt, JobExecution.id)
        return key < tuple_(
            literal(self.scheduled_for, JobExecution.scheduled_for.type),
            literal(self.attempt, JobExecution.attempt.type),
            literal(self.id, JobExecution.id.type),
        )


def _rollup_key(row: Mapping[str, Any]) -> tuple[str, datetime, str]:
    """Where an execution counts in job_execution_hourly: its job, its slot's UTC hour, its
    status (the triggers truncate the slot in UTC too)."""
    hour = row["scheduled_for"].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return str(row["job_id"]), hour, str(row["status"])


def latest_execution_id(
    job_id: ColumnElement[uuid.UUID] | InstrumentedAttribute[uuid.UUID],
) -> ScalarSelect[uuid.UUID]:
    """The id of the latest execution (the first `search` would list) of the job `job_id`, a
    column (correlated) or a parameter: one probe of ix_job_execution_job_order from its
    newest end, however many executions the job has."""
    newest = aliased(JobExecution)
    return (
        select(newest.id)
        .where(newest.job_id == job_id)
        .order_by(*_newest_first(newest))
        .limit(1)
        .scalar_subquery()
    )


@cache
def _latest_by_job() -> Select[JobExecution]:
    """The statement of `latest_by_job`, built once: building it (an aliased subquery) cost
    more CPU than running it (it answers every page of GET /jobs and every job write). The
    job ids are an expanding parameter, so its compiled form is cached too."""
    job_ids: BindParameter[uuid.UUID] = bindparam("job_ids", expanding=True)
    latest_ids = select(latest_execution_id(Job.id)).where(Job.id.in_(job_ids))
    return select(JobExecution).where(JobExecution.id.in_(latest_ids))


@dataclass(slots=True)
class JobOutcomes:
    """One job's final outcomes of a period, counted by status."""

    job_id: uuid.UUID
    job_name: str
    by_status: dict[ExecutionStatus, int]
    total_duration_seconds: float
    timed_runs: int

    @property
    def average_duration_seconds(self) -> float | None:
        return self.total_duration_seconds / self.timed_runs if self.timed_runs else None


@dataclass(frozen=True, slots=True)
class LastFailure:
    job_id: uuid.UUID
    job_name: str
    scheduled_for: datetime
    error_message: str | None
    response_status: int | None


def _final_attempts(
    jobs: ColumnElement[bool], start: datetime, end: datetime
) -> list[ColumnElement[bool]]:
    """Executions of the jobs matching `jobs` with a slot in [start, end) that are their run's
    last word: no later attempt of the same slot exists and none is waiting to be made."""
    later = aliased(JobExecution)
    return [
        jobs,
        JobExecution.scheduled_for >= start,
        JobExecution.scheduled_for < end,
        JobExecution.status != ExecutionStatus.RUNNING,
        JobExecution.next_attempt_at.is_(None),
        ~exists().where(
            later.job_id == JobExecution.job_id,
            later.scheduled_for == JobExecution.scheduled_for,
            later.trigger_type == JobExecution.trigger_type,
            later.attempt > JobExecution.attempt,
        ),
    ]


class JobExecutionRepository(BaseRepository[JobExecution]):
    model = JobExecution

    async def final_outcomes(
        self, jobs: ColumnElement[bool], start: datetime, end: datetime
    ) -> list[JobOutcomes]:
        """Per job (those matching `jobs`), its runs' final outcomes in [start, end) by status,
        and their total duration (digests and weekly reports)."""
        statement = (
            select(
                JobExecution.job_id,
                Job.name,
                JobExecution.status,
                func.count(),
                func.coalesce(func.sum(JobExecution.duration_seconds), 0.0),
                func.count(JobExecution.duration_seconds),
            )
            .join(Job, Job.id == JobExecution.job_id)
            .where(*_final_attempts(jobs, start, end))
            .group_by(JobExecution.job_id, Job.name, JobExecution.status)
        )
        grouped: dict[uuid.UUID, JobOutcomes] = {}
        for job_id, name, status, count, duration, timed in await self.session.execute(statement):
            outcomes = grouped.setdefault(job_id, JobOutcomes(job_id, name, {}, 0.0, 0))
            outcomes.by_status[ExecutionStatus(status)] = int(count)
            outcomes.total_duration_seconds += float(duration or 0.0)
            outcomes.timed_runs += int(timed)
        return sorted(grouped.values(), key=lambda outcome: outcome.job_name)

    async def last_failures(
        self, jobs: ColumnElement[bool], start: datetime, end: datetime
    ) -> list[LastFailure]:
        """The latest failed run in [start, end) of each job matching `jobs`."""
        newest_first = (
            func.row_number()
            .over(
                partition_by=JobExecution.job_id,
                order_by=(JobExecution.scheduled_for.desc(), JobExecution.attempt.desc()),
            )
            .label("newest_first")
        )
        failed = (
            select(
                JobExecution.job_id,
                Job.name.label("job_name"),
                JobExecution.scheduled_for,
                JobExecution.error_message,
                JobExecution.response_status,
                newest_first,
            )
            .join(Job, Job.id == JobExecution.job_id)
            .where(
                *_final_attempts(jobs, start, end),
                JobExecution.status == ExecutionStatus.FAILED,
            )
            .subquery()
        )
        statement = (
            select(
                failed.c.job_id,
                failed.c.job_name,
                failed.c.scheduled_for,
                failed.c.error_message,
                failed.c.response_status,
            )
            .where(failed.c.newest_first == 1)
            .order_by(failed.c.job_name)
        )
        return [LastFailure(*row) for row in await self.session.execute(statement)]

    async def search(
        self,
        filters: ExecutionFilters,
        *,
        offset: int,
        limit: int,
        after: Position | None = None,
    ) -> list[NamedExecution]:
        """Executions with their job's name, newest slot first (those after `after` when
        given), in one query. The page's ids are picked first from a listing index alone
        (an index-only scan, however deep the offset), then only those rows are read."""
        where = filters.where()
        if after is not None:
            where.append(after.rows_after())
        page_ids = (
            select(JobExecution.id)
            .where(*where)
            .order_by(*_newest_first(JobExecution))
            .offset(offset)
            .limit(limit)
        )
        statement = (
            select(JobExecution, Job.name)
            .join(Job, Job.id == JobExecution.job_id)
            .where(JobExecution.id.in_(page_ids))
            .order_by(*_newest_first(JobExecution))
        )
        return [NamedExecution(row[0], row[1]) for row in await self.session.execute(statement)]

    async def latest_by_job(self, job_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, JobExecution]:
        """Each job's latest execution (`latest_execution_id`), for a page of jobs in one
        query. Jobs that never ran are absent."""
        if not job_ids:
            return {}
        statement = _latest_by_job()
        rows = (await self.session.execute(statement, {"job_ids": list(job_ids)})).scalars()
        return {execution.job_id: execution for execution in rows}

    async def get_with_job_name(self, execution_id: uuid.UUID) -> NamedExecution | None:
        statement = (
            select(JobExecution, Job.name)
            .join(Job, Job.id == JobExecution.job_id)
            .where(JobExecution.id == execution_id)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else NamedExecution(row[0], row[1])

    async def counts(self, filters: ExecutionFilters) -> ExecutionCounts:
        """Executions per status, and their average duration. Filtered by job and slot range
        only, whole hours come from the hourly rollup and only the range's partial first and
        last hours (and running rows, which the rollup leaves out) from the table, so the cost
        follows the hours of the range, not its executions."""
        tally = _Tally()
        if not filters.by_job_and_slot_only:
            await self._tally_rows(tally, filters.where())
            return tally.counts()
        first = _hour_after(filters.start)
        last = _hour_before(filters.end)
        if first is not None and last is not None and first >= last:
            await self._tally_rows(tally, filters.where())  # within one hour
            return tally.counts()
        await self._tally_hours(tally, filters.job_id, first, last)
        middle = filters.within(first, last).where()
        await self._tally_rows(tally, [*middle, JobExecution.status == ExecutionStatus.RUNNING])
        for start, end in ((filters.start, first), (last, filters.end)):
            if start is not None and end is not None and start < end:
                await self._tally_rows(tally, filters.within(start, end).where())
        return tally.counts()

    async def _tally_rows(self, tally: _Tally, where: list[ColumnElement[bool]]) -> None:
        duration = JobExecution.duration_seconds
        figures = (func.count(), func.sum(duration), func.count(duration))
        await self._tally(tally, JobExecution.status, figures, where)

    async def _tally_hours(
        self,
        tally: _Tally,
        job_id: uuid.UUID | None,
        first: datetime | None,
        last: datetime | None,
    ) -> None:
        hourly = JobExecutionHourly
        where: list[ColumnElement[bool]] = []
        if job_id is not None:
            where.append(hourly.job_id == job_id)
        if first is not None:
            where.append(hourly.hour >= first)
        if last is not None:
            where.append(hourly.hour < last)
        figures = (
            func.sum(hourly.executions),
            func.sum(hourly.duration_sum),
            func.sum(hourly.durations),
        )
        await self._tally(tally, hourly.status, figures, where)

    async def _tally(
        self,
        tally: _Tally,
        status: Any,
        figures: tuple[Any, Any, Any],
        where: list[ColumnElement[bool]],
    ) -> None:
        """Add (executions, duration sum, timed executions) per `status` to `tally`."""
        statement = select(status, *figures).where(*where).group_by(status)
        for row_status, executions, duration_sum, durations in await self.session.execute(
            statement
        ):
            tally.add(row_status, executions, duration_sum, durations)

    async def percentiles(
        self, filters: ExecutionFilters, executions: int | None = None
    ) -> Percentiles:
        """p50 and p95 of duration and lateness: one query on PostgreSQL (percentile_disc),
        an ordered pick per value elsewhere (SQLite has no percentile function). Over more
        than PERCENTILE_EXACT_LIMIT `executions` of every job (PostgreSQL), from a repeatable
        block sample of about PERCENTILE_SAMPLE of them (`sampled`)."""
        if self.session.get_bind().dialect.name != "postgresql":
            values = [
                value
                for column in (JobExecution.duration_seconds, JobExecution.lateness_ms)
                for value in await self._nearest_ranks(filters, column, PERCENTILES)
            ]
            return _percentiles(values, sampled=False)
        sampled = (
            filters.job_id is None
            and executions is not None
            and executions > PERCENTILE_EXACT_LIMIT
        )
        source: type[JobExecution] | AliasedClass[JobExecution] = JobExecution
        if sampled:
            assert executions is not None
            percent = 100 * PERCENTILE_SAMPLE / executions
            table = cast(Table, JobExecution.__table__)
            source = aliased(
                JobExecution, table.tablesample(func.system(percent), seed=literal(16))
            )
        statement = select(
            *(
                func.percentile_disc(fraction).within_group(column)
                for column in (source.duration_seconds, source.lateness_ms)
                for fraction in PERCENTILES
            )
        ).where(*filters.where(source))
        return _percentiles(list((await self.session.execute(statement)).one()), sampled)

    async def _nearest_ranks(
        self, filters: ExecutionFilters, column: Any, fractions: Sequence[float]
    ) -> list[Any]:
        where = [*filters.where(), column.is_not(None)]
        present = await self.count(*where)
        values: list[Any] = []
        for fraction in fractions:
            if not present:
                values.append(None)
                continue
            rank = max(math.ceil(fraction * present), 1)
            statement = select(column).where(*where).order_by(column).offset(rank - 1).limit(1)
            values.append((await self.session.execute(statement)).scalar_one())
        return values

    async def hourly_status_counts(
        self, start: datetime, hours: int
    ) -> dict[tuple[int, ExecutionStatus], int]:
        """Executions per (hour since `start`, status) for slots in `[start, start + hours)`;
        `start` on the hour: the rollup's hours, and running rows from the table."""
        end = start + timedelta(hours=hours)
        counts: dict[tuple[int, ExecutionStatus], int] = {}
        hourly = JobExecutionHourly
        statement = (
            select(hourly.hour, hourly.status, func.sum(hourly.executions))
            .where(hourly.hour >= start, hourly.hour < end)
            .group_by(hourly.hour, hourly.status)
        )
        for hour, status, n in await self.session.execute(statement):
            index = int((hour - start).total_seconds() // 3600)
            counts[index, ExecutionStatus(status)] = int(n)
        running = select(JobExecution.scheduled_for).where(
            JobExecution.status == ExecutionStatus.RUNNING,
            JobExecution.scheduled_for >= start,
            JobExecution.scheduled_for < end,
        )
        for slot in (await self.session.execute(running)).scalars():
            key = (int((slot - start).total_seconds() // 3600), ExecutionStatus.RUNNING)
            counts[key] = counts.get(key, 0) + 1
        return counts

    async def fail_lapsed_leases(self, now: datetime, message: str) -> list[uuid.UUID]:
        """Close running executions whose owner stopped renewing their lease."""
        statement = (
            update(JobExecution)
            .where(
                JobExecution.status == ExecutionStatus.RUNNING,
                JobExecution.lease_expires_at < now,
            )
            .values(
                status=ExecutionStatus.FAILED,
                error_message=message,
                completed_at=now,
                lease_expires_at=None,
                updated_at=now,
            )
            .returning(JobExecution.id)
        )
        return list((await self._write(statement)).scalars())

    async def close_running(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        """Apply each row's outcome (and retry due time) to its execution if that is still
        running (executemany). Each row names its execution's `job_id` and `scheduled_for`.

        The rows go in the order of the hourly rollup's key (job, hour, status): its triggers
        lock a rollup row per execution as they go, so two writers whose batches share a
        job's hour take those locks in the same order and cannot deadlock (in opposite orders
        they did, in about half of the rounds of a test)."""
        if not rows:
            return
        # Core statement: executemany with one parameter set per row.
        table = cast(Table, JobExecution.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("execution_id"), table.c.status == "running")
            .values(
                status=bindparam("new_status"),
                completed_at=bindparam("completed_at"),
                duration_seconds=bindparam("duration_seconds"),
                response_status=bindparam("response_status"),
                output=bindparam("output"),
                error_message=bindparam("error_message"),
                next_attempt_at=bindparam("next_attempt_at"),
                dns_ms=bindparam("dns_ms"),
                connect_ms=bindparam("connect_ms"),
                tls_ms=bindparam("tls_ms"),
                first_byte_ms=bindparam("first_byte_ms"),
                lateness_ms=bindparam("lateness_ms"),
                lease_expires_at=None,
                updated_at=now,
            )
        )
        params = [
            {**row, "execution_id": row["id"], "new_status": row["status"]}
            for row in sorted(rows, key=_rollup_key)
        ]
        await self._write(statement, params)

    async def renew_leases(self, ids: Sequence[uuid.UUID], until: datetime) -> None:
        if not ids:
            return
        await self._write(
            update(JobExecution)
            .where(JobExecution.id.in_(ids), JobExecution.status == ExecutionStatus.RUNNING)
            .values(lease_expires_at=until)
        )

    async def lock_running(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of `ids` are still running, locked for this transaction: what a writer about
        to close them will close (a reaper racing for one of them waits, then skips it)."""
        if not ids:
            return set()
        statement = (
            select(JobExecution.id)
            .where(JobExecution.id.in_(ids), JobExecution.status == ExecutionStatus.RUNNING)
            .order_by(JobExecution.id)
            .with_for_update()
        )
        return set((await self.session.execute(statement)).scalars())

    async def lock_with_job(self, execution_id: uuid.UUID) -> tuple[JobExecution, Job] | None:
        """The execution and its job, the execution locked for this transaction (an outcome
        writer or a retry claim holding it is waited for)."""
        statement = (
            select(JobExecution, Job)
            .join(Job, Job.id == JobExecution.job_id)
            .where(JobExecution.id == execution_id)
            .with_for_update(of=JobExecution)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1])

    async def cancelled_among(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of `ids` have been cancelled (in chunks: a process may hold thousands)."""
        found: set[uuid.UUID] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            statement = select(JobExecution.id).where(
                JobExecution.id.in_(ids[start : start + _ID_CHUNK]),
                JobExecution.status == ExecutionStatus.CANCELLED,
            )
            found.update((await self.session.execute(statement)).scalars())
        return found

    async def lock_due_retries(self, now: datetime, limit: int) -> list[tuple[JobExecution, Job]]:
        """Failed attempts whose next attempt is due by `now`, with their jobs, locked for this
        transaction; rows another scheduler holds are skipped rather than waited for."""
        statement = (
            select(JobExecution, Job)
            .join(Job, Job.id == JobExecution.job_id)
            .where(JobExecution.next_attempt_at <= now)
            .order_by(JobExecution.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=JobExecution)
        )
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def count_due_retries(self, now: datetime, cap: int) -> int:
        return await self.count_at_most(cap, JobExecution.next_attempt_at <= now)

    async def count_running(self, cap: int) -> int:
        return await self.count_at_most(cap, JobExecution.status == ExecutionStatus.RUNNING)

    async def running_of(self, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """For each of `job_ids` with a run still going (an attempt running, or a failed one
        waiting for its retry): one such execution's id."""
        if not job_ids:
            return {}
        # Two arms, so each can use its partial index (running leases, due retries).
        of_jobs = JobExecution.job_id.in_(job_ids)
        statement = union_all(
            select(JobExecution.job_id, JobExecution.id).where(
                of_jobs, JobExecution.status == ExecutionStatus.RUNNING
            ),
            select(JobExecution.job_id, JobExecution.id).where(
                of_jobs, JobExecution.next_attempt_at.is_not(None)
            ),
        )
        found: dict[uuid.UUID, uuid.UUID] = {}
        for job_id, execution_id in await self.session.execute(statement):
            found.setdefault(job_id, execution_id)
        return found

    async def purge_batch(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` of the oldest finished executions whose slot is before
        `before` (along ix_job_execution_order). Never a running one, nor one waiting for its
        retry, nor any of its job's newest slot: the jobs page's last run (`latest_execution_id`)
        stays, however long ago it was. Notifications naming a deleted execution keep their
        text and lose the link (ON DELETE SET NULL, by ix_notification_related_execution)."""
        newer = aliased(JobExecution)
        return await self.purge_oldest(
            JobExecution.scheduled_for,
            before,
            limit,
            JobExecution.status != ExecutionStatus.RUNNING,
            JobExecution.next_attempt_at.is_(None),
            exists().where(
                newer.job_id == JobExecution.job_id,
                newer.scheduled_for > JobExecution.scheduled_for,
            ),
        )

    async def earliest_retry(self) -> datetime | None:
        statement = select(func.min(JobExecution.next_attempt_at))
        earliest: datetime | None = (await self.session.execute(statement)).scalar_one()
        return earliest

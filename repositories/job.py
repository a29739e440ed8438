from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVarTuple, cast

from sqlalchemy import Boolean, Row, Select, Table, bindparam, case, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from models.job import Job
from models.job_execution import JobExecution
from repositories.base import BaseRepository, Page
from repositories.job_execution import latest_execution_id

# `sort` values of the API (without the leading `-`) and the columns they order by.
SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "name": Job.name,
    "created_at": Job.created_at,
    "updated_at": Job.updated_at,
    "next_execution_at": Job.next_run_at,
    "last_execution_at": Job.last_execution_at,
    "end_date": Job.end_date,
}
_NAME_CHUNK = 500
_Columns = TypeVarTuple("_Columns")

Reference = Literal["category", "pic_team"]


@dataclass(frozen=True, slots=True)
class JobWithLatest:
    job: Job
    latest: JobExecution | None


def _with_latest(statement: Select[Job]) -> Select[Job, JobExecution | None]:
    """`statement` with each job's latest execution beside it (outer join: None before the
    job's first run)."""
    latest = JobExecution.id == latest_execution_id(Job.id)
    return statement.add_columns(JobExecution).outerjoin(JobExecution, latest)


@dataclass(frozen=True, slots=True)
class JobFilters:
    search: str | None = None
    category: str | None = None
    pic_team: str | None = None
    is_active: bool | None = None
    created_by: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class JobAdvance:
    """A claimed job's next slot, and when it last fired if this claim fired it."""

    job_id: uuid.UUID
    next_run_at: datetime | None
    fired_at: datetime | None


@dataclass(frozen=True, slots=True)
class JobStreak:
    consecutive_failures: int
    notify_on_success: bool


class JobRepository(BaseRepository[Job]):
    model = Job

    async def list_page(
        self, filters: JobFilters, *, page: int, per_page: int, sort: str
    ) -> Page[Job]:
        """One query for the page, one for the total.

        The page's latest executions are a query of their own, for its ids
        (`JobExecutionRepository.latest_by_job`). Joined into this one, they were looked up
        for every matching job before the page was cut unless an index gave the order: by
        creation, the default, 10,000 jobs and 100,000 executions cost 118 ms of database
        time for a page of 20 (a hash join over every execution)."""
        return await self.paginate(
            *self._where(filters), page=page, per_page=per_page, order_by=self._order_by(sort)
        )

    async def get_with_latest(self, job_id: uuid.UUID) -> JobWithLatest | None:
        """The job and its latest execution, in one query (built once, `statement`)."""
        statement = self.statement(
            "get_with_latest",
            lambda: _with_latest(select(Job)).where(Job.id == bindparam("pk")),
        )
        row = (await self.session.execute(statement, {"pk": job_id})).first()
        return None if row is None else JobWithLatest(*row)

    async def name_taken(self, name: str, *, exclude_id: uuid.UUID | None = None) -> bool:
        where = [Job.name == name]
        if exclude_id is not None:
            where.append(Job.id != exclude_id)
        return await self.exists(*where)

    async def existing_names(self, names: Collection[str]) -> set[str]:
        """Which of `names` are taken already, in a few queries whatever their number."""
        wanted = sorted(set(names))
        found: set[str] = set()
        for start in range(0, len(wanted), _NAME_CHUNK):
            chunk = wanted[start : start + _NAME_CHUNK]
            rows = await self.session.execute(select(Job.name).where(Job.name.in_(chunk)))
            found.update(rows.scalars())
        return found

    async def replace_reference(self, field: Reference, old: str, new: str) -> int:
        """Point every job using category/team slug `old` at `new`; returns how many moved."""
        column = Job.category if field == "category" else Job.pic_team
        return await self._write_count(update(Job).where(column == old).values({column: new}))

    async def count_by_activity(self) -> tuple[int, int]:
        """(active, paused) job counts."""
        rows = await self.session.execute(
            select(Job.is_active, func.count()).group_by(Job.is_active)
        )
        counts = {bool(active): int(n) for active, n in rows}
        return counts.get(True, 0), counts.get(False, 0)

    async def failing(self, limit: int) -> Sequence[Job]:
        """Jobs whose latest runs failed, longest streak first."""
        return await self.get_multi(
            Job.consecutive_failures > 0,
            order_by=[
                Job.consecutive_failures.desc(),
                Job.last_execution_at.desc().nulls_last(),
                Job.id,
            ],
            limit=limit,
        )

    async def next_due(self, limit: int) -> Sequence[Job]:
        """Active jobs by their next slot, soonest first."""
        return await self.get_multi(
            Job.is_active.is_(True),
            Job.next_run_at.is_not(None),
            order_by=[Job.next_run_at.asc(), Job.id],
            limit=limit,
        )

    @staticmethod
    def _where(filters: JobFilters) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if filters.search:
            pattern = "%" + _escape_like(filters.search) + "%"
            where.append(Job.name.ilike(pattern, escape="\\"))
        if filters.category is not None:
            where.append(Job.category == filters.category)
        if filters.pic_team is not None:
            where.append(Job.pic_team == filters.pic_team)
        if filters.is_active is not None:
            where.append(Job.is_active.is_(filters.is_active))
        if filters.created_by is not None:
            where.append(Job.created_by == filters.created_by)
        return where

    @staticmethod
    def _order_by(sort: str) -> list[Any]:
        column = SORT_COLUMNS[sort.removeprefix("-")]
        ordered = column.desc() if sort.startswith("-") else column.asc()
        # Unscheduled or never-run jobs last either way; the id keeps pages stable.
        return [ordered.nulls_last(), Job.id.asc()]

    # --- the scheduler's queries ------------------------------------------------------------

    async def lock_due(self, now: datetime, limit: int) -> Sequence[Job]:
        """Active jobs due by `now`, locked for this transaction; rows another scheduler holds
        are skipped rather than waited for (SQLite, single-writer, ignores the clause)."""
        statement = (
            select(Job)
            .where(Job.is_active, Job.next_run_at <= now)
            .order_by(Job.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def lock_finished(self, limit: int) -> Sequence[Job]:
        """Active jobs with no slot left before their end date: they are to be paused."""
        statement = (
            select(Job)
            .where(Job.is_active, Job.next_run_at.is_(None))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def count_due(self, now: datetime, cap: int) -> int:
        """Active jobs whose next slot has come and that no scheduler has claimed yet."""
        return await self.count_at_most(cap, Job.is_active.expression, Job.next_run_at <= now)

    async def earliest_due(self) -> datetime | None:
        statement = select(func.min(Job.next_run_at)).where(Job.is_active)
        earliest: datetime | None = (await self.session.execute(statement)).scalar_one()
        return earliest

    async def record_streaks(self, outcomes: Sequence[tuple[uuid.UUID, bool]]) -> None:
        """Reset (success) or extend (failure) each job's run of consecutive failures."""
        table = _job_table()
        succeeded = bindparam("succeeded", type_=Boolean)
        await self._update_each(
            consecutive_failures=case((succeeded, 0), else_=table.c.consecutive_failures + 1),
            # A success that leaves a streak of 0 as it was writes nothing (most outcomes).
            only_if=or_(~succeeded, table.c.consecutive_failures != 0),
            rows=[{"job_id": job_id, "succeeded": ok} for job_id, ok in outcomes],
        )

    async def advance(self, moves: Sequence[JobAdvance]) -> None:
        """Move claimed jobs to their next slot, one executemany: the unit of work would
        diff every loaded job and build an UPDATE per shape of change, the larger part of a
        claim's CPU. The loaded objects keep their old values until the transaction ends."""
        await self._update_each(
            next_run_at=bindparam("next_slot"),
            last_execution_at=func.coalesce(
                bindparam("fired_at"), _job_table().c.last_execution_at
            ),
            rows=[
                {"job_id": move.job_id, "next_slot": move.next_run_at, "fired_at": move.fired_at}
                for move in moves
            ],
        )

    async def _update_each(
        self,
        *,
        rows: Sequence[dict[str, Any]],
        only_if: ColumnElement[bool] | None = None,
        **values: Any,
    ) -> None:
        """One Core UPDATE of the job `job_id` of each row (when `only_if` holds), as an
        executemany (one parameter set per row)."""
        if not rows:
            return
        table = _job_table()
        statement = update(table).where(table.c.id == bindparam("job_id"))
        if only_if is not None:
            statement = statement.where(only_if)
        await self._write(statement.values(**values), rows)

    async def lock_streaks(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, JobStreak]:
        """The failure streaks of the jobs `ids` that exist, locked as `lock_many` locks."""
        rows = await self._lock_by_id(
            select(Job.id, Job.consecutive_failures, Job.notify_on_success), ids
        )
        return {row.id: JobStreak(row.consecutive_failures, row.notify_on_success) for row in rows}

    async def lock_many(self, ids: Collection[uuid.UUID]) -> Sequence[Job]:
        """The jobs `ids` that exist, locked for this transaction in id order (writers locking
        overlapping sets wait for each other instead of deadlocking)."""
        return [row.Job for row in await self._lock_by_id(select(Job), ids)]

    async def _lock_by_id(
        self, statement: Select[*_Columns], ids: Collection[uuid.UUID]
    ) -> Sequence[Row[*_Columns]]:
        if not ids:
            return []
        locking = statement.where(Job.id.in_(ids)).order_by(Job.id).with_for_update()
        return (await self.session.execute(locking)).all()


def _job_table() -> Table:
    return cast(Table, Job.__table__)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

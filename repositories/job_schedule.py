from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from pydantic import BaseModel
from sqlalchemy import Table, bindparam, case, func, select, update

from models import Job
from repositories.base import BaseRepository


class JobScheduleRepository(BaseRepository[Job, BaseModel, BaseModel]):
    """The scheduler's view of jobs: which are due, claimed so that replicas share them."""

    model = Job

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

    async def earliest_due(self) -> datetime | None:
        statement = select(func.min(Job.next_run_at)).where(Job.is_active)
        earliest: datetime | None = (await self.session.execute(statement)).scalar_one()
        return earliest

    async def record_streaks(self, outcomes: Sequence[tuple[uuid.UUID, bool]]) -> None:
        """Reset (success) or extend (failure) each job's run of consecutive failures."""
        if not outcomes:
            return
        # Core statement: executemany with one parameter set per row.
        table = cast(Table, Job.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("job_id"))
            .values(
                consecutive_failures=case(
                    (bindparam("succeeded"), 0), else_=table.c.consecutive_failures + 1
                )
            )
        )
        await self.session.execute(
            statement, [{"job_id": job_id, "succeeded": ok} for job_id, ok in outcomes]
        )

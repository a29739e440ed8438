from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class JobExecutionHourly(Base):
    """Executions per job, UTC hour of their slot and final status, kept by database triggers
    on `job_execution` in the transaction that writes the row (migration 0015): every insert,
    status or duration change and delete moves the counts, whichever code path makes it.
    A row whose count falls to zero (retention, a moved row) is deleted. Running executions
    are left out (they change within minutes and are few: listings count
    them from the table). Statistics read whole hours here and only the edges of a range
    from `job_execution`."""

    __tablename__ = "job_execution_hourly"
    __table_args__ = (Index("ix_job_execution_hourly_hour", "hour"),)

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("job.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(9), primary_key=True)
    executions: Mapped[int]
    # Sum and number of the non-null durations (for the average).
    duration_sum: Mapped[float]
    durations: Mapped[int]

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.enums import ExecutionStatus, ExecutionType, TriggerType
from models.base import Base, Timestamps, UUIDPrimaryKey, str_enum
from models.job import Job


class JobExecution(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "job_execution"
    __table_args__ = (
        # A scheduled slot fires once: one row per job, slot and attempt, whatever the replicas do.
        Index(
            "uq_job_execution_scheduled_slot",
            "job_id",
            "scheduled_for",
            "attempt",
            unique=True,
            postgresql_where=text("trigger_type = 'scheduled'"),
            sqlite_where=text("trigger_type = 'scheduled'"),
        ),
        # Listings are newest slot first, filtered by job or by status.
        Index("ix_job_execution_job_slot", "job_id", "scheduled_for"),
        Index("ix_job_execution_status_slot", "status", "scheduled_for"),
        Index("ix_job_execution_slot", "scheduled_for"),
        Index(
            "ix_job_execution_running_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    status: Mapped[ExecutionStatus] = mapped_column(
        str_enum(ExecutionStatus, "status"), default=ExecutionStatus.RUNNING
    )
    trigger_type: Mapped[TriggerType] = mapped_column(str_enum(TriggerType, "trigger_type"))
    execution_type: Mapped[ExecutionType] = mapped_column(str_enum(ExecutionType, "execution_type"))
    scheduled_for: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None]
    target: Mapped[str | None] = mapped_column(String(500))
    response_status: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(default=1)
    # While running, the owning scheduler renews this; once it lapses the run is "interrupted".
    lease_expires_at: Mapped[datetime | None]

    job: Mapped[Job] = relationship(lazy="raise")

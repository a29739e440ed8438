from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.enums import ExecutionStatus, ExecutionType, TriggerType
from models.base import Base, JSONType, Timestamps, UUIDPrimaryKey, str_enum
from models.job import Job

# What a row keeps of a job's target (a URL, or owner/repo:workflow).
TARGET_MAX_LENGTH = 500


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
        # Listings are newest slot first (the whole sort key, so a page, its cursor and a
        # capped count are read from the index alone), filtered by job or by status.
        # One job's counts and percentiles read this index alone (PostgreSQL: INCLUDE).
        Index(
            "ix_job_execution_job_order",
            "job_id",
            "scheduled_for",
            "attempt",
            "id",
            postgresql_include=["status", "duration_seconds", "lateness_ms"],
        ),
        Index("ix_job_execution_status_order", "status", "scheduled_for", "attempt", "id"),
        Index("ix_job_execution_order", "scheduled_for", "attempt", "id"),
        Index(
            "ix_job_execution_running_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        # The scheduler's retry claim: failed attempts whose next attempt is due.
        Index(
            "ix_job_execution_retry_due",
            "next_attempt_at",
            postgresql_where=text("next_attempt_at IS NOT NULL"),
            sqlite_where=text("next_attempt_at IS NOT NULL"),
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
    target: Mapped[str | None] = mapped_column(String(TARGET_MAX_LENGTH))
    response_status: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(default=1)
    # When the call started minus when the attempt was due (its slot; a retry's due time).
    lateness_ms: Mapped[int | None]
    # While running, the owning scheduler renews this; once it lapses the run is "interrupted".
    lease_expires_at: Mapped[datetime | None]
    # On a failed attempt that will be tried again: when the next attempt is due. Any live
    # scheduler claims it then (clearing this), so a pending retry survives its process.
    next_attempt_at: Mapped[datetime | None]
    # A manual run's one-off `metadata` (instead of the job's), kept for its later attempts.
    metadata_override: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # What the client measured of a webhook call, in milliseconds (integrations/outbound.py):
    # null when the phase did not happen (no DNS for an address, no connect or TLS on a kept
    # connection, no TLS for http, no answer).
    dns_ms: Mapped[float | None]
    connect_ms: Mapped[float | None]
    tls_ms: Mapped[float | None]
    first_byte_ms: Mapped[float | None]

    job: Mapped[Job] = relationship(lazy="raise")

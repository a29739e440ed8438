from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core import cron
from core.enums import CatchupPolicy, ConcurrencyPolicy, HttpMethod, PauseReason
from models.base import Base, JSONType, Timestamps, UUIDPrimaryKey, str_enum


class Job(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "job"
    __table_args__ = (
        # The scheduler's claim query: active jobs ordered by due time.
        Index("ix_job_due", "next_run_at", postgresql_where=text("is_active")),
    )

    name: Mapped[str] = mapped_column(String(255), unique=True)
    cron_expression: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    target_url: Mapped[str | None] = mapped_column(String(500))
    http_method: Mapped[HttpMethod] = mapped_column(
        str_enum(HttpMethod, "http_method"), default=HttpMethod.POST
    )
    github_owner: Mapped[str | None] = mapped_column(String(255))
    github_repo: Mapped[str | None] = mapped_column(String(255))
    github_workflow_name: Mapped[str | None] = mapped_column(String(255))
    # `metadata` is reserved on declarative classes, hence the attribute name.
    job_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # Request headers of every webhook call, in order: [{"name", "value", "secret"}]. A secret
    # header's value is a Fernet token (core/secrets.py), never the plaintext.
    headers: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    # Standard Webhooks signing secrets (`whsec_...`), encrypted like secret headers. After a
    # rotation the previous one also signs until the overlap (SIGNING_ROTATION_OVERLAP_HOURS)
    # after `signing_secret_rotated_at`. NULL only for jobs from before migration 0010 until
    # their first run (services/job_secrets.py).
    signing_secret: Mapped[str | None] = mapped_column(Text)
    previous_signing_secret: Mapped[str | None] = mapped_column(Text)
    signing_secret_rotated_at: Mapped[datetime | None]
    # Category and team are referenced by slug: renaming one moves its jobs in one UPDATE.
    category: Mapped[str] = mapped_column(String(100), index=True)
    pic_team: Mapped[str] = mapped_column(String(100), index=True)
    end_date: Mapped[date]
    enable_email_notifications: Mapped[bool] = mapped_column(default=False)
    notification_emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notify_on_success: Mapped[bool] = mapped_column(default=False)
    timeout_seconds: Mapped[int] = mapped_column(default=30)
    max_retries: Mapped[int] = mapped_column(default=0)
    # Retry policy (Cloud Scheduler's shape); a null backoff bound is the global setting's.
    min_backoff_seconds: Mapped[float | None]
    max_backoff_seconds: Mapped[float | None]
    max_doublings: Mapped[int] = mapped_column(default=5, server_default=text("5"))
    # 0: retries may start however long after the slot.
    max_retry_duration_seconds: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Overlap and catch-up policies; a null grace is MISFIRE_GRACE_SECONDS.
    concurrency_policy: Mapped[ConcurrencyPolicy] = mapped_column(
        str_enum(ConcurrencyPolicy, "concurrency_policy"),
        default=ConcurrencyPolicy.ALLOW,
        server_default=ConcurrencyPolicy.ALLOW.value,
    )
    catchup: Mapped[CatchupPolicy] = mapped_column(
        str_enum(CatchupPolicy, "catchup"),
        default=CatchupPolicy.LATEST,
        server_default=CatchupPolicy.LATEST.value,
    )
    misfire_grace_seconds: Mapped[int | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    # The next slot the scheduler will fire, in UTC; NULL while paused or past end_date.
    next_run_at: Mapped[datetime | None]
    last_execution_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    # When and why the service itself last paused the job (end date, auto-pause): the digests
    # report it. Kept when the job is resumed, as a record.
    paused_by_service_at: Mapped[datetime | None]
    pause_reason: Mapped[PauseReason | None] = mapped_column(str_enum(PauseReason, "pause_reason"))

    @property
    def next_execution_at(self) -> datetime | None:
        """The stored next slot in the job's zone; none once it would fall after `end_date`
        (the scheduler pauses the job instead of firing it)."""
        if not self.is_active or self.next_run_at is None:
            return None
        local = self.next_run_at.astimezone(cron.zone(self.timezone))
        return local if local.date() <= self.end_date else None

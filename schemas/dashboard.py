"""The home page's one call: `GET /api/v1/dashboard/summary`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.execution import ExecutionRead
from schemas.job import TimezoneName


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: TimezoneName | None = Field(
        default=None,
        description="IANA zone whose midnight starts 'today' (default: SCHEDULER_TIMEZONE).",
        examples=["Europe/Berlin"],
    )


class JobCounts(BaseModel):
    active: int
    paused: int


class RunCounts(BaseModel):
    """Executions whose slot (`scheduled_for`) falls in the window."""

    total: int
    success: int
    failed: int
    missed: int
    running: int
    skipped: int
    cancelled: int
    success_rate: float | None = Field(
        description="Percent of the window's executions that succeeded, skipped and cancelled "
        "ones left out; null without any."
    )


class HourBucket(BaseModel):
    hour: datetime = Field(description="Start of the hour, UTC.")
    success: int
    failed: int
    missed: int
    running: int
    skipped: int
    cancelled: int


class FailingJob(BaseModel):
    id: uuid.UUID
    name: str
    consecutive_failures: int
    last_execution_at: datetime | None
    is_active: bool


class UpcomingRun(BaseModel):
    job_id: uuid.UUID
    job_name: str
    timezone: str
    at: datetime = Field(description="The slot, UTC.")


class DashboardSummary(BaseModel):
    generated_at: datetime
    timezone: str = Field(description="The zone 'today' was counted in.")
    jobs: JobCounts
    today: RunCounts = Field(description="Since midnight in `timezone`.")
    last_24h: RunCounts
    last_7d: RunCounts
    runs_per_hour: list[HourBucket] = Field(
        description="The last 24 hours, oldest first, the current hour last."
    )
    failing_jobs: list[FailingJob] = Field(
        description="Jobs whose latest runs failed, longest failure streak first (at most 10)."
    )
    running: list[ExecutionRead] = Field(description="Executions running now (at most 20).")
    upcoming: list[UpcomingRun] = Field(description="The next 10 scheduled runs of all jobs.")

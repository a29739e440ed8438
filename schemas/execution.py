from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.date_range import DateRange
from core.enums import ExecutionStatus, ExecutionType, HttpMethod, TriggerType
from repositories.job_execution import ExecutionCounts, Percentiles, Position
from schemas.common import Page, RequestModel, example
from schemas.date_range import DateRangeRead, RangeQuery
from schemas.headers import HeaderList
from schemas.job import (
    GithubOwner,
    GithubRepo,
    Method,
    TargetUrl,
    TimeoutSeconds,
    WorkflowName,
)
from schemas.json_value import Metadata
from schemas.pagination import PageResponse


class ExecutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    job_id: uuid.UUID
    job_name: str
    status: ExecutionStatus
    trigger_type: TriggerType
    scheduled_for: datetime
    started_at: datetime | None
    completed_at: datetime | None
    duration_seconds: float | None
    execution_type: ExecutionType
    target: str | None
    response_status: int | None
    error_message: str | None
    output: str | None
    attempt: int
    dns_ms: float | None = Field(
        description="Webhooks: milliseconds resolving the target's host name (null for an IP "
        "address or a GitHub run)."
    )
    connect_ms: float | None = Field(
        description="Webhooks: milliseconds opening the TCP connection (null when a kept-alive "
        "connection was used)."
    )
    tls_ms: float | None = Field(
        description="Webhooks: milliseconds of the TLS handshake (null for http or a kept-alive "
        "connection)."
    )
    first_byte_ms: float | None = Field(
        description="Webhooks: milliseconds from sending the request to the answer's status line "
        "and headers (null when no answer came)."
    )
    lateness_ms: int | None = Field(
        description="When the call started minus when the attempt was due (its slot; for a "
        "retry its due time; for a manual run the trigger), in milliseconds; null until the "
        "call starts and for rows never called (missed, skipped)."
    )


class ExecutionEnvelope(BaseModel):
    execution: ExecutionRead


class CancelResponse(BaseModel):
    message: str
    execution: ExecutionRead


class _ExecutionFilterQuery(RangeQuery):
    status: list[ExecutionStatus] | None = Field(
        default=None, description="Comma-separated statuses, e.g. `failed,missed`."
    )
    trigger_type: TriggerType | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _split_statuses(cls, value: Any) -> Any:
        """`?status=failed,missed` and `?status=failed&status=missed` mean the same."""
        values = value if isinstance(value, list) else [value] if value is not None else []
        parts = [part.strip() for item in values for part in str(item).split(",")]
        return [part for part in parts if part] or None


CURSOR_DESCRIPTION = (
    "The `next_cursor` of the previous page: the page after it, found by its place in the "
    "order (keyset), so rows arriving meanwhile neither repeat nor skip rows, and deep pages "
    "cost what the first does. Not with `page`."
)
_CURSOR_MAX_LENGTH = 200


def encode_cursor(position: Position) -> str:
    """An opaque token for the rows after `position` (base64url of its sort key)."""
    key = [position.scheduled_for.isoformat(), position.attempt, position.id.hex]
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> Position:
    """The position an `encode_cursor` token carries; ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        slot, attempt, id_hex = json.loads(raw)
        scheduled_for = datetime.fromisoformat(slot)
        if scheduled_for.tzinfo is None or type(attempt) is not int or attempt < 1:
            raise ValueError
        return Position(scheduled_for, attempt, uuid.UUID(hex=id_hex))
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise ValueError("not a cursor this listing gave (use its `next_cursor`)") from None


class _PagedExecutionQuery(_ExecutionFilterQuery):
    page: Page = 1
    cursor: str | None = Field(
        default=None, max_length=_CURSOR_MAX_LENGTH, description=CURSOR_DESCRIPTION
    )

    @field_validator("cursor")
    @classmethod
    def _known_cursor(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value

    @model_validator(mode="after")
    def _page_or_cursor(self) -> Self:
        if self.cursor is not None and self.page != 1:
            raise ValueError("give `page` or `cursor`, not both")
        return self

    @property
    def after(self) -> Position | None:
        """Where the page starts when asked for by cursor."""
        return None if self.cursor is None else decode_cursor(self.cursor)


class ExecutionListQuery(_PagedExecutionQuery):
    limit: int = Field(default=20, ge=1, le=200)
    job_id: uuid.UUID | None = None
    execution_type: ExecutionType | None = None


class JobExecutionListQuery(_PagedExecutionQuery):
    limit: int = Field(default=50, ge=1, le=200)


class _ExecutionListing(PageResponse[ExecutionRead]):
    """A page of executions: by number (`page`) or after a cursor."""

    items: list[ExecutionRead] = Field(serialization_alias="executions")
    per_page: int = Field(serialization_alias="limit")
    # Narrower than PageResponse's `int`: a page asked by cursor has no number.
    page: int | None = Field(  # type: ignore[assignment]
        description="The page's number; null for a page asked by cursor."
    )
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page; null on the last page.",
    )


class ExecutionPage(_ExecutionListing):
    pass


def cursor_fields(
    query: ExecutionListQuery | JobExecutionListQuery, following: Position | None
) -> dict[str, Any]:
    """A listing's `page` (null when asked by cursor) and `next_cursor`."""
    return {
        "page": None if query.cursor is not None else query.page,
        "next_cursor": None if following is None else encode_cursor(following),
    }


class StatisticsQuery(RangeQuery):
    job_id: uuid.UUID | None = None


EXECUTION_RETENTION = (
    "Finished executions whose slot is older than `EXECUTION_RETENTION_DAYS` are purged, "
    "except every attempt of a job's newest slot."
)

SUCCESS_RATE = (
    "Percentage of the executions that succeeded, skipped and cancelled ones left out (they "
    "are neither a success nor a failure); 0 without any."
)


class _Percentiles(BaseModel):
    """Nearest-rank percentiles over the executions that have the value."""

    p50_duration_seconds: float | None = Field(description="Median duration; null without any.")
    p95_duration_seconds: float | None
    p50_lateness_ms: int | None = Field(
        description="Median lateness (call start minus due time); null without any."
    )
    p95_lateness_ms: int | None
    percentiles_sampled: bool = Field(
        default=False,
        description="True when the percentiles come from a repeatable random sample of about "
        "20,000 of the executions (a range of more than 100,000 executions of every job, on "
        "PostgreSQL) rather than from all of them; the counts are always exact.",
    )

    @staticmethod
    def fields_of(percentiles: Percentiles) -> dict[str, Any]:
        return {
            "p50_duration_seconds": percentiles.p50_duration_seconds,
            "p95_duration_seconds": percentiles.p95_duration_seconds,
            "p50_lateness_ms": percentiles.p50_lateness_ms,
            "p95_lateness_ms": percentiles.p95_lateness_ms,
            "percentiles_sampled": percentiles.sampled,
        }


class ExecutionStatistics(_Percentiles):
    total_executions: int
    successful_executions: int
    failed_executions: int
    running_executions: int
    missed_executions: int
    skipped_executions: int
    cancelled_executions: int
    success_rate: float = Field(description=SUCCESS_RATE)
    average_duration_seconds: float | None
    range: DateRangeRead

    @classmethod
    def of(
        cls, counts: ExecutionCounts, percentiles: Percentiles, window: DateRange
    ) -> ExecutionStatistics:
        return cls(
            total_executions=counts.total,
            successful_executions=counts.success,
            failed_executions=counts.failed,
            running_executions=counts.running,
            missed_executions=counts.of(ExecutionStatus.MISSED),
            skipped_executions=counts.of(ExecutionStatus.SKIPPED),
            cancelled_executions=counts.of(ExecutionStatus.CANCELLED),
            success_rate=counts.success_rate,
            average_duration_seconds=counts.average_duration_seconds,
            range=DateRangeRead.of(window),
            **cls.fields_of(percentiles),
        )


class JobExecutionList(_ExecutionListing):
    job_id: uuid.UUID
    job_name: str
    total: int = Field(
        serialization_alias="total_executions",
        description="Executions matching the filters, on every page (an estimate when "
        "`total_is_estimate`).",
    )


class JobExecutionDetail(BaseModel):
    class JobRef(BaseModel):
        id: uuid.UUID
        name: str

    job: JobRef
    execution: ExecutionRead


class JobStatistics(_Percentiles):
    total_executions: int
    success_count: int
    failed_count: int
    running_count: int
    missed_count: int
    skipped_count: int
    cancelled_count: int
    success_rate: float = Field(description=SUCCESS_RATE)
    average_duration_seconds: float | None

    @classmethod
    def of(cls, counts: ExecutionCounts, percentiles: Percentiles) -> JobStatistics:
        return cls(
            total_executions=counts.total,
            success_count=counts.success,
            failed_count=counts.failed,
            running_count=counts.running,
            missed_count=counts.of(ExecutionStatus.MISSED),
            skipped_count=counts.of(ExecutionStatus.SKIPPED),
            cancelled_count=counts.of(ExecutionStatus.CANCELLED),
            success_rate=counts.success_rate,
            average_duration_seconds=counts.average_duration_seconds,
            **cls.fields_of(percentiles),
        )


class JobExecutionStats(BaseModel):
    job_id: uuid.UUID
    job_name: str
    statistics: JobStatistics
    latest_execution: ExecutionRead | None


class ExecuteRequest(RequestModel):
    model_config = example({"metadata": {"report": "sales", "format": "csv", "rerun": True}})

    metadata: Metadata | None = Field(
        default=None,
        description=(
            "Merged over the job's metadata for this run only, top level: a key given here "
            "wins, a key given as null is removed, other keys keep the job's values (a "
            "GitHub job's `branchDetails` stays unless overridden). The job's headers cannot "
            "be overridden."
        ),
    )
    github_token: str | None = Field(
        default=None, description="Used for this run only; never stored or logged.", repr=False
    )


class ExecuteResponse(BaseModel):
    message: str
    job_id: uuid.UUID
    execution: ExecutionRead


class TrialRunRequest(RequestModel):
    """One real request to a target, nothing stored: a webhook URL, or a GitHub workflow."""

    model_config = example(
        {
            "target_url": "https://hooks.example.com/sales-export",
            "http_method": "POST",
            "metadata": {"report": "sales", "format": "csv"},
            "timeout_seconds": 10,
        }
    )

    target_url: TargetUrl | None = None
    http_method: Method = HttpMethod.POST
    github_owner: GithubOwner | None = Field(
        default=None, description="Defaults to GITHUB_DEFAULT_OWNER."
    )
    github_repo: GithubRepo | None = None
    github_workflow_name: WorkflowName | None = None
    metadata: Metadata = Field(default_factory=dict)
    headers: HeaderList = Field(
        default_factory=list,
        description="Request headers, as a job's (webhooks only; every value required). "
        "Used for this request only: never stored, logged or echoed.",
    )
    github_token: str | None = Field(
        default=None, description="Used for this request only; never stored or logged.", repr=False
    )
    timeout_seconds: TimeoutSeconds = 30

    @model_validator(mode="after")
    def _exactly_one_target(self) -> TrialRunRequest:
        github = (self.github_repo, self.github_workflow_name)
        if self.target_url is not None and any(github):
            raise ValueError("give either target_url or the GitHub workflow fields, not both")
        if self.target_url is None and not all(github):
            raise ValueError(
                "a target is required: target_url, or github_repo + github_workflow_name"
            )
        if self.headers and self.target_url is None:
            raise ValueError("headers are sent to webhook targets only")
        if any(header.value is None for header in self.headers):
            raise ValueError("every header of a test run needs its value")
        return self


class TrialRunResult(BaseModel):
    ok: bool
    type: ExecutionType
    status_code: int | None
    message: str

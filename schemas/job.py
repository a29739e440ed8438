"""Jobs at the HTTP edge: request bodies (unknown fields rejected), responses, cron tools.

Everything that can be judged from the request alone is validated here (422 with the field
named): lengths, cron syntax, IANA time zones, URL shape, GitHub names, emails, ranges. Rules
that need the clock, settings, stored rows or DNS live in `services/job.py`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    computed_field,
    field_validator,
)

from core import cron
from core.enums import CatchupPolicy, ConcurrencyPolicy, ExecutionStatus, HttpMethod, TriggerType
from core.urls import TargetRefused, parse_target_url
from schemas.common import Flag, ORMModel, Page, RequestModel, example
from schemas.headers import HeaderList, HeaderRead
from schemas.json_value import METADATA_MAX_BYTES, Metadata
from schemas.pagination import PageResponse
from schemas.text import storable_text

TARGET_URL_MAX_LENGTH = 500
MAX_NOTIFICATION_EMAILS = 50


def _valid_cron(value: str) -> str:
    try:
        return cron.validate(value)
    except cron.InvalidCronExpression as exc:
        raise ValueError(str(exc)) from None


def _known_timezone(value: str) -> str:
    try:
        cron.zone(value)
    except cron.UnknownTimezone as exc:
        raise ValueError(str(exc)) from None
    return value


def _http_url(value: str) -> str:
    try:
        target = parse_target_url(value)
    except TargetRefused as exc:
        raise ValueError(exc.reason) from None
    if target.url.userinfo:
        # Every viewer reads a job's URL: a credential belongs in a write-only header.
        raise ValueError(
            "a target URL may not carry credentials (user:password@); send them in a secret "
            'header instead, e.g. {"name": "Authorization", "value": "Basic ...", '
            '"secret": true}'
        )
    return value


def _github_owner(value: str) -> str:
    # GitHub user and organisation names: letters, digits and single inner hyphens, ≤ 39.
    if (
        len(value) > 39
        or value.startswith("-")
        or value.endswith("-")
        or "--" in value
        or not value.replace("-", "").isalnum()
        or not value.isascii()
    ):
        raise ValueError("a GitHub owner is 1-39 letters, digits or single inner hyphens")
    return value


def _github_repo(value: str) -> str:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if len(value) > 100 or value in {".", ".."} or not set(value) <= allowed:
        raise ValueError("a repository name is 1-100 letters, digits, '.', '_' or '-'")
    return value


def _workflow_file(value: str) -> str:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if not value.lower().endswith((".yml", ".yaml")):
        raise ValueError("the workflow is a file name ending in .yml or .yaml")
    if not set(value) <= allowed:
        raise ValueError("the workflow file name may only hold letters, digits, '.', '_' or '-'")
    return value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _strip(*, min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Text = AfterValidator(storable_text)
JobName = Annotated[str, _strip(min_length=1, max_length=255), Text]
CronExpression = Annotated[
    str, _strip(min_length=1, max_length=120), Text, AfterValidator(_valid_cron)
]
TimezoneName = Annotated[
    str, _strip(min_length=1, max_length=64), Text, AfterValidator(_known_timezone)
]
TargetUrl = Annotated[
    str, _strip(min_length=1, max_length=TARGET_URL_MAX_LENGTH), Text, AfterValidator(_http_url)
]
GithubOwner = Annotated[str, _strip(min_length=1, max_length=255), AfterValidator(_github_owner)]
GithubRepo = Annotated[str, _strip(min_length=1, max_length=255), AfterValidator(_github_repo)]
WorkflowName = Annotated[str, _strip(min_length=1, max_length=255), AfterValidator(_workflow_file)]
Reference = Annotated[str, _strip(min_length=1, max_length=255), Text]
QueryText = Annotated[str, Text]
Method = Annotated[HttpMethod, BeforeValidator(_upper)]
TimeoutSeconds = Annotated[int, Strict(), Field(ge=1, le=300)]
MaxRetries = Annotated[int, Strict(), Field(ge=0, le=10)]
MAX_BACKOFF_SECONDS = 3600
MAX_WINDOW_SECONDS = 7 * 24 * 3600
BackoffSeconds = Annotated[float, Strict(), Field(ge=0, le=MAX_BACKOFF_SECONDS)]
MaxDoublings = Annotated[int, Strict(), Field(ge=0, le=16)]
RetryDurationSeconds = Annotated[int, Strict(), Field(ge=0, le=MAX_WINDOW_SECONDS)]
GraceSeconds = Annotated[int, Strict(), Field(ge=1, le=MAX_WINDOW_SECONDS)]
EmailList = Annotated[list[EmailStr], Field(max_length=MAX_NOTIFICATION_EMAILS)]

HEADERS_DESCRIPTION = (
    "Request headers of every webhook call (at most 20; not for GitHub jobs). A `secret` "
    "header is write-only: stored encrypted, its `value` reads null in every response. On an "
    "update the list replaces the stored one: a secret header sent without `value` keeps its "
    "stored value, `value: null` (or leaving the header out) removes it. Refused names: Host, "
    "Content-Length, Transfer-Encoding, Connection and the other hop-by-hop headers, "
    "Accept-Encoding, Idempotency-Key, X-Cron-*, webhook-*."
)

TARGET_FIELDS = ("target_url", "github_owner", "github_repo", "github_workflow_name")
# Fields whose null means "the global setting": an update may send null to go back to it.
DEFAULTED_FIELDS = ("misfire_grace_seconds", "min_backoff_seconds", "max_backoff_seconds")

# How the policies read in the OpenAPI (job create, update and read share them).
POLICY_DESCRIPTIONS = {
    "max_retries": "Retries after a failed attempt (5xx, 408, 425, 429, network errors), 0-10.",
    "min_backoff_seconds": (
        "Ceiling of the first retry's wait, 0-3600; null: RETRY_BACKOFF_BASE_SECONDS. Attempt "
        "n waits a random time (full jitter) up to min(max_backoff, min_backoff × "
        "2^min(n-1, max_doublings))."
    ),
    "max_backoff_seconds": (
        "Longest wait between attempts, 0-3600, at least min_backoff_seconds; a target's "
        "Retry-After is honoured up to it. null: RETRY_BACKOFF_MAX_SECONDS."
    ),
    "max_doublings": "How many times the backoff ceiling doubles, 0-16.",
    "max_retry_duration_seconds": (
        "No retry starts later than this after the slot, 0-604800; 0: no limit."
    ),
    "concurrency_policy": (
        "`allow`: slots fire whatever runs. `forbid`: a slot due while the job's previous run "
        "(any attempt, scheduled or manual, or one waiting for its retry) is still going is not "
        "called: it is recorded `skipped` with the reason. Manual runs are never skipped."
    ),
    "catchup": (
        "Slots that came due together (no scheduler fired them in time): `latest` fires the "
        "newest within the grace window and records the others as one `missed` row; `all` "
        "fires each within the window, oldest first, at most 100 (one `missed` row counts the "
        "rest); `none` fires nothing and records them `missed`. Slots later than the grace are "
        "always one `missed` row."
    ),
    "misfire_grace_seconds": (
        "How late a slot may still fire, 1-604800 s; null: MISFIRE_GRACE_SECONDS."
    ),
}


class JobCreate(RequestModel):
    """A new job. Exactly one target: `target_url`, or `github_repo` + `github_workflow_name`
    (+ `github_owner`, defaulting to `GITHUB_DEFAULT_OWNER`)."""

    model_config = example(
        {
            "name": "Nightly sales export",
            "cron_expression": "0 2 * * *",
            "timezone": "Asia/Tokyo",
            "target_url": "https://hooks.example.com/sales-export",
            "http_method": "POST",
            "metadata": {"report": "sales", "format": "csv"},
            "category": "general",
            "pic_team": "data-platform",
            "end_date": "2030-12-31",
            "enable_email_notifications": True,
            "notification_emails": ["data-oncall@example.com"],
            "timeout_seconds": 30,
            "max_retries": 2,
        }
    )

    name: JobName = Field(description="Unique, 1-255 characters.")
    cron_expression: CronExpression = Field(
        description="5 fields: minute hour day-of-month month day-of-week.", examples=["0 2 * * *"]
    )
    timezone: TimezoneName | None = Field(
        default=None, description="IANA name; defaults to SCHEDULER_TIMEZONE (Asia/Tokyo)."
    )
    target_url: TargetUrl | None = Field(default=None, description="http(s) webhook, ≤ 500.")
    http_method: Method = HttpMethod.POST
    github_owner: GithubOwner | None = None
    github_repo: GithubRepo | None = None
    github_workflow_name: WorkflowName | None = Field(default=None, examples=["backup.yml"])
    metadata: Metadata = Field(
        default_factory=dict,
        description="JSON object: the webhook body, or the workflow inputs "
        f"(`branchDetails` is the git ref, default `main`). At most {METADATA_MAX_BYTES:,} "
        "bytes as compact JSON; numbers must be finite (no NaN or Infinity).",
    )
    headers: HeaderList = Field(
        default_factory=list,
        description=HEADERS_DESCRIPTION,
    )
    category: Reference | None = Field(
        default=None, description="Slug or name of an active category; default `general`."
    )
    pic_team: Reference = Field(description="Slug or name of an active PIC team.")
    end_date: date = Field(description="Last day the job runs; today or later in its time zone.")
    enable_email_notifications: Flag = False
    notification_emails: EmailList = Field(default_factory=list)
    notify_on_success: Flag = False
    timeout_seconds: TimeoutSeconds = 30
    max_retries: MaxRetries = 0
    min_backoff_seconds: BackoffSeconds | None = None
    max_backoff_seconds: BackoffSeconds | None = None
    max_doublings: MaxDoublings = 5
    max_retry_duration_seconds: RetryDurationSeconds = 0
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    catchup: CatchupPolicy = CatchupPolicy.LATEST
    misfire_grace_seconds: GraceSeconds | None = None
    is_active: Flag = True


class JobUpdate(RequestModel):
    """A partial update: only the fields sent change. The target must still be exactly one
    kind afterwards (send `null` to clear the fields of the other kind)."""

    model_config = example({"cron_expression": "30 3 * * 1-5", "max_retries": 3})

    name: JobName | None = None
    cron_expression: CronExpression | None = None
    timezone: TimezoneName | None = None
    target_url: TargetUrl | None = None
    http_method: Method | None = None
    github_owner: GithubOwner | None = None
    github_repo: GithubRepo | None = None
    github_workflow_name: WorkflowName | None = None
    metadata: Metadata | None = None
    headers: HeaderList | None = Field(default=None, description=HEADERS_DESCRIPTION)
    category: Reference | None = None
    pic_team: Reference | None = None
    end_date: date | None = None
    enable_email_notifications: Flag | None = None
    notification_emails: EmailList | None = None
    notify_on_success: Flag | None = None
    timeout_seconds: TimeoutSeconds | None = None
    max_retries: MaxRetries | None = None
    min_backoff_seconds: BackoffSeconds | None = None
    max_backoff_seconds: BackoffSeconds | None = None
    max_doublings: MaxDoublings | None = None
    max_retry_duration_seconds: RetryDurationSeconds | None = None
    concurrency_policy: ConcurrencyPolicy | None = None
    catchup: CatchupPolicy | None = None
    misfire_grace_seconds: GraceSeconds | None = None
    is_active: Flag | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        # Only the target fields may be sent as null (that clears the other kind of target),
        # and the policy fields whose null means the global setting.
        if value is None and info.field_name not in (*TARGET_FIELDS, *DEFAULTED_FIELDS):
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


class LastExecution(ORMModel):
    """The job's latest execution: its newest slot, and within that slot its last attempt (the
    first row `GET /jobs/{id}/executions` lists)."""

    id: uuid.UUID
    status: ExecutionStatus
    trigger_type: TriggerType
    attempt: int
    scheduled_for: datetime = Field(description="The slot (for a manual run: when triggered).")
    started_at: datetime | None = Field(description="Null for a `missed` slot.")
    completed_at: datetime | None = Field(description="Null while `running`.")


class JobRead(ORMModel):
    """A job as the API shows it, read from the `Job` model's attributes (and `last_execution`
    from a `JobView`)."""

    # `last_execution` defaults to null (a job just made has none) but is always sent.
    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )

    id: uuid.UUID
    name: str
    cron_expression: str
    timezone: str
    target_url: str | None
    http_method: HttpMethod
    github_owner: str | None
    github_repo: str | None
    github_workflow_name: str | None
    metadata: dict[str, Any] = Field(validation_alias="job_metadata")
    headers: list[HeaderRead] = Field(
        description="Request headers; a secret header's value is null for everyone."
    )
    signing_secret_rotated_at: datetime | None = Field(
        description="When the signing secret was last rotated; null if never."
    )
    category: str
    pic_team: str
    end_date: date
    enable_email_notifications: bool
    notification_emails: list[str]
    notify_on_success: bool
    timeout_seconds: int
    max_retries: int
    min_backoff_seconds: float | None
    max_backoff_seconds: float | None
    max_doublings: int
    max_retry_duration_seconds: int
    concurrency_policy: ConcurrencyPolicy
    catchup: CatchupPolicy
    misfire_grace_seconds: int | None
    created_by: uuid.UUID | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    last_execution_at: datetime | None = Field(
        description="When the service last started a run of the job (scheduled or manual)."
    )
    last_execution: LastExecution | None = Field(
        default=None,
        description="The latest execution and its status; null before the first one.",
    )
    next_execution_at: datetime | None = Field(
        description="The next run in the job's time-zone offset; null when paused or past end_date."
    )

    @field_validator("headers", mode="before")
    @classmethod
    def _hide_secret_values(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [
            {**header, "value": None} if header.get("secret") else header
            for header in value
            if isinstance(header, dict)
        ]


def _describe_policies(*models: type[BaseModel]) -> None:
    for model in models:
        for name, description in POLICY_DESCRIPTIONS.items():
            model.model_fields[name].description = description
        model.model_rebuild(force=True)


_describe_policies(JobCreate, JobUpdate, JobRead)


class JobResponse(BaseModel):
    job: JobRead


class JobMessageResponse(BaseModel):
    message: str
    job: JobRead


SIGNING_SECRET_DESCRIPTION = (
    "The job's Standard Webhooks signing secret (`whsec_` + base64 of 32 bytes). Shown this "
    "once: store it with the receiver; it is never returned by GET. A lost one is replaced "
    "with POST /jobs/{id}/signing-secret."
)


class JobCreatedResponse(JobMessageResponse):
    signing_secret: str = Field(description=SIGNING_SECRET_DESCRIPTION)


class SigningSecretResponse(BaseModel):
    message: str
    signing_secret: str = Field(description=SIGNING_SECRET_DESCRIPTION)
    previous_secret_valid_until: datetime | None = Field(
        description="Until then calls are signed with the previous secret as well (null: "
        "no previous secret)."
    )


class DeletedJob(BaseModel):
    id: uuid.UUID
    name: str


class JobDeletedResponse(BaseModel):
    message: str
    deleted_job: DeletedJob


JobSort = Literal[
    "name",
    "-name",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "next_execution_at",
    "-next_execution_at",
    "last_execution_at",
    "-last_execution_at",
    "end_date",
    "-end_date",
]


class JobListQuery(BaseModel):
    page: Page = 1
    per_page: int = Field(default=20, ge=1, le=100)
    search: QueryText | None = Field(
        default=None, max_length=255, description="Part of the name, case-insensitive."
    )
    category: QueryText | None = Field(default=None, max_length=255, description="Category slug.")
    pic_team: QueryText | None = Field(default=None, max_length=255, description="PIC team slug.")
    is_active: bool | None = None
    created_by: uuid.UUID | None = Field(default=None, description="Owner's user id.")
    sort: JobSort = Field(default="-created_at", description="A field; `-` sorts descending.")


class JobListResponse(PageResponse[JobRead]):
    items: list[JobRead] = Field(serialization_alias="jobs")

    @computed_field(description="Jobs on this page.")  # type: ignore[prop-decorator]
    @property
    def count(self) -> int:
        return len(self.items)


class CronValidateRequest(RequestModel):
    model_config = example({"cron_expression": "0 2 * * *", "timezone": "Asia/Tokyo"})

    cron_expression: str = Field(max_length=1000, examples=["0 2 * * *"])
    timezone: str | None = Field(default=None, max_length=1000)


class CronValidation(BaseModel):
    valid: bool
    cron_expression: str | None = None
    description: str | None = None
    error: str | None = None


class CronPreviewRequest(RequestModel):
    model_config = example(
        {"cron_expression": "0 9 * * 1-5", "count": 5, "timezone": "Europe/Berlin"}
    )

    cron_expression: str = Field(max_length=1000, examples=["0 9 * * 1-5"])
    count: int = Field(default=5, ge=1, le=50, strict=True)
    timezone: TimezoneName | None = Field(
        default=None, description="IANA name; defaults to SCHEDULER_TIMEZONE."
    )


class CronPreview(BaseModel):
    cron_expression: str
    timezone: str
    count: int
    next_runs: list[datetime] = Field(description="In the requested time zone's offset.")

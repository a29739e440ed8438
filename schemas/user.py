"""Users and their preferences. `<user>` never carries the password hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from core.enums import UserRole
from schemas.common import Flag, ORMModel, RequestModel, example
from schemas.job import TimezoneName
from schemas.text import secret_length

Username = Annotated[
    str, StringConstraints(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_]+$")
]
# Stored lower-cased: uniqueness and login ignore case.
Email = Annotated[EmailStr, Field(max_length=120), AfterValidator(str.lower)]
# The upper bound keeps a single request from buying minutes of argon2 time.
Password = Annotated[SecretStr, *secret_length(min_length=8, max_length=256)]


class UserOut(ORMModel):
    id: uuid.UUID
    username: str
    email: str
    role: UserRole
    is_active: bool
    timezone: str = Field(
        description="IANA zone of the user's own day: daily digests and weekly reports follow it."
    )
    created_at: datetime
    updated_at: datetime


class UserCreate(RequestModel):
    model_config = example(
        {
            "username": "jane_doe",
            "email": "jane.doe@example.com",
            "password": "correct-horse-battery",
            "role": "user",
        }
    )

    username: Username
    email: Email
    password: Password
    role: UserRole = UserRole.VIEWER
    timezone: TimezoneName | None = Field(
        default=None, description="IANA name; defaults to SCHEDULER_TIMEZONE (Asia/Tokyo)."
    )


class UserUpdate(RequestModel):
    """The fields to change, at least one; `role` and `is_active` are for admins only.
    `timezone` (an IANA name, e.g. `Europe/Berlin`) is the zone of the user's daily digest and
    weekly report; the user or an admin may change it."""

    model_config = example({"email": "jane.doe@example.org"}, minProperties=1)

    # Left out means unchanged; null is not a value any of them can take.
    email: Email | SkipJsonSchema[None] = None
    password: Password | SkipJsonSchema[None] = None
    role: UserRole | SkipJsonSchema[None] = None
    is_active: Flag | SkipJsonSchema[None] = None
    timezone: TimezoneName | SkipJsonSchema[None] = None

    @field_validator("email", "password", "role", "is_active", "timezone", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave the field out to keep it unchanged; null is not allowed")
        return value


class UserResponse(BaseModel):
    user: UserOut


class UserListResponse(BaseModel):
    count: int
    users: list[UserOut]


class UserRegisteredResponse(BaseModel):
    message: str
    user: UserOut


class UserUpdatedResponse(BaseModel):
    message: str
    updated_fields: list[str]
    user: UserOut


class DeletedUser(BaseModel):
    id: uuid.UUID
    username: str


class UserDeletedResponse(BaseModel):
    message: str
    deleted_user: DeletedUser


_DAILY_DIGEST = (
    "One email a day at DIGEST_HOUR (default 08:00) in the user's `timezone` about the previous "
    "local day of the jobs they own (admins: every job with DIGEST_ADMIN_SCOPE=all): runs, "
    "successes, failures, missed slots, success rate, failing jobs with their last error, jobs "
    "paused by the service, the next day's first runs. No email for a day with nothing to "
    "report; none when switched off before it is sent."
)
_WEEKLY_REPORT = (
    "One email on Mondays at DIGEST_HOUR about the previous local week (Monday to Sunday), with "
    "per-job success rate and average duration against the week before."
)
_BROWSER_NOTIFICATIONS = (
    "The dashboard, while open, also shows new notifications with the browser's Notification "
    "API (it asks the browser's permission when the switch is turned on)."
)


class NotificationPreferences(ORMModel):
    email_on_job_success: bool
    email_on_job_failure: bool
    email_on_job_disabled: bool
    browser_notifications: bool = Field(description=_BROWSER_NOTIFICATIONS)
    daily_digest: bool = Field(description=_DAILY_DIGEST)
    weekly_report: bool = Field(description=_WEEKLY_REPORT)


class NotificationPreferencesUpdate(RequestModel):
    """Partial update: only the fields sent (and not `null`) change."""

    model_config = example({"email_on_job_failure": True, "email_on_job_success": False})

    email_on_job_success: Flag | None = None
    email_on_job_failure: Flag | None = None
    email_on_job_disabled: Flag | None = None
    browser_notifications: Flag | None = Field(default=None, description=_BROWSER_NOTIFICATIONS)
    daily_digest: Flag | None = Field(default=None, description=_DAILY_DIGEST)
    weekly_report: Flag | None = Field(default=None, description=_WEEKLY_REPORT)


class NotificationPreferencesResponse(BaseModel):
    message: str
    preferences: NotificationPreferences


class JobsTableColumns(BaseModel):
    """Which columns of the jobs table are shown. Every column is shown unless the user hid it;
    unknown keys are dropped."""

    model_config = ConfigDict(extra="ignore")

    name: bool = True
    cron_expression: bool = True
    timezone: bool = True
    target: bool = True
    category: bool = True
    pic_team: bool = True
    end_date: bool = True
    is_active: bool = True
    last_execution_status: bool = True
    last_execution_at: bool = True
    next_execution_at: bool = True
    created_by: bool = True


class UiPreferences(BaseModel):
    jobs_table_columns: JobsTableColumns


class UiPreferencesUpdate(RequestModel):
    """The whole column map: keys left out go back to their default (shown)."""

    model_config = example({"jobs_table_columns": {"category": True, "pic_team": False}})

    jobs_table_columns: dict[str, Flag]


class UiPreferencesResponse(BaseModel):
    preferences: UiPreferences

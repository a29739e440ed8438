"""Closed vocabularies stored as strings (with CHECK constraints in the database)."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    ADMIN = "admin"
    USER = "user"
    VIEWER = "viewer"


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class ExecutionStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    MISSED = "missed"
    # Not called: the job forbids overlap and its previous run was still running.
    SKIPPED = "skipped"
    # Stopped by a person (POST /executions/{id}/cancel): no further attempt, no alert.
    CANCELLED = "cancelled"


class ConcurrencyPolicy(StrEnum):
    """What a slot does when the job's previous run is still running."""

    ALLOW = "allow"
    FORBID = "forbid"


class CatchupPolicy(StrEnum):
    """What a job does with slots that came due while no scheduler fired them."""

    LATEST = "latest"
    ALL = "all"
    NONE = "none"


class TriggerType(StrEnum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"


class ExecutionType(StrEnum):
    WEBHOOK = "webhook"
    GITHUB_ACTIONS = "github_actions"


class NotificationType(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class AlertKind(StrEnum):
    """Why a notification was sent: the key, with the execution, that keeps alerts unique."""

    FAILURE = "failure"
    SUCCESS = "success"
    RECOVERY = "recovery"
    AUTO_PAUSE = "auto_pause"
    END_DATE = "end_date"
    # Digests are keyed by (user, kind, period) instead of an execution.
    DAILY_DIGEST = "daily_digest"
    WEEKLY_REPORT = "weekly_report"


DIGEST_KINDS = frozenset({AlertKind.DAILY_DIGEST, AlertKind.WEEKLY_REPORT})


class PauseReason(StrEnum):
    """Why the service (not a person) paused a job."""

    END_DATE = "end_date"
    AUTO_PAUSE = "auto_pause"


class DeliveryChannel(StrEnum):
    EMAIL = "email"
    SLACK = "slack"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ApiKeyScope(StrEnum):
    """What an API key may do: `read` only safe methods (GET, HEAD, OPTIONS), `write` anything
    its user may, except managing keys, passwords and sessions."""

    READ = "read"
    WRITE = "write"


class AuditAction(StrEnum):
    """What an audit entry records. Stored as plain text (no CHECK constraint): a new action
    needs no migration."""

    JOB_CREATED = "job.created"
    JOB_UPDATED = "job.updated"
    JOB_PAUSED = "job.paused"
    JOB_RESUMED = "job.resumed"
    JOB_DELETED = "job.deleted"
    JOB_RUN = "job.run"
    JOB_RUN_CANCELLED = "job.run_cancelled"
    JOB_SIGNING_SECRET_ROTATED = "job.signing_secret_rotated"
    USER_REGISTERED = "user.registered"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    CATEGORY_CREATED = "job_category.created"
    CATEGORY_UPDATED = "job_category.updated"
    CATEGORY_DISABLED = "job_category.disabled"
    PIC_TEAM_CREATED = "pic_team.created"
    PIC_TEAM_UPDATED = "pic_team.updated"
    PIC_TEAM_DISABLED = "pic_team.disabled"
    SLACK_SETTINGS_UPDATED = "slack_settings.updated"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    LOGIN_SUCCEEDED = "auth.login"
    LOGIN_THROTTLED = "auth.login_throttled"


class AuditResource(StrEnum):
    JOB = "job"
    USER = "user"
    JOB_CATEGORY = "job_category"
    PIC_TEAM = "pic_team"
    SLACK_SETTINGS = "slack_settings"
    API_KEY = "api_key"

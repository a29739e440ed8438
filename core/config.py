"""Service settings: one pydantic-settings class, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_NAME = "Cron Job Service"
VERSION = version("cronjob-service")
DEFAULT_JWT_SECRET = "change-me-in-production"
# A valid Fernet key everyone knows: fine for a laptop, refused with ENVIRONMENT=production.
DEFAULT_SECRETS_KEY = "Y3JvbmpvYi1zZXJ2aWNlIGRldmVsb3BtZW50IGtleSE="
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cronjobs.db"
DEFAULT_FRONTEND_DIST_DIR = Path(__file__).resolve().parents[1] / "frontend" / "dist"


def _blank_is_unset(value: object) -> object:
    return (value.strip() or None) if isinstance(value, str) else value


# Optional settings left blank are unset: the empty string already is (`env_ignore_empty`),
# a value of spaces only is too; other values lose surrounding spaces.
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_unset)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_blank_is_unset)]


def normalize_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the asyncpg driver and plain SQLite URLs at aiosqlite."""
    for prefix in (
        "postgres://",
        "postgresql://",
        "postgresql+psycopg2://",
        "postgresql+psycopg://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        # A bad setting's error names it without echoing its value (keys, passwords).
        hide_input_in_errors=True,
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout_seconds: float = Field(default=10, gt=0)
    db_connect_timeout_seconds: float = Field(default=5, gt=0)
    # The longest any statement (or, on SQLite, the wait for the write lock) may take; past it
    # the request answers 503 instead of hanging on a frozen database.
    db_command_timeout_seconds: float = Field(default=10, gt=0)
    health_timeout_seconds: float = Field(default=3, gt=0)

    jwt_secret_key: str = DEFAULT_JWT_SECRET
    # Fernet keys for the secrets stored in the database (secret job headers, signing secrets),
    # comma-separated: the first encrypts, every one decrypts (rotation: put a new key first).
    secrets_key: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=lambda: [SecretStr(DEFAULT_SECRETS_KEY)], min_length=1
    )
    # After a job's signing secret is rotated, calls are signed with the previous one as well
    # for this long, so receivers can switch without dropping a call.
    signing_rotation_overlap_hours: float = Field(default=24, ge=0)
    access_token_expire_minutes: int = Field(default=30, ge=1)
    refresh_token_expire_days: int = Field(default=7, ge=1)
    # Failed logins allowed per account, and per client address, within the sliding window.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    # The first admin, created at start-up when no admin exists; all three or none.
    admin_username: OptionalText = None
    admin_email: OptionalText = None
    admin_password: OptionalSecret = None

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # `GET /metrics` asks for `Authorization: Bearer <METRICS_TOKEN>` when this is set.
    metrics_token: OptionalSecret = None

    scheduler_enabled: bool = True
    scheduler_timezone: str = "Asia/Tokyo"
    scheduler_poll_seconds: float = Field(default=1, gt=0)
    scheduler_max_concurrency: int = Field(default=100, ge=1)
    scheduler_batch_size: int = Field(default=100, ge=1)
    misfire_grace_seconds: int = Field(default=60, ge=1)
    execution_lease_seconds: int = Field(default=30, ge=3)
    # Execution listings count their matches exactly up to this many; past it (PostgreSQL),
    # `total` is the planner's estimate and `total_is_estimate` is true.
    execution_exact_count_limit: int = Field(default=10_000, ge=0)
    retry_backoff_base_seconds: float = Field(default=1, ge=0)
    retry_backoff_max_seconds: float = Field(default=60, ge=0)
    github_api_url: str = "https://api.github.com"
    github_token: SecretStr | None = None

    # Jobs: GitHub owner used when a job (or CSV row) names only the repository, the largest
    # CSV upload accepted, and whether targets on private/loopback/metadata addresses are allowed.
    github_default_owner: OptionalText = None
    max_upload_bytes: int = Field(default=1_048_576, ge=1)
    # The largest request body other than an upload (413 above, before it is parsed).
    max_request_bytes: int = Field(default=1_048_576, ge=1)
    allow_private_targets: bool = False

    # Notifications. Email goes through this SMTP server (no SMTP_HOST: email is off); port 465
    # speaks TLS from the start, other ports upgrade with STARTTLS when SMTP_STARTTLS is true.
    smtp_host: OptionalText = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: OptionalText = None
    smtp_password: OptionalSecret = None
    smtp_starttls: bool = True
    smtp_from: str = "cronjobs@localhost"
    # Email and Slack deliveries: attempts before giving up, the first retry delay (doubled on
    # each attempt), the deadline of one send, sends in flight per channel, and how often the
    # worker looks for due retries (new alerts wake it at once).
    notification_max_attempts: int = Field(default=5, ge=1, le=20)
    notification_retry_base_seconds: float = Field(default=30, ge=0)
    notification_timeout_seconds: float = Field(default=10, gt=0)
    notification_concurrency: int = Field(default=10, ge=1)
    notification_poll_seconds: float = Field(default=5, gt=0)
    # Daily digests and weekly reports go out at this hour of each user's local day (on Monday
    # for the weekly report); admins' cover their own jobs, or every job with "all".
    digest_hour: int = Field(default=8, ge=0, le=23)
    digest_admin_scope: Literal["own", "all"] = "own"
    # Pause a job after this many failed runs in a row (0: never).
    auto_pause_after_failures: int = Field(default=0, ge=0)
    # Retention, in days: older rows are purged in small batches by processes running the
    # scheduler (scheduler/retention.py). At least 1: nothing is ever purged before a day has
    # passed, and there is no "keep forever" (0 is refused rather than read as "off").
    # Audit entries, by when they occurred.
    audit_retention_days: int = Field(default=365, ge=1)
    # Finished executions, by their slot (never a running one or one waiting for its retry, and
    # never the newest slot of a job: its last run stays on the jobs page).
    execution_retention_days: int = Field(default=90, ge=1)
    # In-app notifications, read or not, by when they were created.
    notification_retention_days: int = Field(default=90, ge=1)
    # Outbox rows (emails, Slack messages, digests) sent or given up this long ago; pending
    # ones are never purged.
    outbox_retention_days: int = Field(default=7, ge=1)

    # The built dashboard (`frontend/dist`), served at `/`; looked up on each request, so a build
    # made while the service runs is picked up.
    frontend_dist_dir: Path = DEFAULT_FRONTEND_DIST_DIR

    @field_validator("database_url")
    @classmethod
    def _normalize_database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("secrets_key", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("secrets_key")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for position, key in enumerate(value, start=1):
            try:
                Fernet(key.get_secret_value())
            except (ValueError, TypeError):
                # The key itself is never echoed: only its position in the list.
                raise ValueError(
                    f"key {position} of SECRETS_KEY is not a Fernet key (32 url-safe "
                    'base64-encoded bytes; make one with `python -c "from cryptography.fernet '
                    'import Fernet; print(Fernet.generate_key().decode())"`)'
                ) from None
        return value

    @field_validator("scheduler_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.jwt_secret_key == DEFAULT_JWT_SECRET:
            raise ValueError(
                "JWT_SECRET_KEY is still the development default; set a long random secret "
                "before running with ENVIRONMENT=production"
            )
        if self.environment == "production" and any(
            key.get_secret_value() == DEFAULT_SECRETS_KEY for key in self.secrets_key
        ):
            raise ValueError(
                "SECRETS_KEY holds the development default key; set your own Fernet key "
                "before running with ENVIRONMENT=production"
            )
        return self

    @model_validator(mode="after")
    def _admin_all_or_nothing(self) -> Settings:
        given = [self.admin_username, self.admin_email, self.admin_password]
        if any(value is not None for value in given) and None in given:
            raise ValueError(
                "ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD are set together or not at all"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

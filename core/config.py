"""Service settings: one pydantic-settings class, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import version
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_NAME = "Cron Job Service"
VERSION = version("cronjob-service")
DEFAULT_JWT_SECRET = "change-me-in-production"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cronjobs.db"


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
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout_seconds: float = Field(default=10, gt=0)
    db_connect_timeout_seconds: float = Field(default=5, gt=0)
    health_timeout_seconds: float = Field(default=3, gt=0)

    jwt_secret_key: str = DEFAULT_JWT_SECRET

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    scheduler_enabled: bool = True
    scheduler_timezone: str = "Asia/Tokyo"

    # Jobs: GitHub owner used when a job (or CSV row) names only the repository, the largest
    # CSV upload accepted, and whether targets on private/loopback/metadata addresses are allowed.
    github_default_owner: str | None = None
    max_upload_bytes: int = Field(default=1_048_576, ge=1)
    allow_private_targets: bool = False

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

    @field_validator("github_default_owner")
    @classmethod
    def _blank_owner_is_none(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

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
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Service-wide settings an admin changes at run time (Slack)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from core.urls import TargetRefused, parse_target_url
from schemas.common import Flag, ORMModel, RequestModel, example
from schemas.job import TARGET_URL_MAX_LENGTH
from schemas.text import storable_text


class SlackSettingsRead(ORMModel):
    id: uuid.UUID
    is_enabled: bool
    webhook_url: str | None
    channel: str | None
    created_at: datetime
    updated_at: datetime


class SlackSettingsEnvelope(BaseModel):
    slack_settings: SlackSettingsRead


class SlackSettingsUpdated(BaseModel):
    message: str
    slack_settings: SlackSettingsRead


class SlackSettingsUpdate(RequestModel):
    """The fields to change; left out means unchanged. Strings are trimmed, and an empty one
    (or null) clears `webhook_url` or `channel`."""

    model_config = example(
        {
            "is_enabled": True,
            "webhook_url": "https://hooks.slack.com/services/T0000/B0000/XXXXXXXX",
            "channel": "#alerts",
        }
    )

    is_enabled: Flag | SkipJsonSchema[None] = None
    webhook_url: str | None = Field(
        default=None,
        max_length=TARGET_URL_MAX_LENGTH,
        description="The incoming webhook, an http(s) URL; required to enable Slack.",
    )
    channel: str | None = Field(
        default=None,
        max_length=255,
        description="Channel to post to (e.g. `#alerts`); null: the webhook's own channel.",
    )

    @field_validator("is_enabled", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave the field out to keep it unchanged; null is not allowed")
        return value

    @field_validator("webhook_url", "channel")
    @classmethod
    def _trimmed_or_null(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return storable_text(value.strip()) or None

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_target_url(value)
            except TargetRefused as exc:
                raise ValueError(exc.reason) from None
        return value

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, UUIDPrimaryKey


class SlackSettings(UUIDPrimaryKey, Timestamps, Base):
    """The single, service-wide Slack integration (created disabled on first read)."""

    __tablename__ = "slack_settings"

    is_enabled: Mapped[bool] = mapped_column(default=False)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    channel: Mapped[str | None] = mapped_column(String(255))

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, Timestamps, UUIDPrimaryKey


class UserNotificationPreferences(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "user_notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), unique=True
    )
    email_on_job_success: Mapped[bool] = mapped_column(default=True)
    email_on_job_failure: Mapped[bool] = mapped_column(default=True)
    email_on_job_disabled: Mapped[bool] = mapped_column(default=False)
    browser_notifications: Mapped[bool] = mapped_column(default=False)
    daily_digest: Mapped[bool] = mapped_column(default=False)
    weekly_report: Mapped[bool] = mapped_column(default=False)


class UserUiPreferences(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "user_ui_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), unique=True
    )
    # Only the columns a user changed; the service fills in defaults for the rest.
    jobs_table_columns: Mapped[dict[str, bool]] = mapped_column(JSONType, default=dict)

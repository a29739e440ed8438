from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import NotificationType
from models.base import Base, Timestamps, UUIDPrimaryKey, str_enum


class Notification(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_created", "user_id", "created_at"),
        # Retention: the oldest first, whoever they belong to.
        Index("ix_notification_created", "created_at"),
        # A deleted execution's notifications (ON DELETE SET NULL): found by index, not a scan.
        Index(
            "ix_notification_related_execution",
            "related_execution_id",
            postgresql_where=text("related_execution_id IS NOT NULL"),
            sqlite_where=text("related_execution_id IS NOT NULL"),
        ),
        # An execution notifies a user of one thing once, however many schedulers recorded it.
        Index(
            "uq_notification_user_execution_type",
            "user_id",
            "related_execution_id",
            "type",
            unique=True,
            postgresql_where=text("related_execution_id IS NOT NULL"),
            sqlite_where=text("related_execution_id IS NOT NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    type: Mapped[NotificationType] = mapped_column(
        str_enum(NotificationType, "type"), default=NotificationType.INFO
    )
    related_job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("job.id", ondelete="SET NULL")
    )
    related_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("job_execution.id", ondelete="SET NULL")
    )
    is_read: Mapped[bool] = mapped_column(default=False)
    read_at: Mapped[datetime | None]

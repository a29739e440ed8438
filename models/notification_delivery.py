from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import AlertKind, DeliveryChannel, DeliveryStatus
from models.base import Base, Timestamps, UUIDPrimaryKey, str_enum


class NotificationDelivery(UUIDPrimaryKey, Timestamps, Base):
    """The outbox: one email or Slack message, written in the transaction that decided to send
    it and delivered afterwards by `services/notifications/sender.py`, with retries.

    `execution_id` and `job_id` are kept without foreign keys: a message already decided is
    still sent (and its log keeps the ids) when the job and its executions are deleted.
    """

    __tablename__ = "notification_delivery"
    __table_args__ = (
        # One message per execution, channel, recipient and reason, whoever writes it first.
        UniqueConstraint("execution_id", "channel", "recipient", "kind"),
        # One digest per user, kind and period, however many schedulers decide it.
        UniqueConstraint("user_id", "kind", "period"),
        # The delivery worker's claim query: pending messages by due time.
        Index(
            "ix_notification_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Retention: sent and failed messages by when they settled (`updated_at`).
        Index(
            "ix_notification_delivery_settled",
            "updated_at",
            postgresql_where=text("status <> 'pending'"),
            sqlite_where=text("status <> 'pending'"),
        ),
    )

    channel: Mapped[DeliveryChannel] = mapped_column(str_enum(DeliveryChannel, "channel"))
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind, "kind"))
    # An email address, or the Slack channel (or "webhook" for the webhook's own channel).
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    execution_id: Mapped[uuid.UUID | None]
    job_id: Mapped[uuid.UUID | None]
    # Digests only: whom it is about and the period it covers ("2026-06-01", "2026-W23").
    user_id: Mapped[uuid.UUID | None]
    period: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # When a pending message is next tried; while a worker sends it, the end of its claim.
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from core.enums import NotificationType
from schemas.common import ORMModel, Page
from schemas.date_range import DateRangeRead, RangeQuery
from schemas.pagination import PageResponse


class NotificationRead(ORMModel):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    message: str
    type: NotificationType
    related_job_id: uuid.UUID | None
    related_execution_id: uuid.UUID | None
    is_read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationListQuery(RangeQuery):
    """`from`/`to` filter on when the notification was created."""

    page: Page = 1
    per_page: int = Field(default=20, ge=1, le=100)
    unread_only: bool = False


class NotificationPage(PageResponse[NotificationRead]):
    items: list[NotificationRead] = Field(serialization_alias="notifications")
    range: DateRangeRead


class UnreadCount(BaseModel):
    unread_count: int
    range: DateRangeRead


class NotificationMarkedRead(BaseModel):
    message: str
    notification: NotificationRead


class AllMarkedRead(BaseModel):
    message: str
    updated_count: int


class ReadDeleted(BaseModel):
    deleted_count: int

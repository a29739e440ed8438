from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.sql import ColumnElement

from core.date_range import DateRange
from models.notification import Notification
from repositories.base import BaseRepository, Page


def owned_by(user_id: uuid.UUID, window: DateRange | None = None) -> list[ColumnElement[bool]]:
    """The notifications of `user_id`, created within `window` when one is given."""
    where = [Notification.user_id == user_id]
    if window is not None and window.start is not None:
        where.append(Notification.created_at >= window.start)
    if window is not None and window.end is not None:
        where.append(Notification.created_at < window.end)
    return where


class NotificationRepository(BaseRepository[Notification]):
    model = Notification

    async def list_page(
        self, where: Sequence[ColumnElement[bool]], *, page: int, per_page: int
    ) -> Page[Notification]:
        """Newest first; the id keeps pages stable among notifications of one instant."""
        return await self.paginate(
            *where,
            page=page,
            per_page=per_page,
            order_by=(Notification.created_at.desc(), Notification.id.desc()),
        )

    async def mark_read(self, where: Sequence[ColumnElement[bool]], now: datetime) -> int:
        """Mark the unread notifications matching `where` read; returns how many changed."""
        statement = (
            update(Notification)
            .where(*where, Notification.is_read.is_(False))
            .values(is_read=True, read_at=now, updated_at=now)
        )
        return await self._write_count(statement)

    async def purge_batch(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` of the oldest notifications created before `before`, read or
        not (ix_notification_created)."""
        return await self.purge_oldest(Notification.created_at, before, limit)

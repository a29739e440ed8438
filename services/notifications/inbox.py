"""A user's own in-app notifications: reading, marking read, deleting. Nobody, admins
included, reads or changes another user's notifications."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, days_ago
from core.date_range import DateRange, parse_date_range
from core.errors import NotFound
from models.notification import Notification
from models.user import User
from repositories.base import Page
from repositories.notification import NotificationRepository, owned_by
from schemas.date_range import RangeQuery
from schemas.notification import NotificationListQuery
from services import authz


class NotificationService:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.clock = clock
        self.notifications = NotificationRepository(session)

    async def list(
        self, user: User, query: NotificationListQuery
    ) -> tuple[Page[Notification], DateRange]:
        window = parse_date_range(query.from_, query.to)
        where = owned_by(user.id, window)
        if query.unread_only:
            where.append(Notification.is_read.is_(False))
        page = await self.notifications.list_page(where, page=query.page, per_page=query.per_page)
        return page, window

    async def unread_count(self, user: User, query: RangeQuery) -> tuple[int, DateRange]:
        window = parse_date_range(query.from_, query.to)
        count = await self.notifications.count(
            *owned_by(user.id, window), Notification.is_read.is_(False)
        )
        return count, window

    async def mark_read(self, user: User, notification_id: uuid.UUID) -> Notification:
        notification = await self._get_own(user, notification_id)
        if not notification.is_read:
            await self.notifications.update(
                notification, {"is_read": True, "read_at": self.clock.now()}
            )
        return notification

    async def mark_all_read(self, user: User) -> int:
        return await self.notifications.mark_read(owned_by(user.id), self.clock.now())

    async def delete(self, user: User, notification_id: uuid.UUID) -> None:
        await self.notifications.delete(await self._get_own(user, notification_id))

    async def delete_read(self, user: User, query: RangeQuery) -> int:
        window = parse_date_range(query.from_, query.to)
        return await self.notifications.delete_where(
            *owned_by(user.id, window), Notification.is_read.is_(True)
        )

    async def purge_batch(self, retention_days: int, batch_size: int) -> int:
        """Delete up to `batch_size` notifications, read or unread, created more than
        `retention_days` ago (retention; no user's request); how many went."""
        return await self.notifications.purge_batch(
            days_ago(self.clock, retention_days), batch_size
        )

    async def _get_own(self, user: User, notification_id: uuid.UUID) -> Notification:
        notification = await self.notifications.get(notification_id)
        if notification is None:
            raise NotFound("Notification not found.", title="Notification not found")
        authz.require_own_notification(user, notification)
        return notification

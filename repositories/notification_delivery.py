from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from core.enums import AlertKind, DeliveryChannel, DeliveryStatus
from models.notification_delivery import NotificationDelivery
from repositories.base import BaseRepository


class NotificationDeliveryRepository(BaseRepository[NotificationDelivery]):
    model = NotificationDelivery

    async def lock_due(
        self, channel: DeliveryChannel, now: datetime, limit: int
    ) -> Sequence[NotificationDelivery]:
        """Pending deliveries of `channel` due by `now`, oldest first, locked for this
        transaction; rows another worker holds are skipped (SQLite ignores the clause)."""
        statement = (
            select(NotificationDelivery)
            .where(
                NotificationDelivery.status == DeliveryStatus.PENDING,
                NotificationDelivery.channel == channel,
                NotificationDelivery.next_attempt_at <= now,
            )
            .order_by(NotificationDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def count_pending(self, channel: DeliveryChannel, cap: int) -> int:
        return await self.count_at_most(
            cap,
            NotificationDelivery.status == DeliveryStatus.PENDING,
            NotificationDelivery.channel == channel,
        )

    async def settle(self, delivery_id: uuid.UUID, attempt: int, values: dict[str, Any]) -> bool:
        """Write the result of attempt `attempt` unless the delivery has moved on since (its
        claim lapsed and another worker took it); True when written."""
        statement = (
            update(NotificationDelivery)
            .where(
                NotificationDelivery.id == delivery_id,
                NotificationDelivery.attempts == attempt,
                NotificationDelivery.status == DeliveryStatus.PENDING,
            )
            .values(values)
        )
        return await self._write_count(statement) == 1

    async def purge_batch(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` of the oldest deliveries sent or given up before `before`
        (their `updated_at`, ix_notification_delivery_settled); pending ones stay, whatever
        their age."""
        return await self.purge_oldest(
            NotificationDelivery.updated_at,
            before,
            limit,
            NotificationDelivery.status != DeliveryStatus.PENDING,
        )

    async def digests_decided(
        self, keys: Collection[tuple[uuid.UUID, AlertKind, str]]
    ) -> set[tuple[uuid.UUID, AlertKind, str]]:
        """Which of the (user, kind, period) digests have a row already, whatever its status."""
        if not keys:
            return set()
        statement = select(
            NotificationDelivery.user_id, NotificationDelivery.kind, NotificationDelivery.period
        ).where(
            NotificationDelivery.user_id.in_({user_id for user_id, _, _ in keys}),
            NotificationDelivery.period.in_({period for _, _, period in keys}),
        )
        found = {
            (user_id, AlertKind(kind), period)
            for user_id, kind, period in await self.session.execute(statement)
            if user_id is not None and period is not None
        }
        return found & set(keys)

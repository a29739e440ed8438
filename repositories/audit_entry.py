from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement

from core.date_range import DateRange
from models.audit_entry import AuditEntry
from repositories.base import BaseRepository, Page


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor_user_id: uuid.UUID | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: uuid.UUID | None = None
    window: DateRange = DateRange()


class AuditEntryRepository(BaseRepository[AuditEntry]):
    model = AuditEntry

    async def list_page(
        self, filters: AuditFilters, *, page: int, per_page: int
    ) -> Page[AuditEntry]:
        """Newest first (ties in the same instant: the id keeps pages stable)."""
        return await self.paginate(
            *_where(filters),
            page=page,
            per_page=per_page,
            order_by=(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()),
        )

    async def purge_batch(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` of the oldest entries that occurred before `before`."""
        return await self.purge_oldest(AuditEntry.occurred_at, before, limit)


def _where(filters: AuditFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.actor_user_id is not None:
        where.append(AuditEntry.actor_user_id == filters.actor_user_id)
    if filters.action is not None:
        where.append(AuditEntry.action == filters.action)
    if filters.resource_type is not None:
        where.append(AuditEntry.resource_type == filters.resource_type)
    if filters.resource_id is not None:
        where.append(AuditEntry.resource_id == filters.resource_id)
    if filters.window.start is not None:
        where.append(AuditEntry.occurred_at >= filters.window.start)
    if filters.window.end is not None:
        where.append(AuditEntry.occurred_at < filters.window.end)
    return where

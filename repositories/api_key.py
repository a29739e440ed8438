from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update

from models.api_key import ApiKey
from models.user import User
from repositories.base import BaseRepository


class ApiKeyRepository(BaseRepository[ApiKey]):
    model = ApiKey

    async def find_with_user(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """The key with this hash and its user: one round trip for every request made with a
        key."""
        statement = (
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == key_hash)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1])

    async def list_for(self, user_id: uuid.UUID | None) -> Sequence[ApiKey]:
        """One user's keys, or everyone's (`None`), newest first."""
        where = () if user_id is None else (ApiKey.user_id == user_id,)
        return await self.get_multi(*where, order_by=(ApiKey.created_at.desc(), ApiKey.id))

    async def touch(self, key_id: uuid.UUID, now: datetime, not_since: datetime) -> None:
        """Set `last_used_at` unless it was set after `not_since`: one guarded UPDATE, so
        concurrent requests with the same key write it at most once per interval."""
        await self._write_count(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= not_since),
            )
            .values(last_used_at=now)
        )

from __future__ import annotations

from datetime import datetime

from models.revoked_token import RevokedToken
from repositories.base import BaseRepository


class RevokedTokenRepository(BaseRepository[RevokedToken]):
    model = RevokedToken

    async def purge_expired(self, now: datetime) -> int:
        """Forget revocations of tokens that have expired anyway."""
        return await self.delete_where(RevokedToken.expires_at <= now)

from __future__ import annotations

import uuid
from datetime import datetime

from models.refresh_token import RefreshToken
from repositories.base import BaseRepository


class RefreshTokenRepository(BaseRepository[RefreshToken]):
    model = RefreshToken

    async def consume(self, jti: uuid.UUID) -> bool:
        """Remove the token `jti`; False when it was already gone. One statement, so of two
        concurrent uses of the same token only one can succeed."""
        return await self.delete_where(RefreshToken.jti == jti) == 1

    async def revoke_all(self, user_id: uuid.UUID) -> int:
        return await self.delete_where(RefreshToken.user_id == user_id)

    async def purge_expired(self, now: datetime) -> int:
        return await self.delete_where(RefreshToken.expires_at <= now)

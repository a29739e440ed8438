from __future__ import annotations

import uuid

from sqlalchemy import Select, bindparam, or_, select

from core.enums import UserRole
from models.revoked_token import RevokedToken
from models.user import User
from repositories.base import BaseRepository


class UserRepository(BaseRepository[User]):
    """Users are written from mappings: the service turns passwords into hashes first."""

    model = User

    async def get_by_login(self, login: str) -> User | None:
        """The user whose username is `login`, or whose email is `login` in any case."""
        return await self.get_by(or_(User.username == login, User.email == login.lower()))

    async def get_unless_revoked(self, user_id: uuid.UUID, token_jti: uuid.UUID) -> User | None:
        """The user `user_id`, unless the token `token_jti` was revoked: one round trip for the
        check every authenticated request makes."""
        statement = self.statement("get_unless_revoked", self._unless_revoked)
        result = await self.session.execute(statement, {"user_id": user_id, "jti": token_jti})
        return result.scalars().first()

    def _unless_revoked(self) -> Select[User]:
        revoked = select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti")).exists()
        return self.select().where(User.id == bindparam("user_id"), ~revoked)

    async def admin_exists(self) -> bool:
        return await self.exists(User.role == UserRole.ADMIN)

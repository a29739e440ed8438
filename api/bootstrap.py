"""The first admin: from ADMIN_* at start-up, or from `python -m api.cli create-admin`.

Each runs in a transaction of its own, committed here (outside any request).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.enums import UserRole
from models.user import User
from schemas.user import UserCreate
from services.user import UserService


async def create_admin_from_settings(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> User | None:
    """Create the ADMIN_* user when those are set and no admin exists yet; None otherwise.

    Values that break the user rules (username characters, email, password length) stop the
    start-up with pydantic's explanation.
    """
    if settings.admin_username is None or settings.admin_email is None:
        return None
    if settings.admin_password is None:
        return None
    data = UserCreate.model_validate(
        {
            "username": settings.admin_username,
            "email": settings.admin_email,
            "password": settings.admin_password.get_secret_value(),
        }
    )
    return await ensure_admin(sessionmaker, data)


async def create_admin(sessionmaker: async_sessionmaker[AsyncSession], data: UserCreate) -> User:
    """Create an admin whether or not others exist (the CLI)."""
    async with sessionmaker() as session, session.begin():
        return await UserService(session).register(data.model_copy(update={"role": UserRole.ADMIN}))


async def ensure_admin(
    sessionmaker: async_sessionmaker[AsyncSession], data: UserCreate
) -> User | None:
    """Create `data` as the first admin unless an admin exists (`make run`)."""
    async with sessionmaker() as session, session.begin():
        return await UserService(session).ensure_admin(data)

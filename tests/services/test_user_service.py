from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import UserRole
from core.errors import Conflict
from core.security import verify_password
from models.user import User
from schemas.user import UserCreate
from services.user import UserService
from tests.support.factories import create_user

FIRST_ADMIN = {"username": "root_admin", "email": "Root@Example.com", "password": "long-enough-pw"}


async def test_ensure_admin_creates_the_first_admin(session: AsyncSession) -> None:
    admin = await UserService(session).ensure_admin(UserCreate.model_validate(FIRST_ADMIN))

    assert admin is not None
    assert admin.role is UserRole.ADMIN
    assert admin.email == "root@example.com"
    assert await verify_password("long-enough-pw", admin.password_hash) == (True, None)


async def test_ensure_admin_does_nothing_once_an_admin_exists(session: AsyncSession) -> None:
    await create_user(session, role=UserRole.ADMIN)

    created = await UserService(session).ensure_admin(UserCreate.model_validate(FIRST_ADMIN))

    assert created is None
    assert await session.scalar(select(func.count()).where(User.username == "root_admin")) == 0


async def test_ensure_admin_refuses_a_name_held_by_a_non_admin(session: AsyncSession) -> None:
    await create_user(session, username="root_admin", role=UserRole.VIEWER)

    with pytest.raises(Conflict):
        await UserService(session).ensure_admin(UserCreate.model_validate(FIRST_ADMIN))

    # The refusal happened in a savepoint: the session is still usable.
    assert await session.scalar(select(func.count()).select_from(User)) == 1

"""Rows for tests: users and the headers that authenticate them."""

from __future__ import annotations

import uuid

from passlib.context import CryptContext
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.config import Settings
from core.enums import UserRole
from core.security import create_access_token
from models.user import User

DEFAULT_PASSWORD = "correct-horse-9"

# Real argon2id, with parameters small enough for hundreds of users per run. Logging in as such
# a user upgrades the hash to the production parameters, as it would for any outdated hash.
_cheap_argon2 = CryptContext(
    schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1, argon2__parallelism=1
)


async def create_user(
    session: AsyncSession,
    *,
    role: UserRole = UserRole.USER,
    username: str | None = None,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    is_active: bool = True,
) -> User:
    username = username or f"user_{uuid.uuid4().hex[:12]}"
    user = User(
        username=username,
        email=(email or f"{username}@example.com").lower(),
        password_hash=_cheap_argon2.hash(password),
        role=role,
        is_active=is_active,
    )
    session.add(user)
    await session.flush()
    return user


def auth_headers(settings: Settings, clock: Clock, user: User) -> dict[str, str]:
    token = create_access_token(user.id, settings, clock.now())
    return {"Authorization": f"Bearer {token.token}"}

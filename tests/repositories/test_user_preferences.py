from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.user import User
from models.user_preferences import UserNotificationPreferences
from repositories.user_preferences import NotificationPreferencesRepository
from tests.support.factories import create_user


async def test_get_or_create_creates_one_row_with_the_defaults(
    session: AsyncSession, member: User
) -> None:
    repository = NotificationPreferencesRepository(session)

    first = await repository.get_or_create(member.id)
    second = await repository.get_or_create(member.id)

    assert first is second
    assert (first.email_on_job_failure, first.daily_digest) == (True, False)
    rows = select(func.count()).where(UserNotificationPreferences.user_id == member.id)
    assert await session.scalar(rows) == 1


async def test_a_duplicate_create_leaves_the_transaction_usable(
    session: AsyncSession, member: User
) -> None:
    repository = NotificationPreferencesRepository(session)
    existing = await repository.get_or_create(member.id)

    duplicate = await repository.create_unless_duplicate({"user_id": member.id})

    assert duplicate is None
    assert await repository.get_for_user(member.id) is existing


@pytest.mark.postgres_only
async def test_concurrent_first_reads_end_with_one_row(engine: AsyncEngine) -> None:
    # Real commits on separate connections: the per-test rollback cannot be used here.
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as setup, setup.begin():
        user = await create_user(setup)
    try:

        async def first_read() -> UserNotificationPreferences:
            async with sessions() as session, session.begin():
                repository = NotificationPreferencesRepository(session)
                # Both transactions miss the row before either inserts it.
                await repository.get_for_user(user.id)
                await asyncio.sleep(0.05)
                return await repository.get_or_create(user.id)

        first, second = await asyncio.gather(first_read(), first_read())

        assert first.id == second.id
    finally:
        async with sessions() as cleanup, cleanup.begin():
            await cleanup.execute(delete(User).where(User.id == user.id))

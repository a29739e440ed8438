from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.slack_settings import SlackSettings
from repositories.slack_settings import SLACK_SETTINGS_ID, SlackSettingsRepository


async def test_get_or_create_keeps_one_disabled_row(session: AsyncSession) -> None:
    repository = SlackSettingsRepository(session)
    assert await repository.get_current() is None

    first = await repository.get_or_create()
    second = await repository.get_or_create()

    assert first is second
    assert (first.id, first.is_enabled, first.webhook_url) == (SLACK_SETTINGS_ID, False, None)
    assert await session.scalar(select(func.count()).select_from(SlackSettings)) == 1


@pytest.mark.postgres_only
async def test_concurrent_first_reads_end_with_one_row(engine: AsyncEngine) -> None:
    # Real commits on separate connections: the per-test rollback cannot be used here.
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:

        async def first_read() -> SlackSettings:
            async with sessions() as session, session.begin():
                repository = SlackSettingsRepository(session)
                # Both transactions miss the row before either inserts it.
                await repository.get_current()
                await asyncio.sleep(0.05)
                return await repository.get_or_create()

        first, second = await asyncio.gather(first_read(), first_read())

        assert first.id == second.id == SLACK_SETTINGS_ID
    finally:
        async with sessions() as cleanup, cleanup.begin():
            await cleanup.execute(delete(SlackSettings))

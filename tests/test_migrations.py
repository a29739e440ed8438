"""The migrations are the schema: they build it, tear it down, and match the models exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from models import Base, JobCategory
from tests.support import databases


@pytest.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    url = await databases.create_empty_database(server_url)
    yield url
    await databases.drop_database(server_url, url)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_matches_the_models_and_downgrade_removes_everything(
    empty_database_url: str,
) -> None:
    await databases.upgrade(empty_database_url)
    engine = create_async_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            categories = (await connection.execute(select(JobCategory.slug))).scalars().all()
            assert categories == ["general"]

        await databases.downgrade(empty_database_url)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
            assert set(tables) <= {"alembic_version"}

        await databases.upgrade(empty_database_url)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
            assert set(Base.metadata.tables) <= set(tables)
    finally:
        await engine.dispose()


def test_the_migrations_have_one_head() -> None:
    # Two branches numbering a migration after the same parent would leave two heads, and
    # `alembic upgrade head` refuses to run.
    scripts = ScriptDirectory.from_config(Config(str(Path(__file__).parents[1] / "alembic.ini")))
    assert len(scripts.get_heads()) == 1, scripts.get_heads()

"""Throwaway databases for a test run: created, migrated with Alembic, dropped at the end."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.config import normalize_database_url

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEST_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The database server the suite runs against (TEST_DATABASE_URL, else local PostgreSQL)."""
    return normalize_database_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_SERVER_URL)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


async def upgrade(database_url: str, revision: str = "head") -> None:
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), revision)


async def downgrade(database_url: str, revision: str = "base") -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), revision)


async def create_empty_database(base_url: str) -> str:
    if is_sqlite(base_url):
        directory = tempfile.mkdtemp(prefix="cronjobs-test-")
        return f"sqlite+aiosqlite:///{directory}/test.db"
    name = f"cronjobs_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(base_url: str, database_url: str) -> None:
    if is_sqlite(database_url):
        shutil.rmtree(Path(make_url(database_url).database or "").parent, ignore_errors=True)
        return
    name = make_url(database_url).database
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def create_migrated_database(base_url: str) -> str:
    url = await create_empty_database(base_url)
    await upgrade(url)
    return url

"""Shared fixtures: one migrated database per run, one rolled-back transaction per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.main import create_app
from core import db
from core.config import Settings
from core.enums import UserRole
from models.user import User
from tests.support import databases
from tests.support.clock import FrozenClock
from tests.support.factories import auth_headers, create_user
from tests.support.http_target import HttpTarget
from tests.support.smtp_server import SmtpServer


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if databases.is_sqlite(databases.server_url()):
        skip = pytest.mark.skip(reason="needs PostgreSQL")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "scheduler_enabled": False,
        "jwt_secret_key": "test-secret-key-that-is-long-enough-for-hs256",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def server_url() -> str:
    return databases.server_url()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    url = await databases.create_migrated_database(server_url)
    yield url
    await databases.drop_database(server_url, url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions bound to one connection whose outer transaction is rolled back after the test.

    Commits inside the code under test only release savepoints, so each test sees a clean
    database and the code still runs its real commit path.
    """
    async with engine.connect() as connection:
        # A reader until the test writes: held for the whole test, an IMMEDIATE transaction
        # would keep SQLite's write lock from every other connection, even for a health ping.
        await connection.execution_options(**{db.SQLITE_BEGIN: "DEFERRED"})
        transaction = await connection.begin()
        yield async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        await transaction.rollback()


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    app.state.sessionmaker = sessionmaker
    app.state.clock = clock
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def http_target() -> AsyncIterator[HttpTarget]:
    """A loopback HTTP server standing in for a webhook target (or GitHub, or Slack)."""
    target = HttpTarget()
    await target.start()
    yield target
    await target.stop()


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback that keeps the messages it accepts."""
    server = SmtpServer()
    await server.start()
    yield server
    await server.stop()


# --- users of each role, and headers carrying their access tokens -------------------------------


@pytest.fixture
async def admin(session: AsyncSession) -> User:
    return await create_user(session, role=UserRole.ADMIN)


@pytest.fixture
async def member(session: AsyncSession) -> User:
    return await create_user(session, role=UserRole.USER)


@pytest.fixture
async def viewer(session: AsyncSession) -> User:
    return await create_user(session, role=UserRole.VIEWER)


@pytest.fixture
def admin_headers(settings: Settings, clock: FrozenClock, admin: User) -> dict[str, str]:
    return auth_headers(settings, clock, admin)


@pytest.fixture
def member_headers(settings: Settings, clock: FrozenClock, member: User) -> dict[str, str]:
    return auth_headers(settings, clock, member)


@pytest.fixture
def viewer_headers(settings: Settings, clock: FrozenClock, viewer: User) -> dict[str, str]:
    return auth_headers(settings, clock, viewer)

"""The first admin from ADMIN_* at start-up, when no admin exists (README "Logging in")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from api.main import create_app
from core.enums import UserRole
from models.user import User
from tests.conftest import make_settings
from tests.support import databases


@pytest.fixture
async def fresh_database_url(server_url: str) -> AsyncIterator[str]:
    # Start-up commits for real: a database of its own, dropped afterwards.
    url = await databases.create_migrated_database(server_url)
    yield url
    await databases.drop_database(server_url, url)


async def stored_users(database_url: str) -> list[tuple[str, str, UserRole]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(User.username, User.email, User.role))
            return [(row.username, row.email, row.role) for row in rows]
    finally:
        await engine.dispose()


ADMIN_ENV = {
    "admin_username": "first_admin",
    "admin_email": "First@Example.com",
    "admin_password": "first-admin-pw",
}


async def test_start_up_creates_the_admin_once(fresh_database_url: str) -> None:
    app = create_app(make_settings(fresh_database_url, **ADMIN_ENV))

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/api/v1/auth/login",
                json={"username": "first_admin", "password": "first-admin-pw"},
            )
    async with app.router.lifespan_context(app):  # a restart finds the admin
        pass

    assert response.status_code == 200
    assert response.json()["user"]["role"] == "admin"
    assert await stored_users(fresh_database_url) == [
        ("first_admin", "first@example.com", UserRole.ADMIN)
    ]


async def test_start_up_leaves_an_existing_admin_alone(fresh_database_url: str) -> None:
    first = create_app(make_settings(fresh_database_url, **ADMIN_ENV))
    async with first.router.lifespan_context(first):
        pass
    other_env = {**ADMIN_ENV, "admin_username": "second_admin", "admin_email": "s@example.com"}
    second = create_app(make_settings(fresh_database_url, **other_env))

    async with second.router.lifespan_context(second):
        pass

    assert [username for username, _, _ in await stored_users(fresh_database_url)] == [
        "first_admin"
    ]


async def test_start_up_without_admin_settings_creates_nobody(fresh_database_url: str) -> None:
    app = create_app(make_settings(fresh_database_url))

    async with app.router.lifespan_context(app):
        pass

    assert await stored_users(fresh_database_url) == []


async def test_start_up_refuses_an_admin_that_breaks_the_user_rules(
    fresh_database_url: str,
) -> None:
    app = create_app(make_settings(fresh_database_url, **{**ADMIN_ENV, "admin_password": "short"}))

    with pytest.raises(ValidationError, match="password"):
        async with app.router.lifespan_context(app):
            pass

    assert await stored_users(fresh_database_url) == []

"""`CurrentUser` and `require_role`, as routers of other domains use them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import AdminUser, CurrentUser, EditorUser, require_role
from api.middleware.errors import register_error_handlers
from core.config import Settings
from core.enums import UserRole
from models.user import User
from tests.support.clock import FrozenClock
from tests.support.factories import auth_headers, create_user


@pytest.fixture
async def probe(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    register_error_handlers(app)
    app.state.settings, app.state.sessionmaker, app.state.clock = settings, sessionmaker, clock

    @app.get("/anyone")
    async def anyone(user: CurrentUser) -> str:
        return user.role.value

    @app.get("/editors")
    async def editors(user: EditorUser) -> str:
        return user.role.value

    @app.get("/admins")
    async def admins(user: AdminUser) -> str:
        return user.role.value

    @app.get("/viewers", dependencies=[Depends(require_role(UserRole.VIEWER))])
    async def viewers() -> str:
        return "ok"

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        yield client


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (UserRole.ADMIN, {"/anyone", "/editors", "/admins"}),
        (UserRole.USER, {"/anyone", "/editors"}),
        (UserRole.VIEWER, {"/anyone", "/viewers"}),
    ],
)
async def test_require_role_admits_exactly_the_named_roles(
    probe: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: FrozenClock,
    role: UserRole,
    allowed: set[str],
) -> None:
    user = await create_user(session, role=role)
    headers = auth_headers(settings, clock, user)

    statuses = {
        path: (await probe.get(path, headers=headers)).status_code
        for path in ("/anyone", "/editors", "/admins", "/viewers")
    }

    assert statuses == {path: 200 if path in allowed else 403 for path in statuses}


async def test_a_refused_role_gets_the_forbidden_envelope(
    probe: httpx.AsyncClient, settings: Settings, clock: FrozenClock, viewer: User
) -> None:
    response = await probe.get("/editors", headers=auth_headers(settings, clock, viewer))

    assert response.json() == {
        "error": "Forbidden",
        "message": "This action needs the admin or user role.",
        "details": None,
    }


async def test_the_role_is_read_on_every_request(
    probe: httpx.AsyncClient, session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    user = await create_user(session, role=UserRole.VIEWER)
    headers = auth_headers(settings, clock, user)
    assert (await probe.get("/editors", headers=headers)).status_code == 403

    user.role = UserRole.USER
    await session.flush()

    assert (await probe.get("/editors", headers=headers)).status_code == 200

"""Fixtures for the jobs, categories and PIC teams API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import get_address_guard
from integrations.address_guard import AddressGuard
from models.pic_team import PicTeam
from scheduler.dispatcher import Dispatcher
from tests.support.clock import FrozenClock
from tests.support.dispatchers import dispatcher_in_transaction
from tests.support.fake_dns import FakeResolver
from tests.support.job_factories import create_team

# The keys of every `<user>` in a response (never a password hash).
USER_KEYS = {
    "id",
    "username",
    "email",
    "role",
    "is_active",
    "timezone",
    "created_at",
    "updated_at",
}

# What the fake resolver knows: names resolving to public, private and loopback addresses.
DNS_ANSWERS = {
    "hooks.example.com": ["93.184.215.14"],
    "api.example.org": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "intranet.example.com": ["10.20.30.40"],
    "rebind.example.com": ["93.184.215.14", "127.0.0.1"],
}


@pytest.fixture
def fake_dns(app: FastAPI) -> Iterator[FakeResolver]:
    """Target URLs are checked against this table instead of the network."""
    resolver = FakeResolver(DNS_ANSWERS)
    app.dependency_overrides[get_address_guard] = lambda: AddressGuard(resolver=resolver)
    yield resolver
    del app.dependency_overrides[get_address_guard]


@pytest.fixture
def loopback_allowed(app: FastAPI) -> Iterator[None]:
    """Jobs and test runs may name loopback targets (the tests' HttpTarget)."""
    app.dependency_overrides[get_address_guard] = lambda: AddressGuard(allow_private=True)
    yield
    del app.dependency_overrides[get_address_guard]


@pytest.fixture
async def dispatcher(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[Dispatcher]:
    """A dispatcher writing into this test's transaction and allowed to call loopback."""
    guard = AddressGuard(allow_private=True)
    async with dispatcher_in_transaction(app, sessionmaker, clock, guard) as dispatcher:
        yield dispatcher


@pytest.fixture
async def team(session: AsyncSession) -> PicTeam:
    return await create_team(session, name="Data Platform", slack_handle="@data-oncall")

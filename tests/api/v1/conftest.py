"""Fixtures for the jobs, categories and PIC teams API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import get_address_guard
from integrations.address_guard import AddressGuard
from models.pic_team import PicTeam
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
async def team(session: AsyncSession) -> PicTeam:
    return await create_team(session, name="Data Platform", slack_handle="@data-oncall")

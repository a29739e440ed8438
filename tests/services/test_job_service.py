"""JobService rules used outside its own endpoints (the manual run of the execution engine)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import UserRole
from core.errors import Forbidden, InvalidInput
from integrations.address_guard import AddressGuard
from services.job import JobService
from tests.support.clock import FrozenClock
from tests.support.factories import create_user
from tests.support.fake_dns import FakeResolver
from tests.support.job_factories import create_job, create_team


@pytest.fixture
def service(session: AsyncSession, settings: Settings, clock: FrozenClock) -> JobService:
    return JobService(session, settings, clock, AddressGuard(resolver=FakeResolver({})))


async def test_manual_run_is_for_admins_and_owners(
    service: JobService, session: AsyncSession
) -> None:
    owner = await create_user(session, role=UserRole.USER)
    other = await create_user(session, role=UserRole.USER)
    admin = await create_user(session, role=UserRole.ADMIN)
    viewer = await create_user(session, role=UserRole.VIEWER)
    team = await create_team(session)
    job = await create_job(session, owner=owner, pic_team=team.slug)

    assert await service.get_for_manual_run(job.id, owner) is job
    assert await service.get_for_manual_run(job.id, admin) is job
    for refused in (other, viewer):
        with pytest.raises(Forbidden):
            await service.get_for_manual_run(job.id, refused)


async def test_manual_run_of_an_expired_job_pauses_it(
    service: JobService, session: AsyncSession
) -> None:
    owner = await create_user(session, role=UserRole.USER)
    team = await create_team(session)
    # The clock says 2026-06-01 09:00 in Tokyo: 31 May is over there.
    job = await create_job(session, owner=owner, pic_team=team.slug, end_date=date(2026, 5, 31))

    with pytest.raises(InvalidInput, match="paused"):
        await service.get_for_manual_run(job.id, owner)

    assert job.is_active is False
    assert job.next_run_at is None

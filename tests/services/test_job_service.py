"""JobService rules used outside its own endpoints (the manual run of the execution engine)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import UserRole
from core.errors import Forbidden, InvalidInput
from integrations.address_guard import AddressGuard
from schemas.job import JobListQuery
from services.job import JobService
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
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


def _subplan_loops(node: dict[str, Any]) -> list[int]:
    loops = [node["Actual Loops"]] if node.get("Parent Relationship") == "SubPlan" else []
    for child in node.get("Plans", []):
        loops += _subplan_loops(child)
    return loops


@pytest.mark.postgres_only
async def test_a_page_of_jobs_looks_up_the_latest_runs_of_its_own_jobs_only(
    service: JobService, session: AsyncSession
) -> None:
    """Joined into the page's query, the latest execution of every matching job was looked up
    before the page was cut, unless an index gave the order (not so for the default one)."""
    owner = await create_user(session)
    team = await create_team(session)
    slot = datetime(2026, 5, 1, tzinfo=UTC)
    for n in range(100):
        job = await create_job(session, owner=owner, pic_team=team.slug, name=f"paged-{n:02d}")
        await create_execution(session, job, scheduled_for=slot + timedelta(minutes=n))
    statements: list[tuple[str, Any]] = []
    connection = await session.connection()

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        statements.append((sql, params))

    event.listen(connection.sync_connection, "before_cursor_execute", capture)
    try:
        page = await service.list(JobListQuery(per_page=20))
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", capture)
    loops = []
    for sql, params in statements:
        explained = await connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params
        )
        plan = explained.scalar_one()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        loops += _subplan_loops(plan[0]["Plan"])

    assert (len(page.items), page.total) == (20, 100)
    assert all(view.last_execution is not None for view in page.items)
    assert loops
    # A few evaluations of the lookup per row of the page (60 for its 20, with 100 or 150 jobs
    # alike); joined first, twice per matching job (200).
    assert max(loops) <= 60

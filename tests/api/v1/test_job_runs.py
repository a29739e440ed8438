from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import get_address_guard
from core.enums import ExecutionStatus, TriggerType
from integrations.address_guard import AddressGuard
from models import Job, JobExecution, PicTeam, User
from scheduler.dispatcher import Dispatcher
from tests.support.clock import FrozenClock
from tests.support.dispatchers import dispatcher_in_transaction
from tests.support.execution_factories import create_execution
from tests.support.http_target import HttpTarget, Reply
from tests.support.job_factories import create_job


@pytest.fixture
async def own_job(
    session: AsyncSession, member: User, team: PicTeam, http_target: HttpTarget
) -> Job:
    return await create_job(
        session,
        owner=member,
        pic_team=team.slug,
        name="ping",
        target_url=f"{http_target.url}/ping",
        job_metadata={"from": "job"},
    )


async def _stored(sessionmaker: async_sessionmaker[AsyncSession], job: Job) -> list[JobExecution]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(JobExecution).where(JobExecution.job_id == job.id))
        return list(rows)


async def test_execute_answers_202_and_runs_in_the_background(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    own_job: Job,
    dispatcher: Dispatcher,
    http_target: HttpTarget,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    response = await client.post(
        f"/api/v1/jobs/{own_job.id}/execute",
        json={"metadata": {"from": "override"}},
        headers=member_headers,
    )

    assert response.status_code == 202
    body = response.json()
    assert body["message"] == "Job triggered successfully"
    assert body["job_id"] == str(own_job.id)
    assert body["execution"]["status"] == "running"
    assert body["execution"]["trigger_type"] == "manual"
    await dispatcher.drain(grace_seconds=10)
    assert [r.json() for r in http_target.received] == [{"from": "override"}]
    (execution,) = await _stored(sessionmaker, own_job)
    assert (execution.status, execution.response_status) == (ExecutionStatus.SUCCESS, 200)
    async with sessionmaker() as session:
        job = await session.get(Job, own_job.id)
        assert job is not None
        assert job.job_metadata == {"from": "job"}  # the override was for this run only


async def test_execute_metadata_is_merged_over_the_job_metadata(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    session: AsyncSession,
    member: User,
    team: PicTeam,
    http_target: HttpTarget,
    dispatcher: Dispatcher,
) -> None:
    job = await create_job(
        session,
        owner=member,
        pic_team=team.slug,
        target_url=f"{http_target.url}/m",
        max_retries=1,
        job_metadata={"branchDetails": "release", "keep": 1, "drop": "me", "env": "prod"},
    )
    http_target.respond(Reply(status=200))

    response = await client.post(
        f"/api/v1/jobs/{job.id}/execute",
        json={"metadata": {"env": "staging", "drop": None, "new": [1]}},
        headers=member_headers,
    )

    assert response.status_code == 202
    await dispatcher.drain(grace_seconds=10)
    assert http_target.received[0].json() == {
        "branchDetails": "release",
        "keep": 1,
        "env": "staging",
        "new": [1],
    }


async def test_execute_without_a_body_uses_the_job_metadata(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    own_job: Job,
    dispatcher: Dispatcher,
    http_target: HttpTarget,
) -> None:
    response = await client.post(f"/api/v1/jobs/{own_job.id}/execute", headers=admin_headers)

    assert response.status_code == 202
    await dispatcher.drain(grace_seconds=10)
    assert http_target.received[0].json() == {"from": "job"}


async def test_lease_renewals_during_runs_leave_the_tests_transaction_sound(
    app: FastAPI,
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    own_job: Job,
    http_target: HttpTarget,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    # A lease keeper ticking every 10 ms renews the held runs' leases while their calls and
    # their outcomes' writes go on, all on the test's one connection; its writes used to
    # interleave with the outcome writer's (a broken savepoint, then a teardown error).
    fast_leases = app.state.dispatcher.settings.model_copy(update={"execution_lease_seconds": 0.03})
    http_target.default = Reply(delay_seconds=0.1)
    guard = AddressGuard(allow_private=True)
    async with dispatcher_in_transaction(
        app, sessionmaker, clock, guard, fast_leases
    ) as dispatcher:
        for _ in range(3):
            clock.advance(timedelta(minutes=1))
            response = await client.post(
                f"/api/v1/jobs/{own_job.id}/execute", headers=member_headers
            )
            assert response.status_code == 202
            await dispatcher.drain(grace_seconds=10)

    statuses = [execution.status for execution in await _stored(sessionmaker, own_job)]
    assert statuses == [ExecutionStatus.SUCCESS] * 3


async def test_a_failing_manual_run_is_recorded_as_failed(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    own_job: Job,
    dispatcher: Dispatcher,
    http_target: HttpTarget,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    http_target.respond(Reply(status=503, body=b"down"))

    await client.post(f"/api/v1/jobs/{own_job.id}/execute", headers=member_headers)
    await dispatcher.drain(grace_seconds=10)

    (execution,) = await _stored(sessionmaker, own_job)
    assert (execution.status, execution.response_status, execution.output) == (
        ExecutionStatus.FAILED,
        503,
        "down",
    )


async def test_an_expired_job_is_paused_and_refused(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    session: AsyncSession,
    member: User,
    team: PicTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug, end_date=date(2026, 5, 1))

    response = await client.post(f"/api/v1/jobs/{job.id}/execute", headers=member_headers)

    assert response.status_code == 400
    assert await _stored(sessionmaker, job) == []
    async with sessionmaker() as check:
        refreshed = await check.get(Job, job.id)
        assert refreshed is not None
        assert (refreshed.is_active, refreshed.next_run_at) == (False, None)


async def test_viewers_cannot_run_jobs(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], own_job: Job
) -> None:
    response = await client.post(f"/api/v1/jobs/{own_job.id}/execute", headers=viewer_headers)

    assert response.status_code == 403


async def test_a_user_cannot_run_someone_elses_job(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    session: AsyncSession,
    admin: User,
    team: PicTeam,
) -> None:
    job = await create_job(session, owner=admin, pic_team=team.slug)

    response = await client.post(f"/api/v1/jobs/{job.id}/execute", headers=member_headers)

    assert response.status_code == 403


async def test_execute_unknown_job_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(f"/api/v1/jobs/{uuid.uuid4()}/execute", headers=admin_headers)

    assert response.status_code == 404


async def test_execute_rejects_unknown_body_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str], own_job: Job
) -> None:
    response = await client.post(
        f"/api/v1/jobs/{own_job.id}/execute", json={"metdata": {}}, headers=admin_headers
    )

    assert response.status_code == 422


async def test_the_github_token_of_a_run_is_never_stored(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    session: AsyncSession,
    admin: User,
    team: PicTeam,
    dispatcher: Dispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    job = await create_job(
        session,
        owner=admin,
        pic_team=team.slug,
        target_url=None,
        github_owner="acme",
        github_repo="site",
        github_workflow_name="deploy.yml",
    )
    secret = "ghp_" + "s3cr3t" * 6

    response = await client.post(
        f"/api/v1/jobs/{job.id}/execute", json={"github_token": secret}, headers=admin_headers
    )
    await dispatcher.drain(grace_seconds=10)

    assert secret not in response.text
    async with sessionmaker() as check:
        rows = (await check.execute(select(JobExecution.__table__))).all()
        assert all(secret not in repr(row) for row in rows)


# --- test-run --------------------------------------------------------------------------------


async def test_test_run_calls_the_target_once_and_stores_nothing(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    app: FastAPI,
    http_target: HttpTarget,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    app.dependency_overrides[get_address_guard] = lambda: AddressGuard(allow_private=True)
    try:
        response = await client.post(
            "/api/v1/jobs/test-run",
            json={"target_url": f"{http_target.url}/try", "metadata": {"a": 1}},
            headers=member_headers,
        )
    finally:
        del app.dependency_overrides[get_address_guard]

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "type": "webhook",
        "status_code": 200,
        "message": "The target answered 200.",
    }
    assert [(r.method, r.path, r.json()) for r in http_target.received] == [
        ("POST", "/try", {"a": 1})
    ]
    async with sessionmaker() as check:
        assert (await check.execute(select(JobExecution))).first() is None


async def test_test_run_refuses_a_private_target_without_calling_it(
    client: httpx.AsyncClient, member_headers: dict[str, str], http_target: HttpTarget
) -> None:
    response = await client.post(
        "/api/v1/jobs/test-run", json={"target_url": http_target.url}, headers=member_headers
    )

    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert "refused" in response.json()["message"]
    assert http_target.received == []


async def test_test_run_of_a_workflow_without_a_token_is_not_ok(
    client: httpx.AsyncClient, member_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/jobs/test-run",
        json={"github_owner": "acme", "github_repo": "site", "github_workflow_name": "ci.yml"},
        headers=member_headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["type"], body["status_code"]) == (False, "github_actions", None)
    assert "token" in body["message"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"target_url": "https://example.com", "github_repo": "r", "github_workflow_name": "a.yml"},
        {"github_repo": "site"},
        {"target_url": "ftp://example.com"},
    ],
)
async def test_test_run_needs_exactly_one_valid_target(
    client: httpx.AsyncClient, member_headers: dict[str, str], payload: dict[str, str]
) -> None:
    response = await client.post("/api/v1/jobs/test-run", json=payload, headers=member_headers)

    assert response.status_code == 422


async def test_viewers_cannot_test_run(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/jobs/test-run", json={"target_url": "https://example.com"}, headers=viewer_headers
    )

    assert response.status_code == 403


# --- a job's executions ------------------------------------------------------------------------


@dataclass
class OwnRuns:
    """own_job's executions: made in the test's transaction, read by a viewer through the API."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    session: AsyncSession
    job: Job
    clock: FrozenClock

    @property
    def url(self) -> str:
        return f"/api/v1/jobs/{self.job.id}/executions"

    async def add(self, hour: int | None = None, **fields: Any) -> JobExecution:
        """A run of the job scheduled for the clock's instant, or `hour` of its day."""
        now = self.clock.now()
        slot = now if hour is None else now.replace(hour=hour)
        return await create_execution(self.session, self.job, scheduled_for=slot, **fields)

    async def get(self, path: str = "", **params: Any) -> httpx.Response:
        return await self.client.get(self.url + path, params=params, headers=self.headers)


@pytest.fixture
def own_runs(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    session: AsyncSession,
    own_job: Job,
    clock: FrozenClock,
) -> OwnRuns:
    return OwnRuns(client, viewer_headers, session, own_job, clock)


async def test_job_executions_list_stats_and_detail(own_runs: OwnRuns, own_job: Job) -> None:
    first = await own_runs.add(duration_seconds=2)
    await own_runs.add(
        hour=1,
        status=ExecutionStatus.FAILED,
        duration_seconds=4,
        trigger_type=TriggerType.MANUAL,
    )

    listed = (await own_runs.get()).json()
    failed = (await own_runs.get(status="failed")).json()
    stats = (await own_runs.get("/stats")).json()
    detail = await own_runs.get(f"/{first.id}")

    assert (listed["job_id"], listed["job_name"], listed["total_executions"]) == (
        str(own_job.id),
        "ping",
        2,
    )
    assert [e["status"] for e in failed["executions"]] == ["failed"]
    assert stats["statistics"] == {
        "total_executions": 2,
        "success_count": 1,
        "failed_count": 1,
        "running_count": 0,
        "missed_count": 0,
        "skipped_count": 0,
        "cancelled_count": 0,
        "success_rate": 50.0,
        "average_duration_seconds": 3.0,
        "p50_duration_seconds": 2.0,
        "p95_duration_seconds": 4.0,
        "p50_lateness_ms": None,
        "p95_lateness_ms": None,
        "percentiles_sampled": False,
    }
    assert stats["latest_execution"]["status"] == "failed"
    assert detail.status_code == 200
    assert detail.json()["job"] == {"id": str(own_job.id), "name": "ping"}


async def test_job_executions_are_paged_newest_first(own_runs: OwnRuns) -> None:
    for hour in range(5):
        await own_runs.add(hour=hour)

    pages = [(await own_runs.get(page=n, limit=2)).json() for n in (1, 2, 3, 4)]

    assert [[e["scheduled_for"][11:13] for e in p["executions"]] for p in pages] == [
        ["04", "03"],
        ["02", "01"],
        ["00"],
        [],
    ]
    assert {(p["total_executions"], p["total_pages"], p["limit"]) for p in pages} == {(5, 3, 2)}
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    zero = await own_runs.get(page=0)
    assert zero.status_code == 422


async def test_an_execution_of_another_job_is_404_under_this_job(
    own_runs: OwnRuns, session: AsyncSession, member: User, team: PicTeam, clock: FrozenClock
) -> None:
    other = await create_job(session, owner=member, pic_team=team.slug)
    execution = await create_execution(session, other, scheduled_for=clock.now())

    response = await own_runs.get(f"/{execution.id}")

    assert response.status_code == 404

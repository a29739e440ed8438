"""POST /executions/{id}/cancel: who may, what may be cancelled, what the row becomes. (That
the call in flight is abandoned, here and in another process: tests/scheduler/test_cancel.py.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import AuditAction, ExecutionStatus, UserRole
from models import AuditEntry, Job, JobExecution, Notification, PicTeam, User
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
from tests.support.factories import auth_headers, create_user
from tests.support.job_factories import create_job

SLOT = datetime(2026, 5, 31, 23, 59, tzinfo=UTC)


def cancel_url(execution: JobExecution | uuid.UUID) -> str:
    execution_id = execution if isinstance(execution, uuid.UUID) else execution.id
    return f"/api/v1/executions/{execution_id}/cancel"


@pytest.fixture
async def job(session: AsyncSession, member: User, team: PicTeam) -> Job:
    return await create_job(session, owner=member, pic_team=team.slug, max_retries=3)


@pytest.fixture
async def running(session: AsyncSession, job: Job) -> JobExecution:
    return await create_execution(
        session,
        job,
        scheduled_for=SLOT,
        status=ExecutionStatus.RUNNING,
        lease_expires_at=SLOT + timedelta(minutes=5),
    )


async def test_the_owner_cancels_a_running_execution(
    client: httpx.AsyncClient,
    member: User,
    member_headers: dict[str, str],
    running: JobExecution,
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    response = await client.post(cancel_url(running), headers=member_headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Execution cancelled"
    execution = body["execution"]
    assert execution["status"] == "cancelled"
    assert execution["error_message"] == f"cancelled by {member.username}"
    assert execution["completed_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert execution["duration_seconds"] == (clock.now() - SLOT).total_seconds()
    await session.refresh(running)
    assert (running.status, running.lease_expires_at) == (ExecutionStatus.CANCELLED, None)
    shown = await client.get(f"/api/v1/executions/{running.id}", headers=member_headers)
    assert shown.json()["execution"]["status"] == "cancelled"
    # No alert: a cancelled run is not a failure.
    notes = await session.scalars(select(Notification))
    assert notes.all() == []
    # Audited on the job: who cancelled which run.
    [entry] = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == AuditAction.JOB_RUN_CANCELLED.value)
        )
    ).all()
    assert (entry.actor_user_id, entry.resource_type, entry.resource_id) == (
        member.id,
        "job",
        running.job_id,
    )
    assert entry.details == {
        "execution_id": str(running.id),
        "attempt": 1,
        "status_before": "running",
    }


async def test_a_run_waiting_for_its_retry_is_cancelled_and_never_retried(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    job: Job,
    session: AsyncSession,
) -> None:
    waiting = await create_execution(
        session,
        job,
        scheduled_for=SLOT,
        status=ExecutionStatus.FAILED,
        error_message="HTTP 503",
        next_attempt_at=SLOT + timedelta(minutes=10),
    )

    response = await client.post(cancel_url(waiting), headers=admin_headers)

    assert response.status_code == 200, response.text
    await session.refresh(waiting)
    assert (waiting.status, waiting.next_attempt_at) == (ExecutionStatus.CANCELLED, None)
    assert waiting.error_message is not None
    assert waiting.error_message.endswith("attempt 1 had failed: HTTP 503")


@pytest.mark.parametrize("role", [UserRole.VIEWER, UserRole.USER])
async def test_only_the_owner_or_an_admin_may_cancel(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: FrozenClock,
    running: JobExecution,
    role: UserRole,
) -> None:
    stranger = await create_user(session, role=role)

    response = await client.post(
        cancel_url(running), headers=auth_headers(settings, clock, stranger)
    )

    assert response.status_code == 403
    assert set(response.json()) == {"error", "message", "details"}
    await session.refresh(running)
    assert running.status == ExecutionStatus.RUNNING


async def test_an_admin_may_cancel_any_run(
    client: httpx.AsyncClient, admin_headers: dict[str, str], running: JobExecution
) -> None:
    response = await client.post(cancel_url(running), headers=admin_headers)

    assert response.json()["execution"]["status"] == "cancelled"


@pytest.mark.parametrize(
    "status",
    [
        ExecutionStatus.SUCCESS,
        ExecutionStatus.FAILED,
        ExecutionStatus.MISSED,
        ExecutionStatus.SKIPPED,
        ExecutionStatus.CANCELLED,
    ],
)
async def test_a_finished_execution_is_a_409(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    job: Job,
    session: AsyncSession,
    status: ExecutionStatus,
) -> None:
    finished = await create_execution(session, job, scheduled_for=SLOT, status=status)

    response = await client.post(cancel_url(finished), headers=member_headers)

    assert response.status_code == 409
    assert response.json()["error"] == "Execution not running"
    assert status.value in response.json()["message"]


async def test_unknown_and_malformed_ids(
    client: httpx.AsyncClient, member_headers: dict[str, str]
) -> None:
    missing = await client.post(cancel_url(uuid.uuid4()), headers=member_headers)
    malformed = await client.post("/api/v1/executions/nope/cancel", headers=member_headers)
    anonymous = await client.post(cancel_url(uuid.uuid4()))

    assert (missing.status_code, missing.json()["error"]) == (404, "Not found")
    assert malformed.status_code == 404
    assert anonymous.status_code == 401

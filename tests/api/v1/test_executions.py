from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import ExecutionStatus, TriggerType
from models import Job, PicTeam, User
from tests.support.execution_factories import create_execution
from tests.support.job_factories import create_job

DAY = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
async def job(session: AsyncSession, member: User, team: PicTeam) -> Job:
    return await create_job(session, owner=member, pic_team=team.slug, name="nightly-report")


@pytest.fixture
async def other_job(session: AsyncSession, member: User, team: PicTeam) -> Job:
    return await create_job(session, owner=member, pic_team=team.slug, name="other")


@pytest.fixture
async def history(session: AsyncSession, job: Job, other_job: Job) -> None:
    """Five runs of `job` over three days, one of `other_job`."""
    await create_execution(session, job, scheduled_for=DAY, duration_seconds=2.0)
    await create_execution(
        session,
        job,
        scheduled_for=DAY + timedelta(hours=1),
        status=ExecutionStatus.FAILED,
        duration_seconds=4.0,
        response_status=500,
        error_message="HTTP 500",
    )
    await create_execution(
        session,
        job,
        scheduled_for=DAY + timedelta(days=1),
        status=ExecutionStatus.MISSED,
        duration_seconds=None,
    )
    await create_execution(
        session,
        job,
        scheduled_for=DAY + timedelta(days=2),
        trigger_type=TriggerType.MANUAL,
        duration_seconds=6.0,
    )
    await create_execution(
        session,
        job,
        scheduled_for=DAY + timedelta(days=2, hours=1),
        status=ExecutionStatus.RUNNING,
    )
    await create_execution(session, other_job, scheduled_for=DAY)


@pytest.mark.usefixtures("history")
async def test_list_is_newest_first_with_job_names(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/executions", headers=viewer_headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["limit"], body["total_pages"]) == (6, 1, 20, 1)
    slots = [e["scheduled_for"] for e in body["executions"]]
    assert slots == sorted(slots, reverse=True)
    first = body["executions"][0]
    assert first["job_name"] == "nightly-report"
    assert first["status"] == "running"
    assert set(first) == {
        "id",
        "job_id",
        "job_name",
        "status",
        "trigger_type",
        "scheduled_for",
        "started_at",
        "completed_at",
        "duration_seconds",
        "execution_type",
        "target",
        "response_status",
        "error_message",
        "output",
        "attempt",
        "dns_ms",
        "connect_ms",
        "tls_ms",
        "first_byte_ms",
        "lateness_ms",
    }


@pytest.mark.usefixtures("history")
async def test_list_filters_combine(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], job: Job
) -> None:
    response = await client.get(
        "/api/v1/executions",
        params={"job_id": str(job.id), "status": "failed,missed", "trigger_type": "scheduled"},
        headers=viewer_headers,
    )

    statuses = sorted(e["status"] for e in response.json()["executions"])
    assert statuses == ["failed", "missed"]


@pytest.mark.usefixtures("history")
async def test_list_paginates(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> None:
    response = await client.get(
        "/api/v1/executions", params={"page": 2, "limit": 4}, headers=viewer_headers
    )

    body = response.json()
    assert (len(body["executions"]), body["total"], body["total_pages"]) == (2, 6, 2)


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"from": "2026-05-21"}, 3),
        ({"to": "2026-05-20"}, 3),  # a date-only `to` covers that whole day
        ({"from": "2026-05-20T09:30:00Z", "to": "2026-05-22"}, 4),
        ({"from": "2026-05-20T10:00:00+01:00"}, 6),  # offsets are honoured (09:00 UTC)
        ({"to": "2026-05-20T09:00:00Z"}, 0),  # `to` is exclusive
    ],
)
async def test_date_filters(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    params: dict[str, str],
    expected: int,
) -> None:
    response = await client.get("/api/v1/executions", params=params, headers=viewer_headers)

    assert response.status_code == 200
    assert response.json()["total"] == expected


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"from": "yesterday"}, "Invalid date"),
        ({"to": "2026-13-01"}, "Invalid date"),
        ({"from": "2026-05-22", "to": "2026-05-21"}, "Invalid date range"),
        ({"from": "2026-05-21", "to": "2026-05-20T00:00:00Z"}, "Invalid date range"),
    ],
)
async def test_bad_dates_are_400(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], params: dict[str, str], error: str
) -> None:
    response = await client.get("/api/v1/executions", params=params, headers=viewer_headers)

    assert response.status_code == 400
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "failed,exploded"}, "query.status.1"),
        ({"limit": "201"}, "query.limit"),
        ({"page": "0"}, "query.page"),
        ({"trigger_type": "cron"}, "query.trigger_type"),
        ({"job_id": "not-a-uuid"}, "query.job_id"),
    ],
)
async def test_bad_query_values_are_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/executions", params=params, headers=viewer_headers)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["details"]]


async def test_listing_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/executions")

    assert response.status_code == 401


@pytest.mark.usefixtures("history")
async def test_statistics_over_a_range(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], job: Job
) -> None:
    response = await client.get(
        "/api/v1/executions/statistics",
        params={"job_id": str(job.id), "from": "2026-05-20", "to": "2026-05-20"},
        headers=viewer_headers,
    )

    assert response.status_code == 200
    assert response.json() == {
        "total_executions": 2,
        "successful_executions": 1,
        "failed_executions": 1,
        "running_executions": 0,
        "missed_executions": 0,
        "skipped_executions": 0,
        "cancelled_executions": 0,
        "success_rate": 50.0,
        "average_duration_seconds": 3.0,
        "p50_duration_seconds": 2.0,
        "p95_duration_seconds": 4.0,
        "p50_lateness_ms": None,
        "p95_lateness_ms": None,
        "percentiles_sampled": False,
        "range": {"from": "2026-05-20T00:00:00Z", "to": "2026-05-21T00:00:00Z"},
    }


async def test_statistics_percentiles_and_the_statuses_a_rate_leaves_out(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], session: AsyncSession, job: Job
) -> None:
    slot = datetime(2026, 4, 1, tzinfo=UTC)
    # 20 successes lasting 1..20 s and 0..1900 ms late; one failure; skipped and cancelled.
    for n in range(1, 21):
        await create_execution(
            session,
            job,
            scheduled_for=slot + timedelta(minutes=n),
            duration_seconds=float(n),
            lateness_ms=(n - 1) * 100,
        )
    await create_execution(
        session, job, scheduled_for=slot, status=ExecutionStatus.FAILED, lateness_ms=5000
    )
    others = (ExecutionStatus.SKIPPED, ExecutionStatus.CANCELLED, ExecutionStatus.MISSED)
    for hour, status in enumerate(others, start=1):
        await create_execution(
            session, job, scheduled_for=slot + timedelta(hours=hour), status=status
        )

    response = await client.get(
        "/api/v1/executions/statistics",
        params={"job_id": str(job.id), "from": "2026-04-01", "to": "2026-04-02"},
        headers=viewer_headers,
    )

    body = response.json()
    assert (body["total_executions"], body["successful_executions"]) == (24, 20)
    counts = [body[f"{s}_executions"] for s in ("failed", "missed", "skipped", "cancelled")]
    assert counts == [1, 1, 1, 1]
    # Skipped and cancelled rows are neither: 20 of the 22 others succeeded.
    assert body["success_rate"] == 90.91
    # Nearest rank over the 21 durations (1..20 and the failure's 1 s), and the 21 latenesses.
    assert (body["p50_duration_seconds"], body["p95_duration_seconds"]) == (10.0, 19.0)
    assert (body["p50_lateness_ms"], body["p95_lateness_ms"]) == (1000, 1900)
    listed = await client.get(
        "/api/v1/executions",
        params={"job_id": str(job.id), "status": "skipped,cancelled"},
        headers=viewer_headers,
    )
    assert sorted(e["status"] for e in listed.json()["executions"]) == ["cancelled", "skipped"]


async def test_statistics_of_nothing(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/executions/statistics", headers=viewer_headers)

    body = response.json()
    assert (body["total_executions"], body["success_rate"]) == (0, 0.0)
    assert body["average_duration_seconds"] is None
    assert body["range"] == {"from": None, "to": None}


async def test_get_one_execution(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], session: AsyncSession, job: Job
) -> None:
    execution = await create_execution(session, job, scheduled_for=DAY, output="pong")

    response = await client.get(f"/api/v1/executions/{execution.id}", headers=viewer_headers)

    assert response.status_code == 200
    assert response.json()["execution"]["output"] == "pong"
    assert response.json()["execution"]["job_name"] == "nightly-report"


async def test_an_execution_shows_the_phases_of_its_call(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], session: AsyncSession, job: Job
) -> None:
    execution = await create_execution(
        session,
        job,
        scheduled_for=DAY,
        dns_ms=12.5,
        connect_ms=3.25,
        tls_ms=None,
        first_byte_ms=140.0,
    )

    response = await client.get(f"/api/v1/executions/{execution.id}", headers=viewer_headers)

    assert response.status_code == 200
    shown = response.json()["execution"]
    assert (shown["dns_ms"], shown["connect_ms"], shown["tls_ms"], shown["first_byte_ms"]) == (
        12.5,
        3.25,
        None,
        140.0,
    )


async def test_unknown_execution_is_404(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(f"/api/v1/executions/{uuid.uuid4()}", headers=viewer_headers)

    assert response.status_code == 404
    assert response.json()["error"] == "Not found"

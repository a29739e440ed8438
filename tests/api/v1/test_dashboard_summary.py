"""GET /api/v1/dashboard/summary: the home page's counts, chart buckets and lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import cron
from core.enums import ExecutionStatus
from models import Job, PicTeam, User
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
from tests.support.job_factories import create_job

# 10:30 UTC is 19:30 in Tokyo and 12:30 in Berlin (summer time).
NOW = datetime(2026, 6, 10, 10, 30, tzinfo=UTC)
URL = "/api/v1/dashboard/summary"


MakeJob = Callable[..., Awaitable[Job]]


@pytest.fixture(autouse=True)
def frozen(clock: FrozenClock) -> None:
    clock.set(NOW)


@pytest.fixture
def make_job(session: AsyncSession, member: User, team: PicTeam) -> MakeJob:
    """A stored job of `member` on `team`, scheduled as of NOW unless `now` says otherwise."""

    def make(**fields: Any) -> Awaitable[Job]:
        return create_job(session, owner=member, pic_team=team.slug, **{"now": NOW, **fields})

    return make


async def test_an_empty_install(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> None:
    response = await client.get(URL, headers=viewer_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["jobs"] == {"active": 0, "paused": 0}
    assert body["today"]["total"] == 0
    assert body["today"]["success_rate"] is None
    assert body["failing_jobs"] == body["running"] == body["upcoming"] == []
    hours = body["runs_per_hour"]
    assert len(hours) == 24
    assert hours[-1]["hour"] == "2026-06-10T10:00:00Z"
    assert hours[0]["hour"] == "2026-06-09T11:00:00Z"
    assert body["timezone"] == "Asia/Tokyo"


async def test_counts_rates_buckets_and_lists(
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_job: MakeJob,
    viewer_headers: dict[str, str],
) -> None:
    hourly = await make_job(name="hourly", cron_expression="0 * * * *")
    failing = await make_job(
        name="failing", consecutive_failures=3, last_execution_at=NOW - timedelta(minutes=5)
    )
    await make_job(name="paused", is_active=False)
    # This hour: 2 successes, 1 failure; 3 hours ago: 1 missed; 2 days ago: 1 success (7 d only);
    # and a run going on now.
    for minutes in (1, 2):
        await create_execution(session, hourly, scheduled_for=NOW - timedelta(minutes=minutes))
    await create_execution(
        session, failing, scheduled_for=NOW - timedelta(minutes=5), status=ExecutionStatus.FAILED
    )
    await create_execution(
        session, hourly, scheduled_for=NOW - timedelta(hours=3), status=ExecutionStatus.MISSED
    )
    await create_execution(session, hourly, scheduled_for=NOW - timedelta(days=2))
    running = await create_execution(
        session, hourly, scheduled_for=NOW - timedelta(seconds=10), status=ExecutionStatus.RUNNING
    )
    # Outside every window.
    await create_execution(session, hourly, scheduled_for=NOW - timedelta(days=8))

    body = (await client.get(URL, headers=viewer_headers)).json()

    assert body["jobs"] == {"active": 2, "paused": 1}
    assert body["last_24h"] == {
        "total": 5,
        "success": 2,
        "failed": 1,
        "missed": 1,
        "running": 1,
        "skipped": 0,
        "cancelled": 0,
        "success_rate": 40.0,
    }
    assert body["last_7d"]["total"] == 6
    assert body["last_7d"]["success_rate"] == 50.0
    hours = body["runs_per_hour"]
    assert hours[-1] == {
        "hour": "2026-06-10T10:00:00Z",
        "success": 2,
        "failed": 1,
        "missed": 0,
        "running": 1,
        "skipped": 0,
        "cancelled": 0,
    }
    assert hours[-4]["missed"] == 1
    assert sum(h["success"] + h["failed"] + h["missed"] + h["running"] for h in hours) == 5
    assert [job["name"] for job in body["failing_jobs"]] == ["failing"]
    assert body["failing_jobs"][0]["consecutive_failures"] == 3
    assert [execution["id"] for execution in body["running"]] == [str(running.id)]
    assert body["running"][0]["job_name"] == "hourly"


async def test_today_starts_at_midnight_in_the_asked_zone(
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_job: MakeJob,
    viewer_headers: dict[str, str],
) -> None:
    job = await make_job()
    # 2026-06-09 23:30 Berlin = 21:30 UTC (yesterday there); 2026-06-10 00:30 Berlin = 22:30 UTC.
    await create_execution(session, job, scheduled_for=datetime(2026, 6, 9, 21, 30, tzinfo=UTC))
    await create_execution(session, job, scheduled_for=datetime(2026, 6, 9, 22, 30, tzinfo=UTC))

    berlin = await client.get(URL, params={"timezone": "Europe/Berlin"}, headers=viewer_headers)
    # In Tokyo 2026-06-10 starts at 2026-06-09 15:00 UTC: both are today.
    tokyo = await client.get(URL, params={"timezone": "Asia/Tokyo"}, headers=viewer_headers)

    assert berlin.json()["today"]["total"] == 1
    assert berlin.json()["timezone"] == "Europe/Berlin"
    assert tokyo.json()["today"]["total"] == 2


async def test_the_next_ten_runs_across_jobs_in_order(
    client: httpx.AsyncClient, make_job: MakeJob, viewer_headers: dict[str, str]
) -> None:
    jobs = {
        name: await make_job(name=name, cron_expression=expression, timezone="UTC")
        for name, expression in (
            ("every-minute", "* * * * *"),
            ("at-10-33", "33 10 * * *"),
            ("tomorrow", "0 3 * * *"),
        )
    }

    upcoming = (await client.get(URL, headers=viewer_headers)).json()["upcoming"]

    assert len(upcoming) == 10
    expected = cron.next_fire_times("* * * * *", "UTC", NOW, 10)
    minute_slots = [
        datetime.fromisoformat(run["at"]) for run in upcoming if run["job_name"] == "every-minute"
    ]
    assert minute_slots == expected[: len(minute_slots)]
    assert [run["job_name"] for run in upcoming].count("at-10-33") == 1
    assert "tomorrow" not in [run["job_name"] for run in upcoming]
    times = [run["at"] for run in upcoming]
    assert times == sorted(times)
    assert upcoming[0]["job_id"] == str(jobs["every-minute"].id)


async def test_runs_past_the_end_date_are_not_upcoming(
    client: httpx.AsyncClient, make_job: MakeJob, viewer_headers: dict[str, str]
) -> None:
    await make_job(
        name="last-day",
        cron_expression="*/10 * * * *",
        timezone="UTC",
        end_date=NOW.date(),
        now=datetime(2026, 6, 10, 23, 15, tzinfo=UTC),
    )

    upcoming = (await client.get(URL, headers=viewer_headers)).json()["upcoming"]

    assert [run["at"] for run in upcoming] == [
        "2026-06-10T23:20:00Z",
        "2026-06-10T23:30:00Z",
        "2026-06-10T23:40:00Z",
        "2026-06-10T23:50:00Z",
    ]


async def test_needs_a_session(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL)).status_code == 401


@pytest.mark.parametrize("params", [{"timezone": "Mars/Olympus"}, {"tz": "UTC"}])
async def test_bad_query_is_a_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], params: dict[str, str]
) -> None:
    response = await client.get(URL, params=params, headers=viewer_headers)
    assert response.status_code == 422
    assert response.json()["error"] == "Validation error"

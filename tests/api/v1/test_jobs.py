"""Jobs API: CRUD, pause/resume, listing, cron tools, validation and RBAC (the `jobs` tag)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.main import create_app
from core.config import Settings
from core.enums import ExecutionStatus, ExecutionType, TriggerType, UserRole
from models.job import Job
from models.job_execution import JobExecution
from models.pic_team import PicTeam
from models.user import User
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
from tests.support.factories import auth_headers, create_user
from tests.support.job_factories import (
    DEFAULT_NOW,
    POLICY_DEFAULTS,
    create_category,
    create_job,
    create_team,
    job_payload,
)

pytestmark = pytest.mark.usefixtures("fake_dns")

JOBS = "/api/v1/jobs"
NOW = DEFAULT_NOW  # the frozen clock's
JOB_KEYS = {
    "id",
    "name",
    "cron_expression",
    "timezone",
    "target_url",
    "http_method",
    "github_owner",
    "github_repo",
    "github_workflow_name",
    "metadata",
    "headers",
    "signing_secret_rotated_at",
    "category",
    "pic_team",
    "end_date",
    "enable_email_notifications",
    "notification_emails",
    "notify_on_success",
    "timeout_seconds",
    "max_retries",
    "min_backoff_seconds",
    "max_backoff_seconds",
    "max_doublings",
    "max_retry_duration_seconds",
    "concurrency_policy",
    "catchup",
    "misfire_grace_seconds",
    "created_by",
    "is_active",
    "created_at",
    "updated_at",
    "last_execution_at",
    "last_execution",
    "next_execution_at",
}


def fields_of(response: httpx.Response) -> set[str]:
    return {detail["field"] for detail in response.json()["details"]}


async def job_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Job))).scalar_one()


# --- create ------------------------------------------------------------------------------------


async def test_create_webhook_job(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str], team: PicTeam
) -> None:
    body = job_payload(
        team.slug,
        name="Nightly export",
        metadata={"env": "prod", "nested": {"ok": True}},
        notification_emails=["ops@example.com"],
        enable_email_notifications=True,
        http_method="put",
        timeout_seconds=120,
        max_retries=3,
    )

    response = await client.post(JOBS, json=body, headers=member_headers)

    assert response.status_code == 201, response.text
    assert response.json()["message"] == "Job created successfully"
    job = response.json()["job"]
    assert set(job) == JOB_KEYS
    assert job["name"] == "Nightly export"
    assert job["created_by"] == str(member.id)
    assert job["timezone"] == "Asia/Tokyo"
    assert job["category"] == "general"
    assert job["pic_team"] == "data-platform"
    assert job["http_method"] == "PUT"
    assert job["metadata"] == {"env": "prod", "nested": {"ok": True}}
    assert job["notification_emails"] == ["ops@example.com"]
    assert (job["timeout_seconds"], job["max_retries"]) == (120, 3)
    assert job["github_owner"] is job["github_repo"] is job["github_workflow_name"] is None
    assert job["is_active"] is True
    assert job["last_execution_at"] is job["last_execution"] is None
    # The frozen clock says 2026-06-01 09:00 in Tokyo: the next 02:00 is tomorrow's.
    assert job["next_execution_at"] == "2026-06-02T02:00:00+09:00"


async def test_create_applies_documented_defaults(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    response = await client.post(JOBS, json=job_payload(team.slug), headers=admin_headers)

    job = response.json()["job"]
    assert (job["http_method"], job["timeout_seconds"], job["max_retries"]) == ("POST", 30, 0)
    assert (job["metadata"], job["notification_emails"]) == ({}, [])
    assert job["enable_email_notifications"] is job["notify_on_success"] is False


async def test_create_takes_the_policies_and_shows_them(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    defaults = (await client.post(JOBS, json=job_payload(team.slug), headers=admin_headers)).json()
    assert {key: defaults["job"][key] for key in POLICY_DEFAULTS} == POLICY_DEFAULTS

    chosen = {
        "max_retries": 10,
        "min_backoff_seconds": 0.5,
        "max_backoff_seconds": 600,
        "max_doublings": 3,
        "max_retry_duration_seconds": 900,
        "concurrency_policy": "forbid",
        "catchup": "all",
        "misfire_grace_seconds": 3600,
    }
    body = job_payload(team.slug, name="With policies", **chosen)
    response = await client.post(JOBS, json=body, headers=admin_headers)

    assert response.status_code == 201, response.text
    job = response.json()["job"]
    assert {key: job[key] for key in chosen} == chosen
    got = await client.get(f"{JOBS}/{job['id']}", headers=admin_headers)
    assert {key: got.json()["job"][key] for key in chosen} == chosen


async def test_update_changes_a_policy_and_null_goes_back_to_the_global_setting(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    body = job_payload(team.slug, misfire_grace_seconds=600, max_backoff_seconds=30)
    job = (await client.post(JOBS, json=body, headers=admin_headers)).json()["job"]

    response = await client.put(
        f"{JOBS}/{job['id']}",
        json={"misfire_grace_seconds": None, "catchup": "none", "max_backoff_seconds": 20},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()["job"]
    assert (updated["misfire_grace_seconds"], updated["catchup"]) == (None, "none")
    assert updated["max_backoff_seconds"] == 20

    # The stored bound counts: a new minimum above it is refused.
    refused = await client.put(
        f"{JOBS}/{job['id']}", json={"min_backoff_seconds": 25}, headers=admin_headers
    )
    assert refused.status_code == 422
    assert fields_of(refused) == {"body.min_backoff_seconds"}
    refused = await client.put(
        f"{JOBS}/{job['id']}", json={"concurrency_policy": None}, headers=admin_headers
    )
    assert refused.status_code == 422
    assert fields_of(refused) == {"body.concurrency_policy"}


async def test_create_stores_next_run_in_utc(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    body = job_payload(team.slug, cron_expression="0 9 * * 1-5", timezone="America/New_York")

    response = await client.post(JOBS, json=body, headers=admin_headers)

    job = await session.get(Job, uuid.UUID(response.json()["job"]["id"]))
    assert job is not None
    # Monday 2026-06-01 09:00 EDT, in UTC on the row and in the job's offset in the response.
    assert job.next_run_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert response.json()["job"]["next_execution_at"] == "2026-06-01T09:00:00-04:00"


async def test_create_github_job_with_explicit_owner(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    body = job_payload(
        team.slug,
        target_url=None,
        github_owner="acme",
        github_repo="etl.pipeline",
        github_workflow_name="nightly.yaml",
        metadata={"branchDetails": "release", "dataset": "sales"},
    )

    response = await client.post(JOBS, json=body, headers=member_headers)

    assert response.status_code == 201, response.text
    job = response.json()["job"]
    assert (job["github_owner"], job["github_repo"], job["github_workflow_name"]) == (
        "acme",
        "etl.pipeline",
        "nightly.yaml",
    )
    assert job["target_url"] is None


async def test_github_owner_defaults_to_setting(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "github_default_owner", "default-org")
    body = job_payload(
        team.slug, target_url=None, github_repo="repo", github_workflow_name="ci.yml"
    )

    response = await client.post(JOBS, json=body, headers=member_headers)

    assert response.status_code == 201, response.text
    assert response.json()["job"]["github_owner"] == "default-org"


async def test_category_and_team_resolve_by_name_or_slug(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    category = await create_category(session, name="Data Pipelines")

    by_name = await client.post(
        JOBS,
        json=job_payload("DATA PLATFORM", category="data pipelines"),
        headers=admin_headers,
    )
    by_slug = await client.post(
        JOBS, json=job_payload(team.slug, category=category.slug), headers=admin_headers
    )

    for response in (by_name, by_slug):
        assert response.status_code == 201, response.text
        assert response.json()["job"]["category"] == "data-pipelines"
        assert response.json()["job"]["pic_team"] == "data-platform"


async def test_end_date_is_judged_in_the_jobs_time_zone(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    # 2026-06-01T00:00Z: already 1 June in Tokyo, still 31 May in Los Angeles.
    in_tokyo = job_payload(team.slug, end_date="2026-05-31")
    in_los_angeles = job_payload(
        team.slug,
        end_date="2026-05-31",
        timezone="America/Los_Angeles",
        cron_expression="0 20 * * *",
    )
    today_in_tokyo = job_payload(team.slug, end_date="2026-06-01", cron_expression="0 12 * * *")

    refused = await client.post(JOBS, json=in_tokyo, headers=admin_headers)
    accepted = await client.post(JOBS, json=in_los_angeles, headers=admin_headers)
    today = await client.post(JOBS, json=today_in_tokyo, headers=admin_headers)

    assert refused.status_code == 422
    assert fields_of(refused) == {"body.end_date"}
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["job"]["next_execution_at"] == "2026-05-31T20:00:00-07:00"
    assert today.status_code == 201
    assert today.json()["job"]["next_execution_at"] == "2026-06-01T12:00:00+09:00"


async def test_next_execution_is_null_when_the_next_slot_is_after_end_date(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    body = job_payload(team.slug, end_date="2026-06-01", cron_expression="0 2 * * *")

    response = await client.post(JOBS, json=body, headers=admin_headers)

    assert response.status_code == 201
    assert response.json()["job"]["next_execution_at"] is None


async def test_duplicate_name_is_409(
    client: httpx.AsyncClient,
    admin: User,
    admin_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    await create_job(session, owner=admin, pic_team=team.slug, name="Backup")

    response = await client.post(
        JOBS, json=job_payload(team.slug, name="Backup"), headers=admin_headers
    )

    assert response.status_code == 409
    assert response.json()["error"] == "Duplicate job name"


# --- validation matrix ---------------------------------------------------------------------------


def on_github(**github: str) -> dict[str, Any]:
    """Overrides for a job calling a GitHub workflow instead of a URL (`repo` is github_repo)."""
    return {"target_url": None, **{f"github_{key}": value for key, value in github.items()}}


INVALID_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("name missing", {"name": None}, "body.name"),
    ("name empty", {"name": "   "}, "body.name"),
    ("name too long", {"name": "x" * 256}, "body.name"),
    ("name with NUL", {"name": "a\x00b"}, "body.name"),
    ("name with lone surrogate", {"name": "a\ud800b"}, "body.name"),
    ("cron with 4 fields", {"cron_expression": "0 2 * *"}, "body.cron_expression"),
    ("cron out of range", {"cron_expression": "61 2 * * *"}, "body.cron_expression"),
    ("cron never fires", {"cron_expression": "0 0 30 2 *"}, "body.cron_expression"),
    ("cron missing", {"cron_expression": None}, "body.cron_expression"),
    ("unknown time zone", {"timezone": "Mars/Olympus"}, "body.timezone"),
    ("end_date missing", {"end_date": None}, "body.end_date"),
    ("end_date not a date", {"end_date": "31/12/2026"}, "body.end_date"),
    ("end_date in the past", {"end_date": "2026-05-31"}, "body.end_date"),
    ("no target", {"target_url": None}, "body.target_url"),
    (
        "two targets",
        {"github_owner": "acme", "github_repo": "r", "github_workflow_name": "w.yml"},
        "body.target_url",
    ),
    ("repo without workflow", on_github(owner="acme", repo="r"), "body.github_workflow_name"),
    ("workflow without repo", on_github(owner="acme", workflow_name="w.yml"), "body.github_repo"),
    ("owner missing, no default", on_github(repo="r", workflow_name="w.yml"), "body.github_owner"),
    ("workflow not yaml", on_github(repo="r", workflow_name="w.json"), "body.github_workflow_name"),
    ("repo with a path", on_github(repo="../x", workflow_name="w.yml"), "body.github_repo"),
    ("target not http", {"target_url": "ftp://hooks.example.com/x"}, "body.target_url"),
    (
        "target too long",
        {"target_url": "https://hooks.example.com/" + "a" * 480},
        "body.target_url",
    ),
    ("target loopback", {"target_url": "http://127.0.0.1:8080/hook"}, "body.target_url"),
    ("target decimal loopback", {"target_url": "http://2130706433/"}, "body.target_url"),
    ("target metadata", {"target_url": "http://169.254.169.254/latest"}, "body.target_url"),
    ("target mapped ipv6", {"target_url": "http://[::ffff:10.0.0.1]/"}, "body.target_url"),
    ("target localhost", {"target_url": "http://localhost:9000/"}, "body.target_url"),
    ("target resolves private", {"target_url": "https://intranet.example.com/"}, "body.target_url"),
    ("target resolves loopback", {"target_url": "https://rebind.example.com/"}, "body.target_url"),
    ("http method", {"http_method": "TRACE"}, "body.http_method"),
    ("metadata not an object", {"metadata": [1, 2]}, "body.metadata"),
    ("metadata with NUL", {"metadata": {"deep": ["ok", {"k": "\x00"}]}}, "body.metadata"),
    ("team with NUL", {"pic_team": "data\x00platform"}, "body.pic_team"),
    ("bad email", {"notification_emails": ["not-an-email"]}, "body.notification_emails.0"),
    ("timeout zero", {"timeout_seconds": 0}, "body.timeout_seconds"),
    ("timeout too long", {"timeout_seconds": 301}, "body.timeout_seconds"),
    ("retries negative", {"max_retries": -1}, "body.max_retries"),
    ("retries too many", {"max_retries": 11}, "body.max_retries"),
    ("retries as text", {"max_retries": "3"}, "body.max_retries"),
    ("min backoff negative", {"min_backoff_seconds": -1}, "body.min_backoff_seconds"),
    ("max backoff above an hour", {"max_backoff_seconds": 3601}, "body.max_backoff_seconds"),
    (
        "backoff bounds reversed",
        {"min_backoff_seconds": 30, "max_backoff_seconds": 10},
        "body.min_backoff_seconds",
    ),
    (
        "min backoff above the global max",
        {"min_backoff_seconds": 120},
        "body.min_backoff_seconds",
    ),
    ("doublings too many", {"max_doublings": 17}, "body.max_doublings"),
    (
        "retry duration negative",
        {"max_retry_duration_seconds": -5},
        "body.max_retry_duration_seconds",
    ),
    ("concurrency unknown", {"concurrency_policy": "replace"}, "body.concurrency_policy"),
    ("catchup unknown", {"catchup": "some"}, "body.catchup"),
    ("grace zero", {"misfire_grace_seconds": 0}, "body.misfire_grace_seconds"),
    ("grace above a week", {"misfire_grace_seconds": 604801}, "body.misfire_grace_seconds"),
    ("pic_team missing", {"pic_team": None}, "body.pic_team"),
    ("unknown field", {"owner_id": str(uuid.uuid4())}, "body.owner_id"),
    ("created_by not settable", {"created_by": str(uuid.uuid4())}, "body.created_by"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(overrides, field, id=rule) for rule, overrides, field in INVALID_BODIES],
)
async def test_each_rule_refuses_with_422_naming_the_field(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
    overrides: dict[str, Any],
    field: str,
) -> None:
    body = {**job_payload(team.slug), **overrides}
    body = {key: value for key, value in body.items() if not (value is None and key in overrides)}

    # json.dumps escapes what httpx would refuse to encode (a lone surrogate).
    response = await client.post(
        JOBS,
        content=json.dumps(body),
        headers={**member_headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "Validation error"
    assert field in fields_of(response)
    assert await job_count(session) == 0


@pytest.mark.parametrize(
    ("overrides", "title"),
    [
        pytest.param({"pic_team": "no-such-team"}, "Invalid PIC team", id="unknown team"),
        pytest.param({"pic_team": "Retired"}, "Invalid PIC team", id="inactive team"),
        pytest.param({"category": "no-such-category"}, "Invalid category", id="unknown category"),
        pytest.param({"category": "Archived"}, "Invalid category", id="inactive category"),
    ],
)
async def test_unknown_or_inactive_references_are_400(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
    overrides: dict[str, Any],
    title: str,
) -> None:
    await create_team(session, name="Retired", is_active=False)
    await create_category(session, name="Archived", is_active=False)

    response = await client.post(
        JOBS, json={**job_payload(team.slug), **overrides}, headers=member_headers
    )

    assert response.status_code == 400
    assert response.json()["error"] == title


async def test_private_targets_are_allowed_when_the_operator_says_so(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    member_headers: dict[str, str],
    team: PicTeam,
    settings: Settings,
) -> None:
    # An app of its own: the guard its lifespan builds follows ALLOW_PRIVATE_TARGETS.
    permissive = create_app(settings.model_copy(update={"allow_private_targets": True}), clock)
    async with permissive.router.lifespan_context(permissive):
        permissive.state.sessionmaker = sessionmaker
        transport = httpx.ASGITransport(app=permissive)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                JOBS,
                json=job_payload(team.slug, target_url="http://127.0.0.1:9000/hook"),
                headers=member_headers,
            )

    assert response.status_code == 201, response.text


async def test_unresolvable_hosts_are_accepted_and_checked_again_at_run_time(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    body = job_payload(team.slug, target_url="https://not-yet-in-dns.example.net/hook")

    response = await client.post(JOBS, json=body, headers=member_headers)

    assert response.status_code == 201, response.text


# --- read ----------------------------------------------------------------------------------------


async def test_get_job(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    member: User,
    team: PicTeam,
    session: AsyncSession,
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug, name="Readable")

    response = await client.get(f"{JOBS}/{job.id}", headers=viewer_headers)

    assert response.status_code == 200
    assert set(response.json()) == {"job"}
    assert response.json()["job"]["name"] == "Readable"
    assert set(response.json()["job"]) == JOB_KEYS


@pytest.mark.parametrize(("job_id", "status"), [(str(uuid.uuid4()), 404), ("not-a-uuid", 404)])
async def test_get_unknown_job(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], job_id: str, status: int
) -> None:
    response = await client.get(f"{JOBS}/{job_id}", headers=viewer_headers)

    assert response.status_code == status
    assert set(response.json()) == {"error", "message", "details"}


async def test_anonymous_requests_are_401(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", JOBS), ("POST", JOBS), ("GET", f"{JOBS}/{uuid.uuid4()}")]:
        response = await client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer"


# --- listing -------------------------------------------------------------------------------------


async def test_list_paginates(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin: User,
    team: PicTeam,
    session: AsyncSession,
) -> None:
    for index in range(25):
        await create_job(session, owner=admin, pic_team=team.slug, name=f"job-{index:02d}")

    first = await client.get(JOBS, params={"per_page": 10, "sort": "name"}, headers=viewer_headers)
    last = await client.get(
        JOBS, params={"per_page": 10, "page": 3, "sort": "name"}, headers=viewer_headers
    )
    beyond = await client.get(JOBS, params={"per_page": 10, "page": 9}, headers=viewer_headers)

    assert first.status_code == 200
    body = first.json()
    assert {key: body[key] for key in ("count", "total", "page", "per_page", "total_pages")} == {
        "count": 10,
        "total": 25,
        "page": 1,
        "per_page": 10,
        "total_pages": 3,
    }
    assert [job["name"] for job in body["jobs"]] == [f"job-{i:02d}" for i in range(10)]
    assert last.json()["count"] == 5
    assert [job["name"] for job in last.json()["jobs"]] == [f"job-{i:02d}" for i in range(20, 25)]
    assert beyond.json()["count"] == 0
    assert beyond.json()["total"] == 25


async def test_list_defaults_to_twenty_newest_first(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin: User,
    team: PicTeam,
    session: AsyncSession,
) -> None:
    for index in range(22):
        await create_job(session, owner=admin, pic_team=team.slug, name=f"job-{index:02d}")

    body = (await client.get(JOBS, headers=viewer_headers)).json()

    assert (body["count"], body["per_page"], body["page"]) == (20, 20, 1)
    assert body["jobs"][0]["name"] == "job-21"


async def test_list_filters(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin: User,
    member: User,
    team: PicTeam,
    session: AsyncSession,
) -> None:
    other_team = await create_team(session, name="Billing")
    reports = await create_category(session, name="Reports")
    await create_job(session, owner=admin, pic_team=team.slug, name="Daily Sales Report")
    await create_job(session, owner=member, pic_team=other_team.slug, name="weekly SALES sync")
    await create_job(
        session, owner=member, pic_team=team.slug, name="cleanup", category=reports.slug
    )
    await create_job(session, owner=admin, pic_team=team.slug, name="100%_done", is_active=False)

    async def names(**params: Any) -> list[str]:
        response = await client.get(JOBS, params={"sort": "name", **params}, headers=viewer_headers)
        assert response.status_code == 200, response.text
        return [job["name"] for job in response.json()["jobs"]]

    assert await names(search="sales") == ["Daily Sales Report", "weekly SALES sync"]
    assert await names(search="%_") == ["100%_done"]
    assert await names(pic_team="billing") == ["weekly SALES sync"]
    assert await names(category="reports") == ["cleanup"]
    assert await names(is_active="false") == ["100%_done"]
    assert await names(created_by=str(member.id)) == ["cleanup", "weekly SALES sync"]
    assert await names(created_by=str(member.id), search="clean", is_active="true") == ["cleanup"]


async def test_list_sorts(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin: User,
    team: PicTeam,
    session: AsyncSession,
) -> None:
    await create_job(
        session, owner=admin, pic_team=team.slug, name="b", cron_expression="0 3 * * *"
    )
    await create_job(
        session, owner=admin, pic_team=team.slug, name="a", cron_expression="0 5 * * *"
    )
    await create_job(session, owner=admin, pic_team=team.slug, name="c", is_active=False)
    await create_job(
        session, owner=admin, pic_team=team.slug, name="d", cron_expression="0 1 * * *"
    )

    async def names(sort: str) -> list[str]:
        response = await client.get(JOBS, params={"sort": sort}, headers=viewer_headers)
        return [job["name"] for job in response.json()["jobs"]]

    assert await names("name") == ["a", "b", "c", "d"]
    assert await names("-name") == ["d", "c", "b", "a"]
    assert await names("-created_at") == ["d", "c", "a", "b"]
    # Paused jobs have no next execution: they come last either way.
    assert await names("next_execution_at") == ["d", "b", "a", "c"]
    assert await names("-next_execution_at") == ["a", "b", "d", "c"]


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": 101},
        {"per_page": 0},
        {"page": 0},
        {"sort": "password"},
        {"is_active": "maybe"},
        {"created_by": "someone"},
        {"search": "a\x00b"},
    ],
)
async def test_list_rejects_bad_query_parameters(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], params: dict[str, Any]
) -> None:
    response = await client.get(JOBS, params=params, headers=viewer_headers)

    assert response.status_code == 422
    assert fields_of(response) == {f"query.{next(iter(params))}"}


@pytest.fixture
def job_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    """SQL statements reading the job or the job_execution table, as they are sent."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statement = args[2]
        if re.search(r"\bFROM job(_execution)?\b", statement):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_list_uses_three_queries_whatever_the_page_size(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin: User,
    team: PicTeam,
    session: AsyncSession,
    job_queries: list[str],
) -> None:
    async def jobs_that_ran(prefix: str, count: int) -> None:
        for index in range(count):
            job = await create_job(
                session, owner=admin, pic_team=team.slug, name=f"{prefix}-{index}"
            )
            for hours in (1, 2):
                await create_execution(session, job, scheduled_for=NOW - timedelta(hours=hours))

    await jobs_that_ran("small", 3)
    await client.get(JOBS, headers=viewer_headers)
    small = len(job_queries)
    job_queries.clear()
    await jobs_that_ran("big", 60)

    response = await client.get(JOBS, params={"per_page": 100}, headers=viewer_headers)

    assert response.json()["count"] == 63
    assert all(job["last_execution"] is not None for job in response.json()["jobs"])
    # The page, its count, and the latest executions of the page's jobs (services/job.py).
    assert small == len(job_queries) == 3


async def test_get_reads_the_job_and_its_latest_execution_in_one_query(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin: User,
    team: PicTeam,
    session: AsyncSession,
    job_queries: list[str],
) -> None:
    job = await create_job(session, owner=admin, pic_team=team.slug, name="one-query")
    await create_execution(session, job, scheduled_for=NOW - timedelta(hours=2))
    newest = await create_execution(session, job, scheduled_for=NOW - timedelta(hours=1))
    job_queries.clear()

    response = await client.get(f"{JOBS}/{job.id}", headers=viewer_headers)

    assert response.json()["job"]["last_execution"]["id"] == str(newest.id)
    assert len(job_queries) == 1


async def test_each_job_shows_its_latest_execution(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    await create_job(session, owner=member, pic_team=team.slug, name="never-ran")
    retried = await create_job(session, owner=member, pic_team=team.slug, name="retried")
    manual = await create_job(session, owner=member, pic_team=team.slug, name="manual")
    slot = NOW - timedelta(hours=1)
    # An older success, then the newest slot's two attempts: the second one is the latest.
    await create_execution(session, retried, scheduled_for=NOW - timedelta(hours=2))
    await create_execution(session, retried, scheduled_for=slot, status=ExecutionStatus.FAILED)
    second = await create_execution(
        session, retried, scheduled_for=slot, status=ExecutionStatus.FAILED, attempt=2
    )
    await create_execution(session, manual, scheduled_for=slot, status=ExecutionStatus.MISSED)
    running = await create_execution(
        session,
        manual,
        scheduled_for=NOW - timedelta(minutes=1),
        status=ExecutionStatus.RUNNING,
        trigger_type=TriggerType.MANUAL,
    )

    listed = await client.get(JOBS, params={"sort": "name"}, headers=viewer_headers)
    one = await client.get(f"{JOBS}/{retried.id}", headers=viewer_headers)
    paused = await client.post(f"{JOBS}/{manual.id}/pause", headers=member_headers)

    latest = {job["name"]: job["last_execution"] for job in listed.json()["jobs"]}
    assert latest["never-ran"] is None
    assert latest["retried"] == {
        "id": str(second.id),
        "status": "failed",
        "trigger_type": "scheduled",
        "attempt": 2,
        "scheduled_for": "2026-05-31T23:00:00Z",
        "started_at": "2026-05-31T23:00:00Z",
        "completed_at": "2026-05-31T23:00:01Z",
    }
    assert latest["manual"]["id"] == str(running.id)
    assert (latest["manual"]["status"], latest["manual"]["completed_at"]) == ("running", None)
    assert one.json()["job"]["last_execution"] == latest["retried"]
    assert paused.json()["job"]["last_execution"] == latest["manual"]


# --- update --------------------------------------------------------------------------------------


@pytest.fixture
async def owned_job(session: AsyncSession, member: User, team: PicTeam) -> Job:
    return await create_job(
        session, owner=member, pic_team=team.slug, name="Owned", job_metadata={"a": 1}
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_changes_only_the_fields_sent(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    owned_job: Job,
    method: str,
) -> None:
    response = await client.request(
        method,
        f"{JOBS}/{owned_job.id}",
        json={"name": "Renamed", "metadata": {"b": 2}, "max_retries": 2},
        headers=member_headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Job updated successfully"
    job = response.json()["job"]
    assert (job["name"], job["metadata"], job["max_retries"]) == ("Renamed", {"b": 2}, 2)
    assert job["cron_expression"] == "0 2 * * *"
    assert job["target_url"] == owned_job.target_url
    assert job["next_execution_at"] == "2026-06-02T02:00:00+09:00"


async def test_changing_the_schedule_moves_the_next_run(
    client: httpx.AsyncClient, member_headers: dict[str, str], owned_job: Job
) -> None:
    cron = await client.put(
        f"{JOBS}/{owned_job.id}", json={"cron_expression": "30 12 * * *"}, headers=member_headers
    )
    zone = await client.put(
        f"{JOBS}/{owned_job.id}", json={"timezone": "Europe/Berlin"}, headers=member_headers
    )

    assert cron.json()["job"]["next_execution_at"] == "2026-06-01T12:30:00+09:00"
    assert zone.json()["job"]["next_execution_at"] == "2026-06-01T12:30:00+02:00"


async def test_switching_target_kind_needs_the_other_cleared(
    client: httpx.AsyncClient, member_headers: dict[str, str], owned_job: Job
) -> None:
    github = {"github_owner": "acme", "github_repo": "etl", "github_workflow_name": "run.yml"}

    both = await client.patch(f"{JOBS}/{owned_job.id}", json=github, headers=member_headers)
    switched = await client.patch(
        f"{JOBS}/{owned_job.id}", json={**github, "target_url": None}, headers=member_headers
    )
    emptied = await client.patch(
        f"{JOBS}/{owned_job.id}",
        json={"github_repo": None, "github_workflow_name": None},
        headers=member_headers,
    )

    assert both.status_code == 422
    assert fields_of(both) == {"body.target_url"}
    assert switched.status_code == 200, switched.text
    assert switched.json()["job"]["target_url"] is None
    assert switched.json()["job"]["github_repo"] == "etl"
    assert emptied.status_code == 422
    assert fields_of(emptied) == {"body.target_url"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": None}, 422, "body.name"),
        ({"cron_expression": "bad"}, 422, "body.cron_expression"),
        ({"end_date": "2026-05-01"}, 422, "body.end_date"),
        ({"target_url": "http://10.1.2.3/"}, 422, "body.target_url"),
        ({"is_active": None}, 422, "body.is_active"),
        ({"id": str(uuid.uuid4())}, 422, "body.id"),
        ({"pic_team": "nobody"}, 400, None),
        ({}, 400, None),
    ],
)
async def test_update_validation(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    owned_job: Job,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    response = await client.put(f"{JOBS}/{owned_job.id}", json=body, headers=member_headers)

    assert response.status_code == status, response.text
    if field is not None:
        assert field in fields_of(response)


async def test_rename_to_a_taken_name_is_409(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    owned_job: Job,
    member: User,
    team: PicTeam,
    session: AsyncSession,
) -> None:
    await create_job(session, owner=member, pic_team=team.slug, name="Taken")

    response = await client.put(
        f"{JOBS}/{owned_job.id}", json={"name": "Taken"}, headers=member_headers
    )
    same = await client.put(
        f"{JOBS}/{owned_job.id}", json={"name": "Owned"}, headers=member_headers
    )

    assert response.status_code == 409
    assert same.status_code == 200


async def test_an_expired_job_cannot_be_enabled_or_resumed(
    client: httpx.AsyncClient,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    job = await create_job(
        session, owner=member, pic_team=team.slug, end_date=date(2026, 5, 31), is_active=False
    )

    enable = await client.put(f"{JOBS}/{job.id}", json={"is_active": True}, headers=member_headers)
    resume = await client.post(f"{JOBS}/{job.id}/resume", headers=member_headers)
    extended = await client.put(
        f"{JOBS}/{job.id}",
        json={"is_active": True, "end_date": "2026-07-01"},
        headers=member_headers,
    )

    assert enable.status_code == 400
    assert resume.status_code == 400
    assert resume.json()["error"] == "Job expired"
    assert extended.status_code == 200, extended.text
    assert extended.json()["job"]["next_execution_at"] == "2026-06-02T02:00:00+09:00"


# --- pause, resume, delete -----------------------------------------------------------------------


async def test_pause_and_resume(
    client: httpx.AsyncClient,
    member: User,
    member_headers: dict[str, str],
    owned_job: Job,
    settings: Settings,
    clock: FrozenClock,
    session: AsyncSession,
) -> None:
    paused = await client.post(f"{JOBS}/{owned_job.id}/pause", headers=member_headers)
    clock.set(datetime(2026, 6, 10, 3, 0, tzinfo=UTC))  # 12:00 in Tokyo
    resumed = await client.post(
        f"{JOBS}/{owned_job.id}/resume", headers=auth_headers(settings, clock, member)
    )

    assert paused.status_code == 200
    assert paused.json()["message"] == "Job paused successfully"
    assert paused.json()["job"]["is_active"] is False
    assert paused.json()["job"]["next_execution_at"] is None
    assert resumed.status_code == 200
    assert resumed.json()["message"] == "Job resumed successfully"
    assert resumed.json()["job"]["is_active"] is True
    # No catch-up of the slots missed while paused: the next one after now.
    assert resumed.json()["job"]["next_execution_at"] == "2026-06-11T02:00:00+09:00"
    await session.refresh(owned_job)
    assert owned_job.next_run_at == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)


async def test_delete_removes_the_job_and_its_executions(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    owned_job: Job,
    session: AsyncSession,
) -> None:
    session.add(
        JobExecution(
            job_id=owned_job.id,
            trigger_type=TriggerType.MANUAL,
            execution_type=ExecutionType.WEBHOOK,
            scheduled_for=datetime(2026, 5, 31, tzinfo=UTC),
        )
    )
    await session.flush()

    response = await client.delete(f"{JOBS}/{owned_job.id}", headers=member_headers)
    again = await client.get(f"{JOBS}/{owned_job.id}", headers=member_headers)

    assert response.status_code == 200
    assert response.json() == {
        "message": "Job deleted successfully",
        "deleted_job": {"id": str(owned_job.id), "name": "Owned"},
    }
    assert again.status_code == 404
    executions = select(func.count()).select_from(JobExecution)
    assert (await session.execute(executions)).scalar_one() == 0


# --- RBAC ----------------------------------------------------------------------------------------

WRITES = [
    ("PUT", "", {"max_retries": 1}),
    ("PATCH", "", {"max_retries": 1}),
    ("POST", "/pause", None),
    ("POST", "/resume", None),
    ("DELETE", "", None),
]


@pytest.fixture
async def headers_of(
    session: AsyncSession,
    settings: Settings,
    clock: FrozenClock,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    viewer_headers: dict[str, str],
) -> dict[str, dict[str, str]]:
    """Headers by actor: the owner of `owned_job` is `member`; `other_member` is another user."""
    other_member = await create_user(session, role=UserRole.USER)
    return {
        "admin": admin_headers,
        "member": member_headers,
        "other_member": auth_headers(settings, clock, other_member),
        "viewer": viewer_headers,
    }


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("admin", 200),
        ("member", 200),
        ("other_member", 403),
        ("viewer", 403),
    ],
)
async def test_rbac_on_job_writes(
    headers_of: dict[str, dict[str, str]],
    client: httpx.AsyncClient,
    owned_job: Job,
    session: AsyncSession,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
    actor: str,
    status: int,
) -> None:
    headers = headers_of[actor]

    response = await client.request(
        method, f"{JOBS}/{owned_job.id}{suffix}", json=body, headers=headers
    )

    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["error"] == "Forbidden"
        assert await job_count(session) == 1


@pytest.mark.parametrize(
    ("actor", "status"),
    [("admin", 201), ("member", 201), ("viewer", 403)],
)
async def test_rbac_on_create(
    headers_of: dict[str, dict[str, str]],
    client: httpx.AsyncClient,
    team: PicTeam,
    actor: str,
    status: int,
) -> None:
    response = await client.post(JOBS, json=job_payload(team.slug), headers=headers_of[actor])

    assert response.status_code == status


@pytest.mark.parametrize("actor", ["admin", "member", "viewer"])
async def test_every_role_reads_and_uses_cron_tools(
    headers_of: dict[str, dict[str, str]], client: httpx.AsyncClient, owned_job: Job, actor: str
) -> None:
    headers = headers_of[actor]
    cron_body = {"cron_expression": "0 2 * * *"}

    responses = [
        await client.get(JOBS, headers=headers),
        await client.get(f"{JOBS}/{owned_job.id}", headers=headers),
        await client.post(f"{JOBS}/validate-cron", json=cron_body, headers=headers),
        await client.post(f"{JOBS}/cron-preview", json=cron_body, headers=headers),
    ]

    assert [response.status_code for response in responses] == [200, 200, 200, 200]


async def test_viewer_forbidden_even_with_an_invalid_body(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.post(JOBS, json={"name": ""}, headers=viewer_headers)

    assert response.status_code == 403


# --- cron tools ----------------------------------------------------------------------------------


async def test_validate_cron(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> None:
    valid = await client.post(
        f"{JOBS}/validate-cron", json={"cron_expression": " 0  2 * * *"}, headers=viewer_headers
    )
    invalid = await client.post(
        f"{JOBS}/validate-cron", json={"cron_expression": "0 2 * *"}, headers=viewer_headers
    )
    bad_zone = await client.post(
        f"{JOBS}/validate-cron",
        json={"cron_expression": "0 2 * * *", "timezone": "Nowhere/City"},
        headers=viewer_headers,
    )

    assert valid.status_code == invalid.status_code == bad_zone.status_code == 200
    assert valid.json() == {
        "valid": True,
        "cron_expression": "0 2 * * *",
        "description": "At 02:00 AM",
    }
    assert invalid.json()["valid"] is False
    assert "5 fields" in invalid.json()["error"]
    assert set(invalid.json()) == {"valid", "error"}
    assert bad_zone.json()["valid"] is False


@pytest.mark.parametrize("expression", ["", "* * * * * * *", "99 99 99 99 99", "R * * * *", "💥"])
async def test_validate_cron_always_answers_200(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], expression: str
) -> None:
    response = await client.post(
        f"{JOBS}/validate-cron", json={"cron_expression": expression}, headers=viewer_headers
    )

    assert response.status_code == 200
    assert response.json()["valid"] is False


async def test_cron_preview_defaults(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{JOBS}/cron-preview", json={"cron_expression": "0 2 * * *"}, headers=viewer_headers
    )

    assert response.status_code == 200
    assert response.json() == {
        "cron_expression": "0 2 * * *",
        "timezone": "Asia/Tokyo",
        "count": 5,
        "next_runs": [f"2026-06-0{day}T02:00:00+09:00" for day in range(2, 7)],
    }


PreviewAt = Callable[[datetime, dict[str, Any]], Awaitable[list[str]]]
BERLIN_0230 = {"cron_expression": "30 2 * * *", "timezone": "Europe/Berlin", "count": 6}


@pytest.fixture
def preview_at(
    client: httpx.AsyncClient, viewer: User, settings: Settings, clock: FrozenClock
) -> PreviewAt:
    """The next runs POST /jobs/cron-preview lists for `body`, asked by a viewer at `instant`."""

    async def preview(instant: datetime, body: dict[str, Any]) -> list[str]:
        clock.set(instant)
        headers = auth_headers(settings, clock, viewer)
        response = await client.post(f"{JOBS}/cron-preview", json=body, headers=headers)
        runs: list[str] = response.json()["next_runs"]
        return runs

    return preview


async def test_cron_preview_berlin_spring_forward(preview_at: PreviewAt) -> None:
    runs = await preview_at(datetime(2026, 3, 26, 12, tzinfo=UTC), BERLIN_0230)

    assert runs == [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist: first instant after the gap
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
        "2026-04-01T02:30:00+02:00",
    ]
    assert len({run[:10] for run in runs}) == 6


async def test_cron_preview_berlin_fall_back(preview_at: PreviewAt) -> None:
    runs = await preview_at(datetime(2026, 10, 22, 12, tzinfo=UTC), BERLIN_0230)

    assert runs == [
        "2026-10-23T02:30:00+02:00",
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",  # the repeated 02:30 fires once
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
        "2026-10-28T02:30:00+01:00",
    ]
    assert len(set(runs)) == len({run[:10] for run in runs}) == 6


async def test_cron_preview_new_york_weekdays(preview_at: PreviewAt) -> None:
    runs = await preview_at(
        datetime(2026, 3, 5, tzinfo=UTC),
        {"cron_expression": "0 9 * * 1-5", "timezone": "America/New_York", "count": 4},
    )

    instants = [datetime.fromisoformat(run).astimezone(UTC) for run in runs]
    assert instants == [
        datetime(2026, 3, 5, 14, tzinfo=UTC),
        datetime(2026, 3, 6, 14, tzinfo=UTC),
        datetime(2026, 3, 9, 13, tzinfo=UTC),
        datetime(2026, 3, 10, 13, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"cron_expression": "0 2 * *"}, 400),
        ({"cron_expression": "0 0 31 2 *"}, 400),
        ({"cron_expression": "0 2 * * *", "count": 51}, 422),
        ({"cron_expression": "0 2 * * *", "count": 0}, 422),
        ({"cron_expression": "0 2 * * *", "timezone": "Nowhere/City"}, 422),
        ({}, 422),
    ],
)
async def test_cron_preview_errors(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], body: dict[str, Any], status: int
) -> None:
    response = await client.post(f"{JOBS}/cron-preview", json=body, headers=viewer_headers)

    assert response.status_code == status
    if status == 400:
        assert response.json()["error"] == "Invalid cron expression"

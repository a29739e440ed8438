"""The audit log: each audited action leaves exactly one entry, with the right actor, request
id and client address, and secrets redacted; a rolled-back request leaves none; listings,
filters and who may read them; retention."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import (
    AddressGuardDep,
    AuditServiceDep,
    ClockDep,
    SessionDep,
    SettingsDep,
    get_job_service,
)
from core.enums import AuditAction, AuditResource
from models.audit_entry import AuditEntry
from models.job import Job
from models.pic_team import PicTeam
from models.user import User
from scheduler.dispatcher import Dispatcher
from scheduler.retention import RetentionWorker, default_rules
from services.audit import AuditService
from services.job import JobService, JobView
from tests.api.v1.test_auth import client_at, login
from tests.api.v1.test_job_runs import own_job  # noqa: F401 (fixture; `dispatcher` is in conftest)
from tests.conftest import make_settings
from tests.support.clock import FrozenClock
from tests.support.factories import create_user
from tests.support.fake_dns import FakeResolver
from tests.support.job_factories import create_job, job_payload

AUDIT = "/api/v1/audit-log"
SECRET_URL = "https://hooks.slack.com/services/T000/B000/very-secret-token"


async def entries(session: AsyncSession) -> list[AuditEntry]:
    rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.occurred_at))
    return list(rows)


async def only_entry(
    session: AsyncSession,
    action: AuditAction,
    *,
    actor: User | None,
    api_key_id: uuid.UUID | None = None,
) -> AuditEntry:
    """The one entry the test's requests left, which must be `action` by `actor` (None: the
    system or nobody signed in), through the API key `api_key_id` if one was used."""
    found = await entries(session)
    assert [entry.action for entry in found] == [action.value], [e.action for e in found]
    assert (found[0].actor_user_id, found[0].actor_api_key_id) == (
        None if actor is None else actor.id,
        api_key_id,
    )
    for entry in found:
        await session.delete(entry)
    await session.flush()
    return found[0]


def with_request_id(headers: dict[str, str], request_id: str) -> dict[str, str]:
    return {**headers, "X-Request-ID": request_id}


# --- jobs -----------------------------------------------------------------------------------


async def test_each_job_change_leaves_one_entry_by_its_actor(
    client: httpx.AsyncClient,
    session: AsyncSession,
    fake_dns: FakeResolver,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    created = await client.post(
        "/api/v1/jobs",
        json=job_payload(team.slug, name="nightly"),
        headers=with_request_id(member_headers, "req-create-1"),
    )
    assert created.status_code == 201, created.text
    job_id = uuid.UUID(created.json()["job"]["id"])
    entry = await only_entry(session, AuditAction.JOB_CREATED, actor=member)
    assert (entry.resource_type, entry.resource_id) == ("job", job_id)
    assert entry.request_id == "req-create-1"
    assert entry.client_address == "127.0.0.1"
    assert entry.details == {"name": "nightly"}

    updated = await client.put(
        f"/api/v1/jobs/{job_id}",
        json={"name": "nightly-2", "cron_expression": "0 2 * * *", "max_retries": 3},
        headers=member_headers,
    )
    assert updated.status_code == 200, updated.text
    entry = await only_entry(session, AuditAction.JOB_UPDATED, actor=member)
    # Only what changed (the cron expression was sent unchanged), before → after.
    assert entry.changes == {
        "name": {"before": "nightly", "after": "nightly-2"},
        "max_retries": {"before": 0, "after": 3},
    }

    metadata = await client.patch(
        f"/api/v1/jobs/{job_id}", json={"metadata": {"a": 1}}, headers=member_headers
    )
    assert metadata.status_code == 200
    entry = await only_entry(session, AuditAction.JOB_UPDATED, actor=member)
    assert entry.changes == {"metadata": {"before": {}, "after": {"a": 1}}}

    for path, action in (("pause", AuditAction.JOB_PAUSED), ("resume", AuditAction.JOB_RESUMED)):
        response = await client.post(f"/api/v1/jobs/{job_id}/{path}", headers=member_headers)
        assert response.status_code == 200
        entry = await only_entry(session, action, actor=member)
        assert entry.resource_id == job_id

    deleted = await client.delete(f"/api/v1/jobs/{job_id}", headers=member_headers)
    assert deleted.status_code == 200
    entry = await only_entry(session, AuditAction.JOB_DELETED, actor=member)
    assert entry.resource_id == job_id
    assert entry.details == {"name": "nightly-2"}


async def test_header_changes_show_secret_values_redacted_and_rotations_are_recorded(
    client: httpx.AsyncClient,
    session: AsyncSession,
    fake_dns: FakeResolver,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    secret_header = {"name": "Authorization", "value": "Bearer s3cr3t-first", "secret": True}
    created = await client.post(
        "/api/v1/jobs",
        json=job_payload(team.slug, headers=[secret_header]),
        headers=member_headers,
    )
    assert created.status_code == 201, created.text
    job_id = uuid.UUID(created.json()["job"]["id"])
    await only_entry(session, AuditAction.JOB_CREATED, actor=member)

    updated = await client.patch(
        f"/api/v1/jobs/{job_id}",
        json={
            "headers": [
                {**secret_header, "value": "Bearer s3cr3t-second"},
                {"name": "X-Team", "value": "data", "secret": False},
            ]
        },
        headers=member_headers,
    )
    assert updated.status_code == 200, updated.text
    entry = await only_entry(session, AuditAction.JOB_UPDATED, actor=member)
    redacted = {"name": "Authorization", "value": "[redacted]", "secret": True}
    assert entry.changes == {
        "headers": {
            "before": [redacted],
            "after": [redacted, {"name": "X-Team", "value": "data", "secret": False}],
        }
    }
    # Neither the plaintext nor its ciphertext is in the entry.
    job = await session.get(Job, job_id, populate_existing=True)
    assert job is not None
    assert "s3cr3t" not in str(entry.changes)
    assert job.headers[0]["value"] not in str(entry.changes)

    rotated = await client.post(f"/api/v1/jobs/{job_id}/signing-secret", headers=member_headers)
    assert rotated.status_code == 200, rotated.text
    entry = await only_entry(session, AuditAction.JOB_SIGNING_SECRET_ROTATED, actor=member)
    assert entry.resource_id == job_id
    assert entry.changes is None
    assert entry.details is None


async def test_a_change_that_changes_nothing_leaves_no_entry(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug, is_active=False)
    same = await client.put(
        f"/api/v1/jobs/{job.id}", json={"name": job.name}, headers=member_headers
    )
    assert same.status_code == 200
    paused = await client.post(f"/api/v1/jobs/{job.id}/pause", headers=member_headers)
    assert paused.status_code == 200
    assert await entries(session) == []


async def test_policy_changes_are_recorded_as_json_values(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug, is_active=False)
    changed = await client.put(
        f"/api/v1/jobs/{job.id}",
        json={
            "concurrency_policy": "forbid",
            "catchup": "all",
            "misfire_grace_seconds": 90,
            "min_backoff_seconds": 2.5,
            "max_doublings": 3,
        },
        headers=member_headers,
    )
    assert changed.status_code == 200, changed.text
    entry = await only_entry(session, AuditAction.JOB_UPDATED, actor=member)
    assert entry.changes is not None
    assert entry.changes["concurrency_policy"] == {"before": "allow", "after": "forbid"}
    assert entry.changes["catchup"] == {"before": "latest", "after": "all"}
    assert entry.changes["misfire_grace_seconds"] == {"before": None, "after": 90}
    assert entry.changes["min_backoff_seconds"]["after"] == 2.5
    assert entry.changes["max_doublings"]["after"] == 3


async def test_a_manual_run_is_recorded_with_the_token_redacted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    dispatcher: Dispatcher,  # noqa: F811
    own_job: Job,  # noqa: F811
    member: User,
    member_headers: dict[str, str],
) -> None:
    response = await client.post(
        f"/api/v1/jobs/{own_job.id}/execute",
        json={"github_token": "ghp_secret_token_value"},
        headers=member_headers,
    )
    assert response.status_code == 202, response.text
    await dispatcher.drain(grace_seconds=10)
    entry = await only_entry(session, AuditAction.JOB_RUN, actor=member)
    assert entry.resource_id == own_job.id
    assert entry.details == {
        "execution_id": response.json()["execution"]["id"],
        "metadata_override": False,
        "github_token": "[redacted]",
    }


async def test_a_job_imported_from_csv_is_recorded_as_created(
    client: httpx.AsyncClient,
    session: AsyncSession,
    fake_dns: FakeResolver,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    csv = (
        "Job Name,Cron Schedule (JST),Target URL,PIC Team,End Date\n"
        f"from-csv,0 1 * * *,https://api.example.org/x,{team.slug},2099-01-01\n"
    )
    response = await client.post(
        "/api/v1/jobs/bulk-upload",
        files={"file": ("jobs.csv", csv, "text/csv")},
        headers=member_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["created_count"] == 1
    entry = await only_entry(session, AuditAction.JOB_CREATED, actor=member)
    assert entry.details == {"name": "from-csv"}
    assert entry.resource_id == uuid.UUID(response.json()["jobs"][0]["id"])


# --- a failed request -------------------------------------------------------------------------


class _PauseThenFail(JobService):
    entries_before_failing: list[str] = []

    async def pause(self, job_id: uuid.UUID, actor: User) -> JobView:
        await super().pause(job_id, actor)
        # The change and its entry are in the transaction when the request fails.
        self.entries_before_failing[:] = [entry.action for entry in await entries(self.session)]
        raise RuntimeError("the request fails after the change and its entry were written")


@pytest.fixture
def failing_pause(app: FastAPI) -> Iterator[type[_PauseThenFail]]:
    async def failing_service(
        session: SessionDep,
        settings: SettingsDep,
        clock: ClockDep,
        guard: AddressGuardDep,
        audit: AuditServiceDep,
    ) -> JobService:
        return _PauseThenFail(session, settings, clock, guard, audit=audit)

    app.dependency_overrides[get_job_service] = failing_service
    yield _PauseThenFail
    del app.dependency_overrides[get_job_service]


async def test_a_rolled_back_request_leaves_no_entry(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
    failing_pause: type[_PauseThenFail],
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug)

    response = await client.post(f"/api/v1/jobs/{job.id}/pause", headers=member_headers)

    assert response.status_code == 500
    assert failing_pause.entries_before_failing == ["job.paused"]
    await session.refresh(job)
    assert job.is_active is True  # the change went ...
    assert await entries(session) == []  # ... and its entry with it


# --- users, taxonomies, settings, keys, logins -------------------------------------------------


async def test_user_changes_are_recorded_with_the_password_redacted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: User,
    admin_headers: dict[str, str],
) -> None:
    registered = await client.post(
        "/api/v1/auth/register",
        json={"username": "grace", "email": "grace@example.com", "password": "first-password-1"},
        headers=admin_headers,
    )
    assert registered.status_code == 201
    user_id = uuid.UUID(registered.json()["user"]["id"])
    entry = await only_entry(session, AuditAction.USER_REGISTERED, actor=admin)
    assert entry.resource_id == user_id
    assert entry.details == {"username": "grace", "email": "grace@example.com", "role": "viewer"}

    updated = await client.put(
        f"/api/v1/auth/users/{user_id}",
        json={"role": "user", "is_active": False, "password": "second-password-2"},
        headers=admin_headers,
    )
    assert updated.status_code == 200
    entry = await only_entry(session, AuditAction.USER_UPDATED, actor=admin)
    assert entry.resource_id == user_id
    assert entry.changes == {
        "role": {"before": "viewer", "after": "user"},
        "is_active": {"before": True, "after": False},
        "password": {"before": "[redacted]", "after": "[redacted]"},
    }

    deleted = await client.delete(f"/api/v1/auth/users/{user_id}", headers=admin_headers)
    assert deleted.status_code == 200
    entry = await only_entry(session, AuditAction.USER_DELETED, actor=admin)
    assert entry.resource_id == user_id
    listed = await client.get(AUDIT, headers=admin_headers)
    assert "password-" not in listed.text


@pytest.mark.parametrize(
    ("path", "key", "resource", "actions"),
    [
        (
            "/api/v1/job-categories",
            "category",
            AuditResource.JOB_CATEGORY,
            (
                AuditAction.CATEGORY_CREATED,
                AuditAction.CATEGORY_UPDATED,
                AuditAction.CATEGORY_DISABLED,
            ),
        ),
        (
            "/api/v1/pic-teams",
            "pic_team",
            AuditResource.PIC_TEAM,
            (
                AuditAction.PIC_TEAM_CREATED,
                AuditAction.PIC_TEAM_UPDATED,
                AuditAction.PIC_TEAM_DISABLED,
            ),
        ),
    ],
)
async def test_category_and_team_changes_are_recorded(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: User,
    admin_headers: dict[str, str],
    path: str,
    key: str,
    resource: AuditResource,
    actions: tuple[AuditAction, AuditAction, AuditAction],
) -> None:
    body: dict[str, Any] = {"name": "Billing"}
    if key == "pic_team":
        body["slack_handle"] = "@billing"
    created = await client.post(path, json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    item_id = uuid.UUID(created.json()[key]["id"])
    entry = await only_entry(session, actions[0], actor=admin)
    assert (entry.resource_type, entry.resource_id) == (resource.value, item_id)

    renamed = await client.put(
        f"{path}/{item_id}", json={"name": "Payments"}, headers=admin_headers
    )
    assert renamed.status_code == 200, renamed.text
    entry = await only_entry(session, actions[1], actor=admin)
    assert entry.resource_id == item_id
    assert entry.changes == {
        "name": {"before": "Billing", "after": "Payments"},
        "slug": {"before": "billing", "after": "payments"},
    }

    assert (await client.delete(f"{path}/{item_id}", headers=admin_headers)).status_code == 200
    entry = await only_entry(session, actions[2], actor=admin)
    assert entry.resource_id == item_id
    # Disabling what is disabled changes nothing.
    assert (await client.delete(f"{path}/{item_id}", headers=admin_headers)).status_code == 200
    assert await entries(session) == []


async def test_slack_settings_changes_never_show_the_webhook(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: User,
    admin_headers: dict[str, str],
) -> None:
    response = await client.put(
        "/api/v1/settings/slack",
        json={"is_enabled": True, "webhook_url": SECRET_URL, "channel": "#ops"},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    entry = await only_entry(session, AuditAction.SLACK_SETTINGS_UPDATED, actor=admin)
    assert entry.changes == {
        "is_enabled": {"before": False, "after": True},
        "webhook_url": {"before": None, "after": "[redacted]"},
        "channel": {"before": None, "after": "#ops"},
    }
    await client.put(
        "/api/v1/settings/slack", json={"webhook_url": SECRET_URL + "2"}, headers=admin_headers
    )
    listed = await client.get(AUDIT, headers=admin_headers)
    assert "very-secret-token" not in listed.text
    assert listed.json()["entries"][0]["changes"] == {
        "webhook_url": {"before": "[redacted]", "after": "[redacted]"}
    }


async def test_api_keys_are_recorded_and_requests_made_with_a_key_name_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    created = await client.post(
        "/api/v1/auth/api-keys", json={"name": "ci", "scope": "write"}, headers=member_headers
    )
    key, key_id = created.json()["key"], uuid.UUID(created.json()["api_key"]["id"])
    entry = await only_entry(session, AuditAction.API_KEY_CREATED, actor=member)
    assert entry.resource_id == key_id
    assert entry.details is not None
    assert entry.details["scope"] == "write"
    assert key not in str(entry.details)

    job = await create_job(session, owner=member, pic_team=team.slug)
    paused = await client.post(
        f"/api/v1/jobs/{job.id}/pause", headers={"Authorization": f"Bearer {key}"}
    )
    assert paused.status_code == 200
    await only_entry(session, AuditAction.JOB_PAUSED, actor=member, api_key_id=key_id)

    revoked = await client.delete(f"/api/v1/auth/api-keys/{key_id}", headers=member_headers)
    assert revoked.status_code == 200
    entry = await only_entry(session, AuditAction.API_KEY_REVOKED, actor=member)
    assert entry.resource_id == key_id


async def test_logins_that_succeed_and_logins_the_throttle_refuses_are_recorded(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, member: User
) -> None:
    assert (await login(client, member.username)).status_code == 200
    entry = await only_entry(session, AuditAction.LOGIN_SUCCEEDED, actor=member)
    assert entry.resource_id == member.id

    # Wrong passwords are not audited (the throttle counts them); the refusals are.
    async with client_at(app, "203.0.113.9") as other:
        for _ in range(app.state.settings.login_max_failures):
            assert (await login(other, member.username, "wrong-password")).status_code == 401
        assert await entries(session) == []
        refused = await login(other, member.username)
        assert refused.status_code == 429
    entry = await only_entry(session, AuditAction.LOGIN_THROTTLED, actor=None)
    assert entry.resource_id == member.id
    assert entry.client_address == "203.0.113.9"
    assert entry.details == {"login": member.username}


# --- reading the log --------------------------------------------------------------------------


async def _seed(session: AsyncSession, clock: FrozenClock, **context: Any) -> list[AuditEntry]:
    """Five entries a day apart, the newest today."""
    start = clock.now()
    made = []
    for index in range(5):
        clock.set(start - timedelta(days=4 - index))
        audit = AuditService(session, clock)
        audit.context.actor_user_id = context.get("actor")
        made.append(
            await audit.record(
                AuditAction.JOB_PAUSED if index % 2 else AuditAction.JOB_RESUMED,
                AuditResource.JOB,
                context.get("job"),
            )
        )
    clock.set(start)
    return made


async def test_the_admin_listing_filters_pages_and_puts_the_newest_first(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FrozenClock,
    admin_headers: dict[str, str],
    member: User,
    member_headers: dict[str, str],
) -> None:
    job_id = uuid.uuid4()
    made = await _seed(session, clock, actor=member.id, job=job_id)
    await _seed(session, clock)  # five more by the system, about no resource

    everything = await client.get(AUDIT, params={"per_page": 3}, headers=admin_headers)
    assert everything.status_code == 200
    body = everything.json()
    assert (body["total"], body["page"], body["per_page"], body["total_pages"]) == (10, 1, 3, 4)
    times = [entry["occurred_at"] for entry in body["entries"]]
    assert times == sorted(times, reverse=True)

    mine = await client.get(AUDIT, params={"actor": str(member.id)}, headers=admin_headers)
    assert [e["id"] for e in mine.json()["entries"]] == [str(e.id) for e in reversed(made)]

    by_action = await client.get(
        AUDIT,
        params={"action": "job.paused", "resource_type": "job", "resource_id": str(job_id)},
        headers=admin_headers,
    )
    assert {e["id"] for e in by_action.json()["entries"]} == {str(made[1].id), str(made[3].id)}

    # Same date rules as the other listings: `to` exclusive, a date-only `to` covers that day.
    ranged = await client.get(
        AUDIT,
        params={"actor": str(member.id), "from": "2026-05-29", "to": "2026-05-30"},
        headers=admin_headers,
    )
    assert [e["id"] for e in ranged.json()["entries"]] == [str(made[2].id), str(made[1].id)]
    assert ranged.json()["range"] == {
        "from": "2026-05-29T00:00:00Z",
        "to": "2026-05-31T00:00:00Z",
    }

    bad_date = await client.get(AUDIT, params={"from": "yesterday"}, headers=admin_headers)
    assert bad_date.status_code == 400
    assert bad_date.json()["error"] == "Invalid date"
    unknown = await client.get(AUDIT, params={"action": "job.exploded"}, headers=admin_headers)
    assert unknown.status_code == 422
    assert (await client.get(AUDIT, headers=member_headers)).status_code == 403


async def test_a_jobs_log_is_for_its_owner_and_admins(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FrozenClock,
    member: User,
    member_headers: dict[str, str],
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    team: PicTeam,
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug)
    await _seed(session, clock, actor=member.id, job=job.id)
    await _seed(session, clock, actor=member.id, job=uuid.uuid4())  # another job's
    path = f"/api/v1/jobs/{job.id}/audit-log"

    own = await client.get(path, params={"action": "job.paused"}, headers=member_headers)
    assert own.status_code == 200
    assert own.json()["total"] == 2
    assert (await client.get(path, headers=admin_headers)).json()["total"] == 5
    assert (await client.get(path, headers=viewer_headers)).status_code == 403
    other = await create_user(session)
    assert other.id != member.id
    missing = await client.get(f"/api/v1/jobs/{uuid.uuid4()}/audit-log", headers=admin_headers)
    assert missing.status_code == 404


# --- retention --------------------------------------------------------------------------------


async def test_entries_past_the_retention_are_purged_in_small_batches(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FrozenClock
) -> None:
    audit = AuditService(session, clock)
    now = clock.now()
    ages = [timedelta(days=400), timedelta(days=366), timedelta(days=365, seconds=1)]
    ages += [timedelta(days=365, seconds=-1), timedelta(days=1)]
    for age in ages:
        clock.set(now - age)
        await audit.record(AuditAction.JOB_PAUSED, AuditResource.JOB, None)
    await session.commit()
    clock.set(now)

    settings = make_settings("sqlite+aiosqlite://", audit_retention_days=365)
    batches: list[int] = []
    [rule] = [rule for rule in default_rules(settings, clock) if rule.name == "audit log"]

    async def counted(session: AsyncSession, batch_size: int) -> int:
        deleted = await rule.purge_batch(session, batch_size)
        batches.append(deleted)
        return deleted

    worker = RetentionWorker(
        sessionmaker, [type(rule)(rule.name, counted)], batch_size=2, interval_seconds=3600
    )
    assert await worker.purge() == {"audit log": 3}
    assert batches == [2, 1]
    left = [entry.occurred_at for entry in await entries(session)]
    assert left == [now - timedelta(days=365, seconds=-1), now - timedelta(days=1)]
    assert left[0] > datetime(2025, 1, 1, tzinfo=UTC)

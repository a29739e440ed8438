"""Job request headers: secret values are write-only, encrypted at rest, sent to the target
and nowhere else (responses, logs, executions, notifications, errors)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.secrets import SecretBox, SecretUnreadable, secret_box
from models import (
    AuditEntry,
    Job,
    JobExecution,
    Notification,
    NotificationDelivery,
    PicTeam,
)
from scheduler.dispatcher import Dispatcher
from services import job_secrets
from tests.conftest import make_settings
from tests.support.http_target import HttpTarget, Reply
from tests.support.job_factories import create_job, job_payload

SECRET = "Bearer tok-5ecr3t-7f3a9c"
BASIC_PASSWORD = "hunter2-pw-91"
# How every response shows the headers of headers_body().
SHOWN_HEADERS = [
    {"name": "Authorization", "value": None, "secret": True},
    {"name": "X-Team", "value": "data-platform", "secret": False},
]


def headers_body(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": "Authorization", "value": SECRET, "secret": True},
        {"name": "X-Team", "value": "data-platform"},
        *extra,
    ]


async def stored_headers(sessionmaker: async_sessionmaker[AsyncSession], job_id: str) -> Any:
    async with sessionmaker() as session:
        job = await session.get(Job, uuid.UUID(job_id))
        assert job is not None
        return job.headers


async def test_a_secret_header_reaches_the_target_and_nothing_else(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    team: PicTeam,
    http_target: HttpTarget,
    dispatcher: Dispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
    loopback_allowed: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Email on: the failure alert is queued as an outbox row whose text can be read.
    dispatcher.settings = dispatcher.settings.model_copy(update={"smtp_host": "127.0.0.1"})
    # A target that echoes what it got (as httpbin's /headers does), then fails.
    http_target.responder = lambda request: Reply(
        status=500, body=f"you sent {request.headers.get('authorization')}".encode()
    )
    created = await client.post(
        "/api/v1/jobs",
        json=job_payload(
            team.slug,
            target_url=f"{http_target.url}/hook",
            headers=headers_body(),
            enable_email_notifications=True,
            notification_emails=["oncall@example.com"],
        ),
        headers=member_headers,
    )
    assert created.status_code == 201, created.text
    job = created.json()["job"]
    assert job["headers"] == SHOWN_HEADERS

    # Stored encrypted: a Fernet token that the service's key opens, never the plaintext.
    async with sessionmaker() as session:
        raw = await session.scalar(
            select(cast(Job.headers, String)).where(Job.id == uuid.UUID(job["id"]))
        )
    assert SECRET not in str(raw)
    token = (await stored_headers(sessionmaker, job["id"]))[0]["value"]
    assert token.startswith("gAAAA")
    assert secret_box(dispatcher.settings).decrypt(token) == SECRET

    run = await client.post(f"/api/v1/jobs/{job['id']}/execute", headers=member_headers)
    assert run.status_code == 202
    await dispatcher.drain(grace_seconds=10)

    [received] = http_target.received
    assert received.headers["authorization"] == SECRET
    assert received.headers["x-team"] == "data-platform"

    responses = [created, run]
    for headers in (viewer_headers, member_headers, admin_headers):
        # Every role, a viewer too, reads a non-secret header's value and a secret's name only.
        shown = await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)
        assert shown.json()["job"]["headers"] == SHOWN_HEADERS
        listed = await client.get("/api/v1/jobs", headers=headers)
        assert [listed_job["headers"] for listed_job in listed.json()["jobs"]] == [SHOWN_HEADERS]
        responses += [shown, listed]
        responses.append(await client.get(f"/api/v1/jobs/{job['id']}/executions", headers=headers))
        responses.append(await client.get("/api/v1/executions", headers=headers))
    responses.append(await client.get("/api/v1/notifications", headers=member_headers))
    for response in responses:
        assert response.status_code in (200, 201, 202), response.text
        assert SECRET not in response.text
        assert "tok-5ecr3t" not in response.text

    async with sessionmaker() as session:
        [execution] = (
            await session.scalars(
                select(JobExecution).where(JobExecution.job_id == uuid.UUID(job["id"]))
            )
        ).all()
        notes = (await session.scalars(select(Notification))).all()
        deliveries = (await session.scalars(select(NotificationDelivery))).all()
    assert execution.response_status == 500
    assert execution.output == f"you sent {job_secrets.REDACTED}"
    row_text = " ".join(
        str(value)
        for value in (
            execution.target,
            execution.output,
            execution.error_message,
            execution.metadata_override,
        )
    )
    assert "tok-5ecr3t" not in row_text
    assert notes, "the failure notified the owner in-app"
    assert deliveries, "the failure queued an email"
    for note in notes:
        assert "tok-5ecr3t" not in f"{note.title} {note.message}"
    for delivery in deliveries:
        assert "tok-5ecr3t" not in f"{delivery.subject} {delivery.body_text} {delivery.body_html}"
    assert "tok-5ecr3t" not in caplog.text
    assert "X-Team" in str(await stored_headers(sessionmaker, job["id"]))


async def test_an_update_keeps_a_secret_sent_without_value_and_null_removes_it(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    created = await client.post(
        "/api/v1/jobs",
        json=job_payload(
            team.slug, headers=headers_body({"name": "X-Key", "value": "k1", "secret": True})
        ),
        headers=member_headers,
    )
    job_id = created.json()["job"]["id"]
    before = await stored_headers(sessionmaker, job_id)

    # Unrelated update: headers untouched.
    renamed = await client.put(
        f"/api/v1/jobs/{job_id}", json={"max_retries": 1}, headers=member_headers
    )
    assert renamed.status_code == 200
    assert await stored_headers(sessionmaker, job_id) == before

    # The list replaces the stored one: Authorization kept (no value), X-Key removed (null),
    # X-Team changed, X-New added.
    updated = await client.put(
        f"/api/v1/jobs/{job_id}",
        json={
            "headers": [
                {"name": "Authorization", "secret": True},
                {"name": "X-Team", "value": "ops"},
                {"name": "X-Key", "value": None, "secret": True},
                {"name": "X-New", "value": "n", "secret": True},
            ]
        },
        headers=member_headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["job"]["headers"] == [
        {"name": "Authorization", "value": None, "secret": True},
        {"name": "X-Team", "value": "ops", "secret": False},
        {"name": "X-New", "value": None, "secret": True},
    ]
    after = await stored_headers(sessionmaker, job_id)
    assert after[0] == before[0]  # the same ciphertext: the value was kept, not re-sent
    box = secret_box(make_settings("sqlite://"))
    assert box.decrypt(after[2]["value"]) == "n"

    # Keeping needs a stored value; unmasking a secret needs the value sent again.
    for headers, field in (
        ([{"name": "X-Unknown", "secret": True}], "body.headers.0.value"),
        ([{"name": "Authorization", "secret": False}], "body.headers.0.value"),
    ):
        refused = await client.put(
            f"/api/v1/jobs/{job_id}", json={"headers": headers}, headers=member_headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["details"][0]["field"] == field

    cleared = await client.put(
        f"/api/v1/jobs/{job_id}", json={"headers": []}, headers=member_headers
    )
    assert cleared.json()["job"]["headers"] == []


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "content-length",
        "Transfer-Encoding",
        "Connection",
        "Idempotency-Key",
        "X-Cron-Job-Id",
        "x-cron-anything",
        "webhook-signature",
        "Webhook-Id",
        "Bad Name",
        "Bad:Name",
        "",
    ],
)
async def test_forbidden_and_malformed_header_names_are_422(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam, name: str
) -> None:
    response = await client.post(
        "/api/v1/jobs",
        json=job_payload(team.slug, headers=[{"name": name, "value": "v"}]),
        headers=member_headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == "body.headers.0.name"


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        (
            [{"name": "X-A", "value": f"{SECRET}\r\nX-Injected: 1", "secret": True}],
            "body.headers.0.value",
        ),
        ([{"name": "X-A", "value": f"{SECRET}\n", "secret": True}], None),
        ([{"name": "X-A", "value": f"caf\u00e9 {SECRET}", "secret": True}], "body.headers.0.value"),
        ([{"name": "X-A", "value": SECRET + "x" * 5000, "secret": True}], "body.headers.0.value"),
        ([{"name": "X-A", "secret": True}], "body.headers.0.value"),
        ([{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}], "body.headers"),
        ([{"name": f"X-{i}", "value": "v"} for i in range(21)], "body.headers"),
    ],
)
async def test_bad_header_values_are_422_without_echoing_them(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    caplog: pytest.LogCaptureFixture,
    headers: list[dict[str, Any]],
    field: str | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post(
        "/api/v1/jobs", json=job_payload(team.slug, headers=headers), headers=member_headers
    )
    if field is None:  # surrounding whitespace is stripped: a trailing newline is fine
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == field
    assert "tok-5ecr3t" not in response.text
    assert "tok-5ecr3t" not in caplog.text


async def test_a_github_job_takes_no_headers(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    response = await client.post(
        "/api/v1/jobs",
        json=job_payload(
            team.slug,
            target_url=None,
            github_owner="acme",
            github_repo="etl",
            github_workflow_name="nightly.yml",
            headers=[{"name": "X-A", "value": "v"}],
        ),
        headers=member_headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == "body.headers"


CREDENTIAL_URLS = [
    f"https://deploy:{BASIC_PASSWORD}@hooks.example.com/x",
    "https://token@hooks.example.com/x",
    f"https://:{BASIC_PASSWORD}@hooks.example.com/x",
]


@pytest.mark.parametrize("url", CREDENTIAL_URLS)
async def test_a_target_url_with_credentials_is_422_pointing_at_secret_headers(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam, url: str
) -> None:
    response = await client.post(
        "/api/v1/jobs", json=job_payload(team.slug, target_url=url), headers=member_headers
    )
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["field"] == "body.target_url"
    assert "secret header" in detail["message"]
    assert BASIC_PASSWORD not in response.text
    trial = await client.post(
        "/api/v1/jobs/test-run", json={"target_url": url}, headers=member_headers
    )
    assert trial.status_code == 422
    assert BASIC_PASSWORD not in trial.text


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_an_update_to_a_target_url_with_credentials_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    member: Any,
    team: PicTeam,
    method: str,
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug)
    await session.commit()

    async def stored_row() -> dict[str, Any]:
        async with sessionmaker() as reader:
            stored = await reader.get(Job, job.id)
            assert stored is not None
            return {column.key: getattr(stored, column.key) for column in Job.__mapper__.columns}

    before = await stored_row()
    for url in CREDENTIAL_URLS:
        response = await client.request(
            method,
            f"/api/v1/jobs/{job.id}",
            json={"name": "renamed-with-credentials", "target_url": url},
            headers=member_headers,
        )
        assert response.status_code == 422, response.text
        [detail] = response.json()["details"]
        assert detail["field"] == "body.target_url"
        assert "secret header" in detail["message"]
        assert BASIC_PASSWORD not in response.text
    assert await stored_row() == before
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_a_test_run_sends_its_headers_and_stores_nothing(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    http_target: HttpTarget,
    loopback_allowed: None,
) -> None:
    response = await client.post(
        "/api/v1/jobs/test-run",
        json={"target_url": f"{http_target.url}/t", "headers": headers_body()},
        headers=member_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    assert SECRET not in response.text
    [received] = http_target.received
    assert (received.headers["authorization"], received.headers["x-team"]) == (
        SECRET,
        "data-platform",
    )
    forbidden = await client.post(
        "/api/v1/jobs/test-run",
        json={"target_url": f"{http_target.url}/t", "headers": [{"name": "Host", "value": "x"}]},
        headers=member_headers,
    )
    assert forbidden.status_code == 422


async def test_a_manual_run_cannot_override_headers(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    session: AsyncSession,
    member: Any,
    team: PicTeam,
) -> None:
    job = await create_job(session, owner=member, pic_team=team.slug)
    response = await client.post(
        f"/api/v1/jobs/{job.id}/execute",
        json={"headers": [{"name": "Authorization", "value": "x"}]},
        headers=member_headers,
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "body.headers"


def test_a_new_secrets_key_put_first_still_reads_values_stored_with_the_old_one() -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = job_secrets.settle_headers(
        [{"name": "Authorization", "value": SECRET, "secret": True}], None, SecretBox([old_key])
    )

    rotated = SecretBox([new_key, old_key])
    assert job_secrets.call_headers(stored, rotated) == [("Authorization", SECRET)]
    # After re-encryption the old key can go.
    reencrypted = [{**stored[0], "value": rotated.reencrypt(stored[0]["value"])}]
    assert job_secrets.call_headers(reencrypted, SecretBox([new_key])) == [
        ("Authorization", SECRET)
    ]
    with pytest.raises(SecretUnreadable):
        job_secrets.call_headers(stored, SecretBox([new_key]))

"""API keys: created once, listed without secrets, accepted wherever a token is, and refused at
once when revoked, expired, or their user is deactivated; scopes; what a key may never do."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.api_key import ApiKey
from models.login_attempt import LoginAttempt
from models.pic_team import PicTeam
from models.user import User
from tests.api.v1.test_auth import client_at, login
from tests.support.clock import FrozenClock
from tests.support.job_factories import create_job

KEYS = "/api/v1/auth/api-keys"
LISTED_FIELDS = {
    "id",
    "user_id",
    "name",
    "scope",
    "prefix",
    "created_at",
    "expires_at",
    "last_used_at",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create_key(
    client: httpx.AsyncClient, headers: dict[str, str], scope: str = "write", **more: Any
) -> dict[str, Any]:
    response = await client.post(KEYS, json={"name": "ci", "scope": scope, **more}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_key_is_shown_once_and_only_its_hash_is_stored(
    client: httpx.AsyncClient, session: AsyncSession, member: User, member_headers: dict[str, str]
) -> None:
    body = await create_key(client, member_headers, expires_in_days=30)

    key = body["key"]
    assert key.startswith("cj_")
    assert len(key) == 3 + 43  # 32 random bytes, URL-safe base64 without padding
    assert set(body["api_key"]) == LISTED_FIELDS
    assert body["api_key"]["prefix"] == key[:11]
    assert body["api_key"]["scope"] == "write"
    assert body["api_key"]["user_id"] == str(member.id)
    assert body["api_key"]["expires_at"] == "2026-07-01T00:00:00Z"

    stored = (await session.execute(select(ApiKey))).scalar_one()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (stored.key_hash, stored.prefix, stored.name)

    listed = await client.get(KEYS, headers=member_headers)
    assert listed.status_code == 200
    [item] = listed.json()["api_keys"]
    assert set(item) == LISTED_FIELDS
    assert key not in listed.text
    assert stored.key_hash not in listed.text
    # A second key is different.
    assert (await create_key(client, member_headers))["key"] != key


async def test_a_key_works_where_a_token_does(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    key = (await create_key(client, member_headers))["key"]
    job = await create_job(session, owner=member, pic_team=team.slug)

    for path in ("/api/v1/auth/me", "/api/v1/jobs", f"/api/v1/jobs/{job.id}", "/api/v1/executions"):
        with_token = await client.get(path, headers=member_headers)
        with_key = await client.get(path, headers=bearer(key))
        assert with_key.status_code == with_token.status_code == 200, (path, with_key.text)
        assert with_key.json() == with_token.json()

    paused = await client.post(f"/api/v1/jobs/{job.id}/pause", headers=bearer(key))
    assert paused.status_code == 200, paused.text
    assert paused.json()["job"]["is_active"] is False


async def test_a_revoked_key_stops_at_once(
    client: httpx.AsyncClient, member_headers: dict[str, str]
) -> None:
    created = await create_key(client, member_headers)
    assert (await client.get("/api/v1/auth/me", headers=bearer(created["key"]))).status_code == 200

    revoked = await client.delete(f"{KEYS}/{created['api_key']['id']}", headers=member_headers)
    assert revoked.status_code == 200
    assert revoked.json() == {"message": "API key revoked"}

    after = await client.get("/api/v1/auth/me", headers=bearer(created["key"]))
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"] == "Bearer"
    assert after.json()["error"] == "Invalid API key"
    assert (await client.get(KEYS, headers=member_headers)).json()["api_keys"] == []


async def test_an_expired_key_stops_when_its_time_comes(
    client: httpx.AsyncClient, clock: FrozenClock, member_headers: dict[str, str]
) -> None:
    key = (await create_key(client, member_headers, expires_in_days=1))["key"]
    clock.advance(timedelta(days=1) - timedelta(seconds=1))
    assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200

    clock.advance(timedelta(seconds=1))
    assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 401


async def test_a_key_follows_its_user_deactivation_role_and_deletion(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
) -> None:
    key = (await create_key(client, member_headers))["key"]
    job = await create_job(session, owner=member, pic_team=team.slug)
    users = f"/api/v1/auth/users/{member.id}"

    demoted = await client.put(users, json={"role": "viewer"}, headers=admin_headers)
    assert demoted.status_code == 200
    refused = await client.post(f"/api/v1/jobs/{job.id}/pause", headers=bearer(key))
    assert refused.status_code == 403
    assert "admin or user role" in refused.json()["message"]

    await client.put(users, json={"role": "user", "is_active": False}, headers=admin_headers)
    assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 401

    await client.put(users, json={"is_active": True}, headers=admin_headers)
    assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200

    assert (await client.delete(users, headers=admin_headers)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/jobs/{job}/pause"),
        ("PUT", "/api/v1/jobs/{job}"),
        ("DELETE", "/api/v1/jobs/{job}"),
        ("POST", "/api/v1/jobs/validate-cron"),
    ],
)
async def test_a_read_key_reads_but_cannot_write(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
    method: str,
    path: str,
) -> None:
    key = (await create_key(client, member_headers, scope="read"))["key"]
    job = await create_job(session, owner=member, pic_team=team.slug)

    assert (await client.get(f"/api/v1/jobs/{job.id}", headers=bearer(key))).status_code == 200
    response = await client.request(
        method, path.format(job=job.id), json={"name": "x"}, headers=bearer(key)
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "API key scope"
    assert "read scope" in response.json()["message"]
    await session.refresh(job)
    assert job.is_active is True
    assert job.name != "x"


async def test_a_key_cannot_make_keys_change_passwords_or_log_out(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    key = (await create_key(client, member_headers))["key"]

    refusals = [
        await client.post(KEYS, json={"name": "more", "scope": "write"}, headers=bearer(key)),
        await client.put(
            f"/api/v1/auth/users/{member.id}",
            json={"password": "another-password-1"},
            headers=bearer(key),
        ),
        await client.post("/api/v1/auth/logout", headers=bearer(key)),
    ]
    for response in refusals:
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "Not with an API key"
    assert len((await client.get(KEYS, headers=member_headers)).json()["api_keys"]) == 1
    assert (await login(client, member.username)).status_code == 200  # password unchanged
    # A write key may change what is not a credential.
    email = await client.put(
        f"/api/v1/auth/users/{member.id}", json={"email": "new@example.com"}, headers=bearer(key)
    )
    assert email.status_code == 200, email.text


async def test_failed_key_lookups_count_towards_the_address_throttle(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
) -> None:
    key = (await create_key(client, member_headers))["key"]
    limit = app.state.settings.login_max_failures_per_address
    async with client_at(app, "198.51.100.77") as other:
        for _ in range(limit):
            wrong = await other.get("/api/v1/auth/me", headers=bearer("cj_" + "x" * 43))
            assert wrong.status_code == 401
        stored = await session.execute(
            select(LoginAttempt).where(LoginAttempt.client_address == "198.51.100.77")
        )
        assert len(stored.scalars().all()) == limit

        throttled = await other.get("/api/v1/auth/me", headers=bearer("cj_" + "y" * 43))
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) > 0
        # Password logins from that address are throttled too ...
        assert (await login(other, member.username)).status_code == 429
        # ... while a valid key still works (it is never counted).
        assert (await other.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200


async def test_last_used_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FrozenClock,
    member_headers: dict[str, str],
) -> None:
    key = (await create_key(client, member_headers))["key"]

    async def last_used() -> Any:
        listed = (await client.get(KEYS, headers=member_headers)).json()
        return listed["api_keys"][0]["last_used_at"]

    assert await last_used() is None
    await client.get("/api/v1/auth/me", headers=bearer(key))
    first = await last_used()
    assert first == "2026-06-01T00:00:00Z"

    clock.advance(timedelta(seconds=59))
    await client.get("/api/v1/auth/me", headers=bearer(key))
    assert await last_used() == first

    clock.advance(timedelta(seconds=1))
    await client.get("/api/v1/auth/me", headers=bearer(key))
    assert await last_used() == "2026-06-01T00:01:00Z"


async def test_admins_list_and_revoke_anyones_keys_others_only_their_own(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    viewer_headers: dict[str, str],
) -> None:
    mine = await create_key(client, member_headers)
    theirs = await create_key(client, viewer_headers, scope="read")

    everyone = await client.get(KEYS, params={"all_users": "true"}, headers=admin_headers)
    assert everyone.status_code == 200
    assert {k["id"] for k in everyone.json()["api_keys"]} == {
        mine["api_key"]["id"],
        theirs["api_key"]["id"],
    }
    assert (await client.get(KEYS, headers=admin_headers)).json()["api_keys"] == []
    refused = await client.get(KEYS, params={"all_users": "true"}, headers=member_headers)
    assert refused.status_code == 403

    others = await client.delete(f"{KEYS}/{theirs['api_key']['id']}", headers=member_headers)
    assert others.status_code == 403
    assert (await client.get("/api/v1/auth/me", headers=bearer(theirs["key"]))).status_code == 200

    by_admin = await client.delete(f"{KEYS}/{theirs['api_key']['id']}", headers=admin_headers)
    assert by_admin.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(theirs["key"]))).status_code == 401
    missing = await client.delete(f"{KEYS}/{theirs['api_key']['id']}", headers=admin_headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "scope": "write"},
        {"name": "ci", "scope": "admin"},
        {"name": "ci", "scope": "read", "expires_in_days": 0},
        {"name": "ci", "scope": "read", "expires_in_days": "30"},
        {"name": "ci", "scope": "read", "key": "cj_mine"},
    ],
)
async def test_bad_key_requests_are_422(
    client: httpx.AsyncClient, member_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(KEYS, json=body, headers=member_headers)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "message", "details"}


async def test_swagger_offers_an_api_key_beside_the_password_flow(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["APIKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cj_…",
        "description": schemes["APIKey"]["description"],
    }
    assert schemes["OAuth2PasswordBearer"]["type"] == "oauth2"
    me = schema["paths"]["/api/v1/auth/me"]["get"]
    assert {name for entry in me["security"] for name in entry} == {
        "OAuth2PasswordBearer",
        "APIKey",
    }

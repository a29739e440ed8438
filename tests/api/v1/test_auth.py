"""Auth endpoints (the `auth` tag of the OpenAPI): login, OAuth2 form, refresh rotation, logout, me,
verify, register, the token attacks and the login throttle."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt
from passlib.hash import pbkdf2_sha256
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import UserRole
from core.security import create_access_token, create_refresh_token
from models.login_attempt import LoginAttempt
from models.refresh_token import RefreshToken
from models.revoked_token import RevokedToken
from models.user import User
from tests.api.v1.conftest import USER_KEYS
from tests.support.clock import FrozenClock
from tests.support.factories import DEFAULT_PASSWORD, auth_headers, create_user

AUTH = "/api/v1/auth"
INVALID_CREDENTIALS = {
    "error": "Invalid credentials",
    "message": "Invalid email/username or password",
    "details": None,
}


async def login(
    client: httpx.AsyncClient, name: str, password: str = DEFAULT_PASSWORD, field: str = "username"
) -> httpx.Response:
    return await client.post(f"{AUTH}/login", json={field: name, "password": password})


async def tokens_for(client: httpx.AsyncClient, user: User) -> dict[str, Any]:
    response = await login(client, user.username)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert set(response.json()) == {"error", "message", "details"}


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling from `address` (the `client` fixture has set up the app's state)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        yield other


# --- login -------------------------------------------------------------------------------------


async def test_login_with_username_returns_both_tokens_and_the_user(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, username="ada_lovelace", role=UserRole.USER)

    response = await login(client, "ada_lovelace")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "access_token", "refresh_token", "token_type", "user"}
    assert body["message"] == "Login successful"
    assert body["token_type"] == "bearer"
    assert set(body["user"]) == USER_KEYS
    assert body["user"]["id"] == str(user.id)
    assert body["user"]["role"] == "user"
    assert body["user"]["created_at"].endswith("Z")
    for token, token_type in ((body["access_token"], "access"), (body["refresh_token"], "refresh")):
        claims = jwt.decode(
            token, settings.jwt_secret_key, algorithms=["HS256"], options={"verify_exp": False}
        )
        assert claims["sub"] == str(user.id)
        assert claims["type"] == token_type


@pytest.mark.parametrize(
    ("field", "typed"),
    [("email", "Ada@Example.COM"), ("username", "ada@example.com"), ("email", "ada_l")],
)
async def test_login_accepts_either_name_in_either_field(
    client: httpx.AsyncClient, session: AsyncSession, field: str, typed: str
) -> None:
    await create_user(session, username="ada_l", email="ada@example.com")

    response = await login(client, typed, field=field)

    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "ada_l"


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: httpx.AsyncClient, member: User
) -> None:
    wrong_password = await login(client, member.username, "not-the-password")
    unknown_user = await login(client, "nobody_here", "not-the-password")

    for response in (wrong_password, unknown_user):
        assert_unauthorized(response)
        assert response.json() == INVALID_CREDENTIALS


async def test_an_unknown_user_costs_a_password_verification(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    async def spy() -> None:
        calls.append(True)

    monkeypatch.setattr("services.auth.dummy_verify", spy)

    response = await login(client, "nobody_here", "whatever-password")

    assert response.status_code == 401
    assert calls == [True]


async def test_an_inactive_user_is_forbidden_only_with_the_right_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, is_active=False)

    right = await login(client, user.username)
    wrong = await login(client, user.username, "not-the-password")

    assert right.status_code == 403
    assert right.json()["error"] == "Account inactive"
    assert "access_token" not in right.text
    assert wrong.json() == INVALID_CREDENTIALS


@pytest.mark.parametrize(
    "body",
    [
        {"password": DEFAULT_PASSWORD},
        {"username": None, "password": DEFAULT_PASSWORD},
        {"username": "someone"},
        {"username": "", "password": DEFAULT_PASSWORD},
        {"username": "someone", "password": DEFAULT_PASSWORD, "remember_me": True},
    ],
    ids=["no-name", "null-name", "no-password", "empty-name", "unknown-field"],
)
async def test_malformed_login_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(f"{AUTH}/login", json=body)

    assert response.status_code == 422
    assert response.json()["error"] == "Validation error"


async def test_login_replaces_an_outdated_hash_with_argon2(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)
    user.password_hash = pbkdf2_sha256.hash("flask-era-password")
    await session.flush()

    response = await login(client, user.username, "flask-era-password")

    assert response.status_code == 200
    await session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    assert (await login(client, user.username, "flask-era-password")).status_code == 200


async def test_login_form_gives_an_access_token_for_swagger(
    client: httpx.AsyncClient, member: User
) -> None:
    response = await client.post(
        f"{AUTH}/login/form",
        data={"username": member.username, "password": DEFAULT_PASSWORD, "grant_type": "password"},
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer"
    me = await client.get(f"{AUTH}/me", headers=bearer(body["access_token"]))
    assert me.json()["id"] == str(member.id)


async def test_login_form_refuses_bad_credentials_like_login(
    client: httpx.AsyncClient, member: User
) -> None:
    response = await client.post(
        f"{AUTH}/login/form", data={"username": member.username, "password": "not-it-at-all"}
    )

    assert_unauthorized(response)
    assert response.json() == INVALID_CREDENTIALS


async def test_swagger_authorize_uses_the_form_endpoint(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    schemes = schema["components"]["securitySchemes"]
    flows = [scheme["flows"] for scheme in schemes.values() if scheme["type"] == "oauth2"]
    assert flows == [{"password": {"scopes": {}, "tokenUrl": "/api/v1/auth/login/form"}}]
    assert schema["paths"]["/api/v1/auth/me"]["get"]["security"]


# --- refresh -----------------------------------------------------------------------------------


async def test_refresh_rotates_the_refresh_token(client: httpx.AsyncClient, member: User) -> None:
    tokens = await tokens_for(client, member)

    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 200
    rotated = response.json()
    assert set(rotated) == {"access_token", "refresh_token"}
    assert rotated["refresh_token"] != tokens["refresh_token"]
    me = await client.get(f"{AUTH}/me", headers=bearer(rotated["access_token"]))
    assert me.status_code == 200
    again = await client.post(f"{AUTH}/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert again.status_code == 200


async def test_reusing_a_refresh_token_revokes_every_refresh_token_of_its_user(
    client: httpx.AsyncClient, member: User, viewer: User
) -> None:
    laptop = await tokens_for(client, member)
    phone = await tokens_for(client, member)
    bystander = await tokens_for(client, viewer)
    rotated = (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": laptop["refresh_token"]})
    ).json()

    reuse = await client.post(f"{AUTH}/refresh", json={"refresh_token": laptop["refresh_token"]})

    assert_unauthorized(reuse)
    assert reuse.json()["error"] == "Token revoked"
    for token in (rotated["refresh_token"], phone["refresh_token"]):
        response = await client.post(f"{AUTH}/refresh", json={"refresh_token": token})
        assert_unauthorized(response)
    other_user = await client.post(
        f"{AUTH}/refresh", json={"refresh_token": bystander["refresh_token"]}
    )
    assert other_user.status_code == 200


async def test_refresh_refuses_an_access_token(client: httpx.AsyncClient, member: User) -> None:
    tokens = await tokens_for(client, member)

    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["access_token"]})

    assert_unauthorized(response)
    assert response.json()["error"] == "Invalid token"


async def test_refresh_refuses_an_expired_token(
    client: httpx.AsyncClient, member: User, clock: FrozenClock
) -> None:
    tokens = await tokens_for(client, member)
    clock.advance(timedelta(days=7))

    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert_unauthorized(response)
    assert response.json()["error"] == "Token expired"


async def test_refresh_refuses_deactivated_and_deleted_users(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    deactivated = await create_user(session)
    deleted = await create_user(session)
    deactivated_tokens = await tokens_for(client, deactivated)
    deleted_tokens = await tokens_for(client, deleted)
    deactivated.is_active = False
    await session.delete(deleted)
    await session.flush()

    for tokens in (deactivated_tokens, deleted_tokens):
        response = await client.post(
            f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert_unauthorized(response)


async def test_refresh_rejects_unknown_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": "x", "user_id": "y"})

    assert response.status_code == 422


# --- logout ------------------------------------------------------------------------------------


async def test_logout_stops_the_access_and_the_refresh_token_at_once(
    client: httpx.AsyncClient, member: User
) -> None:
    tokens = await tokens_for(client, member)
    other_session = await tokens_for(client, member)

    response = await client.post(
        f"{AUTH}/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers=bearer(tokens["access_token"]),
    )

    assert response.status_code == 200
    assert response.json() == {"message": "Logged out"}
    assert_unauthorized(await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"])))
    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_unauthorized(refresh)
    # Only that session ended.
    me = await client.get(f"{AUTH}/me", headers=bearer(other_session["access_token"]))
    assert me.status_code == 200


async def test_logout_without_a_body_revokes_only_the_access_token(
    client: httpx.AsyncClient, member: User
) -> None:
    tokens = await tokens_for(client, member)

    response = await client.post(f"{AUTH}/logout", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    assert_unauthorized(await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"])))
    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 200


async def test_logout_ignores_a_refresh_token_that_is_not_the_callers(
    client: httpx.AsyncClient, member: User, viewer: User
) -> None:
    mine = await tokens_for(client, member)
    theirs = await tokens_for(client, viewer)

    response = await client.post(
        f"{AUTH}/logout",
        json={"refresh_token": theirs["refresh_token"]},
        headers=bearer(mine["access_token"]),
    )

    assert response.status_code == 200
    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": theirs["refresh_token"]})
    assert refresh.status_code == 200


async def test_logout_needs_an_access_token(client: httpx.AsyncClient, member: User) -> None:
    tokens = await tokens_for(client, member)

    assert_unauthorized(await client.post(f"{AUTH}/logout"))
    as_refresh = await client.post(f"{AUTH}/logout", headers=bearer(tokens["refresh_token"]))
    assert_unauthorized(as_refresh)


async def test_expired_revocations_refresh_tokens_and_attempts_are_purged(
    client: httpx.AsyncClient, session: AsyncSession, member: User, clock: FrozenClock
) -> None:
    old = await tokens_for(client, member)
    await login(client, member.username, "a-wrong-password")
    await client.post(f"{AUTH}/logout", headers=bearer(old["access_token"]))
    old_jti = uuid.UUID(jwt.get_unverified_claims(old["access_token"])["jti"])
    assert await session.scalar(select(func.count()).where(RevokedToken.jti == old_jti)) == 1

    clock.advance(timedelta(days=8))
    await tokens_for(client, member)

    assert await session.scalar(select(func.count()).where(RevokedToken.jti == old_jti)) == 0
    assert await session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    expired = RefreshToken.expires_at <= clock.now()
    assert await session.scalar(select(func.count()).where(expired)) == 0


# --- me and verify -----------------------------------------------------------------------------


async def test_me_returns_the_current_user(
    client: httpx.AsyncClient, viewer: User, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(f"{AUTH}/me", headers=viewer_headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_KEYS
    assert body["id"] == str(viewer.id)
    assert body["role"] == "viewer"


async def test_verify_confirms_the_token(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    response = await client.get(f"{AUTH}/verify", headers=member_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["user"]["id"] == str(member.id)
    assert set(body["user"]) == USER_KEYS


# --- token attacks -----------------------------------------------------------------------------


def _segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _claims_for(user: User, clock: FrozenClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    claims = {"sub": str(user.id), "type": "access", "jti": str(uuid.uuid4()), "iat": now}
    claims["exp"] = now + 600
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


Forge = Callable[[Settings, FrozenClock, User], str]

FORGED_TOKENS: dict[str, Forge] = {
    "alg-none": lambda s, c, u: f"{_segment({'alg': 'none'})}.{_segment(_claims_for(u, c))}.",
    "wrong-signature": lambda s, c, u: jwt.encode(_claims_for(u, c), "guessed-secret"),
    "missing-exp": lambda s, c, u: jwt.encode(_claims_for(u, c, exp=None), s.jwt_secret_key),
    "expired": lambda s, c, u: jwt.encode(
        _claims_for(u, c, exp=int(c.now().timestamp()) - 1), s.jwt_secret_key
    ),
    "refresh-as-access": lambda s, c, u: create_refresh_token(u.id, s, c.now()).token,
    "unknown-user": lambda s, c, u: create_access_token(uuid.uuid4(), s, c.now()).token,
    "garbage": lambda s, c, u: "definitely.not.a-jwt",
}


@pytest.mark.parametrize("name", FORGED_TOKENS)
async def test_forged_expired_and_misused_tokens_are_401(
    client: httpx.AsyncClient, settings: Settings, clock: FrozenClock, member: User, name: str
) -> None:
    token = FORGED_TOKENS[name](settings, clock, member)

    response = await client.get(f"{AUTH}/me", headers=bearer(token))

    assert_unauthorized(response)


async def test_a_token_goes_stale_when_the_clock_passes_its_expiry(
    client: httpx.AsyncClient, member_headers: dict[str, str], clock: FrozenClock
) -> None:
    assert (await client.get(f"{AUTH}/me", headers=member_headers)).status_code == 200

    clock.advance(timedelta(minutes=30))

    response = await client.get(f"{AUTH}/me", headers=member_headers)
    assert_unauthorized(response)
    assert response.json()["error"] == "Token expired"


async def test_no_token_and_a_malformed_header_are_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        assert_unauthorized(await client.get(f"{AUTH}/me", headers=headers))


async def test_tokens_of_deactivated_and_deleted_users_stop_working_at_once(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    deactivated = await create_user(session)
    deleted = await create_user(session)
    deactivated_headers = auth_headers(settings, clock, deactivated)
    deleted_headers = auth_headers(settings, clock, deleted)
    deactivated.is_active = False
    await session.delete(deleted)
    await session.flush()

    assert_unauthorized(await client.get(f"{AUTH}/me", headers=deactivated_headers))
    assert_unauthorized(await client.get(f"{AUTH}/me", headers=deleted_headers))


# --- register ----------------------------------------------------------------------------------


async def test_admin_registers_a_viewer_by_default(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{AUTH}/register",
        json={"username": "New_User1", "email": "New.User@Example.com", "password": "s3cret-pass"},
        headers=admin_headers,
    )

    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "User registered successfully"
    assert set(body["user"]) == USER_KEYS
    assert body["user"]["role"] == "viewer"
    assert body["user"]["email"] == "new.user@example.com"
    assert body["user"]["is_active"] is True
    assert "s3cret-pass" not in response.text
    assert (await login(client, "New_User1", "s3cret-pass")).status_code == 200


async def test_register_honours_the_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{AUTH}/register",
        json={
            "username": "editor",
            "email": "e@example.com",
            "password": "s3cret-pass",
            "role": "user",
        },
        headers=admin_headers,
    )

    assert response.status_code == 201
    assert response.json()["user"]["role"] == "user"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"username": "taken_name"}, "Username already exists"),
        ({"email": "TAKEN@example.com"}, "Email already exists"),
    ],
)
async def test_register_refuses_a_taken_username_or_email(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    changes: dict[str, str],
    error: str,
) -> None:
    await create_user(session, username="taken_name", email="taken@example.com")
    body = {"username": "fresh_name", "email": "fresh@example.com", "password": "s3cret-pass"}

    response = await client.post(
        f"{AUTH}/register", json={**body, **changes}, headers=admin_headers
    )

    assert response.status_code == 409
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": "ab"}, "body.username"),
        ({"username": "x" * 81}, "body.username"),
        ({"username": "has-dash"}, "body.username"),
        ({"username": "has space"}, "body.username"),
        ({"email": "not-an-email"}, "body.email"),
        ({"email": "a" * 110 + "@example.com"}, "body.email"),
        ({"password": "7-chars"}, "body.password"),
        ({"role": "superuser"}, "body.role"),
        ({"is_active": False}, "body.is_active"),
    ],
)
async def test_register_validates_the_user_rules(
    client: httpx.AsyncClient, admin_headers: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    body = {"username": "fine_name", "email": "fine@example.com", "password": "s3cret-pass"}

    response = await client.post(
        f"{AUTH}/register", json={**body, **changes}, headers=admin_headers
    )

    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["details"]] == [field]


async def test_register_accepts_the_boundaries_of_the_rules(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for username, email, password in (
        ("abc", "b@example.com", "8-chars!"),
        ("A_" + "x" * 78, "a" * 108 + "@example.com", "p" * 256),
    ):
        response = await client.post(
            f"{AUTH}/register",
            json={"username": username, "email": email, "password": password},
            headers=admin_headers,
        )
        assert response.status_code == 201, response.text


# --- throttling --------------------------------------------------------------------------------


async def test_the_sixth_bad_password_is_429_until_the_window_passes(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    target = await create_user(session)
    bystander = await create_user(session)
    for _ in range(5):
        assert (await login(client, target.username, "guess-guess")).status_code == 401
        clock.advance(timedelta(seconds=10))

    sixth = await login(client, target.username, "guess-guess")

    assert sixth.status_code == 429
    assert sixth.headers["Retry-After"] == "250"  # the first failure leaves the window in 250 s
    assert sixth.json()["error"] == "Too many login attempts"
    # Locked even with the right password; other accounts are not affected.
    assert (await login(client, target.username)).status_code == 429
    assert (await login(client, bystander.username)).status_code == 200

    clock.advance(timedelta(seconds=249))
    assert (await login(client, target.username)).headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert (await login(client, target.username)).status_code == 200


async def test_the_window_slides(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    target = await create_user(session)
    for _ in range(5):
        await login(client, target.username, "guess-guess")
        clock.advance(timedelta(seconds=10))
    clock.advance(timedelta(seconds=250))  # the first failure has left the window

    assert (await login(client, target.username, "guess-guess")).status_code == 401

    blocked = await login(client, target.username, "guess-guess")
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "10"  # now the second failure is the oldest


async def test_a_success_resets_the_accounts_counter(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    target = await create_user(session)
    for _ in range(4):
        await login(client, target.username, "guess-guess")

    assert (await login(client, target.username)).status_code == 200

    for _ in range(5):
        assert (await login(client, target.username, "guess-guess")).status_code == 401
    assert (await login(client, target.username, "guess-guess")).status_code == 429


async def test_failures_count_per_account_whichever_name_is_typed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_user(session, username="two_names", email="two@example.com")
    for name in ("two_names", "TWO@example.com", "two@example.com", "two_names", "two_names"):
        assert (await login(client, name, "guess-guess")).status_code == 401

    response = await login(client, "two@example.com", "guess-guess", field="email")

    assert response.status_code == 429


async def test_unknown_names_are_throttled_like_real_ones(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await login(client, "ghost_user", "guess-guess")).status_code == 401

    assert (await login(client, "ghost_user", "guess-guess")).status_code == 429


async def test_one_address_is_limited_across_accounts(
    client: httpx.AsyncClient, app: FastAPI, session: AsyncSession
) -> None:
    victims = [await create_user(session) for _ in range(4)]
    last = await create_user(session)
    async with client_at(app, "203.0.113.7") as attacker:
        for victim in victims:
            for _ in range(5):
                assert (await login(attacker, victim.username, "guess-guess")).status_code == 401

        blocked = await login(attacker, last.username)

    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 300
    async with client_at(app, "198.51.100.20") as neighbour:
        assert (await login(neighbour, last.username)).status_code == 200


async def test_the_form_login_shares_the_throttle(client: httpx.AsyncClient, member: User) -> None:
    for _ in range(5):
        await login(client, member.username, "guess-guess")

    response = await client.post(
        f"{AUTH}/login/form", data={"username": member.username, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 429
    assert "Retry-After" in response.headers


# --- secrets stay secret -----------------------------------------------------------------------


async def test_no_password_hash_or_token_reaches_a_response_or_a_log_line(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: User,
    admin_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    first, wrong, second = "first-S3cret-pw", "wrong-S3cret-pw", "second-S3cret-pw"
    responses = [
        await client.post(
            f"{AUTH}/register",
            json={"username": "secretive", "email": "s@example.com", "password": first},
            headers=admin_headers,
        ),
        await login(client, "secretive", wrong),
        await login(client, "secretive", first),
        await client.post(
            f"{AUTH}/register",
            json={"username": "x", "email": "bad", "password": "short"},
            headers=admin_headers,
        ),
    ]
    tokens = responses[2].json()
    user_id = tokens["user"]["id"]
    responses.append(
        await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    )
    rotated = responses[-1].json()
    responses += [
        await client.put(
            f"/api/v1/auth/users/{user_id}",
            json={"password": second},
            headers=bearer(rotated["access_token"]),
        ),
        await client.get(f"{AUTH}/users", headers=admin_headers),
        await client.post(
            f"{AUTH}/logout",
            json={"refresh_token": rotated["refresh_token"]},
            headers=bearer(rotated["access_token"]),
        ),
    ]
    stored_hashes = (await session.execute(select(User.password_hash))).scalars().all()

    assert [response.status_code for response in responses] == [201, 401, 200, 422] + [200] * 4
    passwords_and_hashes = [first, wrong, second, *stored_hashes]
    tokens_issued = [tokens["access_token"], tokens["refresh_token"]]
    tokens_issued += [rotated["access_token"], rotated["refresh_token"]]
    tokens_issued += [admin_headers["Authorization"].removeprefix("Bearer ")]
    logged = [
        " ".join([record.getMessage(), *map(str, vars(record).values())])
        for record in caplog.records
    ]
    assert len(logged) >= len(responses)  # the request log lines, at least
    # Login and refresh answer with tokens by design; nothing else may show one.
    not_issuing = [r.text for r in responses if "refresh_token" not in r.text] + logged
    for text in [r.text for r in responses] + logged:
        assert not any(secret in text for secret in passwords_and_hashes), text
        assert "$argon2" not in text
        assert "password_hash" not in text
    for text in not_issuing:
        assert not any(token in text for token in tokens_issued), text

"""User management and preferences (the `users` tag of the OpenAPI), and the RBAC matrix of
every endpoint of the auth and users tags."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import UserRole
from models.user import User
from models.user_preferences import UserNotificationPreferences, UserUiPreferences
from schemas.user import JobsTableColumns
from tests.api.v1.conftest import USER_KEYS
from tests.support.clock import FrozenClock
from tests.support.factories import DEFAULT_PASSWORD, auth_headers, create_user

AUTH = "/api/v1/auth"
USERS = f"{AUTH}/users"
DEFAULT_NOTIFICATION_PREFERENCES = {
    "email_on_job_success": True,
    "email_on_job_failure": True,
    "email_on_job_disabled": False,
    "browser_notifications": False,
    "daily_digest": False,
    "weekly_report": False,
}
ALL_COLUMNS = set(JobsTableColumns.model_fields)


async def login(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await client.post(f"{AUTH}/login", json={"username": name, "password": password})


# --- RBAC: every endpoint of the auth section x every role --------------------------------------

ADMIN, USER, VIEWER = UserRole.ADMIN, UserRole.USER, UserRole.VIEWER


def everyone(status: int) -> dict[UserRole, int]:
    return {ADMIN: status, USER: status, VIEWER: status}


def admin_only(status: int) -> dict[UserRole, int]:
    return {ADMIN: status, USER: 403, VIEWER: 403}


@dataclass(frozen=True)
class Endpoint:
    method: str
    # `{me}` is the caller's id, `{other}` another user's; `{name}` the caller's username,
    # `{refresh}` a refresh token of the caller.
    path: str
    expected: dict[UserRole, int]
    body: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    authenticated: bool = True


ENDPOINTS = [
    Endpoint(
        "POST",
        "/login",
        everyone(200),
        {"username": "{name}", "password": DEFAULT_PASSWORD},
        authenticated=False,
    ),
    Endpoint(
        "POST",
        "/login/form",
        everyone(200),
        form={"username": "{name}", "password": DEFAULT_PASSWORD},
        authenticated=False,
    ),
    Endpoint(
        "POST", "/refresh", everyone(200), {"refresh_token": "{refresh}"}, authenticated=False
    ),
    Endpoint("POST", "/logout", everyone(200), {"refresh_token": "{refresh}"}),
    Endpoint("GET", "/me", everyone(200)),
    Endpoint("GET", "/verify", everyone(200)),
    Endpoint(
        "POST",
        "/register",
        admin_only(201),
        {"username": "newcomer", "email": "newcomer@example.com", "password": "s3cret-pass"},
    ),
    Endpoint("GET", "/users", admin_only(200)),
    Endpoint("GET", "/users/{me}", everyone(200)),
    Endpoint("GET", "/users/{other}", admin_only(200)),
    Endpoint("PUT", "/users/{me}", everyone(200), {"email": "renamed@example.com"}),
    Endpoint("PUT", "/users/{other}", admin_only(200), {"email": "renamed@example.com"}),
    Endpoint("PUT", "/users/{me}", admin_only(200), {"role": "{role}"}),
    Endpoint("PUT", "/users/{me}", admin_only(200), {"is_active": True}),
    Endpoint("DELETE", "/users/{other}", admin_only(200)),
    Endpoint("DELETE", "/users/{me}", {ADMIN: 400, USER: 403, VIEWER: 403}),
    Endpoint("GET", "/users/{me}/preferences", everyone(200)),
    Endpoint("GET", "/users/{other}/preferences", admin_only(200)),
    Endpoint("PUT", "/users/{me}/preferences", everyone(200), {"daily_digest": True}),
    Endpoint("PUT", "/users/{other}/preferences", admin_only(200), {"daily_digest": True}),
    Endpoint("GET", "/users/{me}/ui-preferences", everyone(200)),
    Endpoint("GET", "/users/{other}/ui-preferences", admin_only(200)),
    Endpoint(
        "PUT", "/users/{me}/ui-preferences", everyone(200), {"jobs_table_columns": {"name": False}}
    ),
    Endpoint(
        "PUT",
        "/users/{other}/ui-preferences",
        admin_only(200),
        {"jobs_table_columns": {"name": False}},
    ),
]


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, str):
        return template.format(**values)
    return template


@pytest.mark.parametrize("role", [ADMIN, USER, VIEWER], ids=str)
@pytest.mark.parametrize(
    "endpoint",
    ENDPOINTS,
    ids=[f"{e.method} {e.path} {sorted(e.body or e.form or {})}" for e in ENDPOINTS],
)
async def test_rbac_matrix(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: FrozenClock,
    endpoint: Endpoint,
    role: UserRole,
) -> None:
    caller = await create_user(session, role=role)
    other = await create_user(session, role=VIEWER)
    values = {"me": str(caller.id), "other": str(other.id), "name": caller.username}
    values["role"] = role.value
    if "{refresh}" in str(endpoint.body):
        tokens = (await login(client, caller.username, DEFAULT_PASSWORD)).json()
        values["refresh"] = tokens["refresh_token"]
    headers = auth_headers(settings, clock, caller) if endpoint.authenticated else {}

    response = await client.request(
        endpoint.method,
        AUTH + _fill(endpoint.path, values),
        json=_fill(endpoint.body, values),
        data=_fill(endpoint.form, values),
        headers=headers,
    )

    assert response.status_code == endpoint.expected[role], response.text


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.authenticated])
async def test_every_protected_endpoint_needs_a_token(
    client: httpx.AsyncClient, endpoint: Endpoint
) -> None:
    path = _fill(endpoint.path, {"me": str(uuid.uuid4()), "other": str(uuid.uuid4())})

    response = await client.request(endpoint.method, AUTH + path, json=endpoint.body)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


# --- list and read -----------------------------------------------------------------------------


async def test_admin_lists_every_user(
    client: httpx.AsyncClient,
    admin: User,
    member: User,
    viewer: User,
    admin_headers: dict[str, str],
) -> None:
    response = await client.get(USERS, headers=admin_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["users"]) == 3
    assert {user["id"] for user in body["users"]} == {str(u.id) for u in (admin, member, viewer)}
    assert all(set(user) == USER_KEYS for user in body["users"])


async def test_a_user_reads_their_own_profile(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    response = await client.get(f"{USERS}/{member.id}", headers=member_headers)

    assert response.status_code == 200
    assert response.json()["user"]["username"] == member.username


async def test_another_users_profile_is_forbidden(
    client: httpx.AsyncClient, admin: User, member_headers: dict[str, str]
) -> None:
    response = await client.get(f"{USERS}/{admin.id}", headers=member_headers)

    assert response.status_code == 403
    assert response.json() == {
        "error": "Forbidden",
        "message": "You can only view your own profile.",
        "details": None,
    }


async def test_unknown_and_malformed_ids(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    unknown = await client.get(f"{USERS}/{uuid.uuid4()}", headers=admin_headers)
    malformed = await client.get(f"{USERS}/not-a-uuid", headers=admin_headers)

    assert unknown.status_code == 404
    assert unknown.json()["error"] == "User not found"
    assert malformed.status_code == 404  # no route serves a path whose id is not a UUID


# --- update ------------------------------------------------------------------------------------


async def test_a_user_changes_their_email_and_password(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}",
        json={"email": "Fresh@Example.com", "password": "a-new-password"},
        headers=member_headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "User updated successfully"
    assert body["updated_fields"] == ["email", "password"]
    assert body["user"]["email"] == "fresh@example.com"
    assert (await login(client, member.username, "a-new-password")).status_code == 200
    assert (await login(client, member.username, DEFAULT_PASSWORD)).status_code == 401


async def test_a_user_sets_their_own_time_zone(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    before = await client.get(f"{USERS}/{member.id}", headers=member_headers)
    assert before.json()["user"]["timezone"] == "Asia/Tokyo"  # SCHEDULER_TIMEZONE

    response = await client.put(
        f"{USERS}/{member.id}", json={"timezone": "Europe/Berlin"}, headers=member_headers
    )

    assert response.status_code == 200
    assert response.json()["updated_fields"] == ["timezone"]
    assert response.json()["user"]["timezone"] == "Europe/Berlin"
    me = await client.get(f"{AUTH}/me", headers=member_headers)
    assert me.json()["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "localtime", "America", "", None])
async def test_an_unknown_time_zone_is_422(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str], zone: str | None
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}", json={"timezone": zone}, headers=member_headers
    )

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["body.timezone"]


async def test_an_admin_sets_anyones_time_zone_but_a_user_not_anothers(
    client: httpx.AsyncClient,
    member: User,
    viewer: User,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
) -> None:
    refused = await client.put(
        f"{USERS}/{viewer.id}", json={"timezone": "UTC"}, headers=member_headers
    )
    assert refused.status_code == 403

    done = await client.put(f"{USERS}/{member.id}", json={"timezone": "UTC"}, headers=admin_headers)
    assert done.status_code == 200
    assert done.json()["user"]["timezone"] == "UTC"


async def test_a_user_registered_with_a_time_zone_keeps_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"username": "zoned", "email": "zoned@example.com", "password": "long-enough-1"}
    created = await client.post(
        f"{AUTH}/register", json={**body, "timezone": "America/New_York"}, headers=admin_headers
    )
    assert created.status_code == 201
    assert created.json()["user"]["timezone"] == "America/New_York"

    bad = await client.post(
        f"{AUTH}/register",
        json={**body, "username": "zoned2", "email": "z2@example.com", "timezone": "Nowhere"},
        headers=admin_headers,
    )
    assert bad.status_code == 422
    assert [d["field"] for d in bad.json()["details"]] == ["body.timezone"]


async def test_a_new_password_ends_every_refresh_token(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    tokens = (await login(client, member.username, DEFAULT_PASSWORD)).json()

    await client.put(
        f"{USERS}/{member.id}", json={"password": "a-new-password"}, headers=member_headers
    )

    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


@pytest.mark.parametrize(
    "body", [{"role": "admin"}, {"is_active": False}, {"role": "user"}, {"is_active": True}]
)
async def test_a_non_admin_cannot_set_role_or_is_active_on_themselves(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    body: dict[str, Any],
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}", json={"email": "x@example.com", **body}, headers=member_headers
    )

    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"
    await session.refresh(member)
    assert (member.role, member.is_active, member.email) == (
        UserRole.USER,
        True,
        f"{member.username}@example.com",
    )


@pytest.mark.parametrize("unknown", ["username", "password_hash", "id", "created_at"])
async def test_update_rejects_unknown_fields(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str], unknown: str
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}", json={unknown: "whatever"}, headers=member_headers
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == f"body.{unknown}"


async def test_nothing_to_update_is_400(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    response = await client.put(f"{USERS}/{member.id}", json={}, headers=member_headers)

    assert response.status_code == 400
    assert response.json()["error"] == "No valid fields to update"


async def test_null_is_not_a_value_to_update_to(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}", json={"email": None, "password": None}, headers=member_headers
    )

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["body.email", "body.password"]


async def test_update_validates_email_and_password(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    for body in ({"email": "nope"}, {"password": "short"}):
        response = await client.put(f"{USERS}/{member.id}", json=body, headers=member_headers)
        assert response.status_code == 422


async def test_a_taken_email_is_409(
    client: httpx.AsyncClient, admin: User, member: User, member_headers: dict[str, str]
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}", json={"email": admin.email.upper()}, headers=member_headers
    )

    assert response.status_code == 409
    assert response.json()["error"] == "Email already exists"


async def test_a_role_change_applies_to_the_next_request(
    client: httpx.AsyncClient,
    member: User,
    member_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    assert (await client.get(USERS, headers=member_headers)).status_code == 403

    promoted = await client.put(
        f"{USERS}/{member.id}", json={"role": "admin"}, headers=admin_headers
    )

    assert promoted.json()["updated_fields"] == ["role"]
    assert (await client.get(USERS, headers=member_headers)).status_code == 200
    await client.put(f"{USERS}/{member.id}", json={"role": "viewer"}, headers=admin_headers)
    assert (await client.get(USERS, headers=member_headers)).status_code == 403


async def test_deactivation_applies_to_the_next_request_and_ends_sessions(
    client: httpx.AsyncClient, member: User, admin_headers: dict[str, str]
) -> None:
    tokens = (await login(client, member.username, DEFAULT_PASSWORD)).json()
    access = {"Authorization": f"Bearer {tokens['access_token']}"}

    response = await client.put(
        f"{USERS}/{member.id}", json={"is_active": False}, headers=admin_headers
    )

    assert response.json()["user"]["is_active"] is False
    assert (await client.get(f"{AUTH}/me", headers=access)).status_code == 401
    await client.put(f"{USERS}/{member.id}", json={"is_active": True}, headers=admin_headers)
    # Reactivation does not revive the sessions of before.
    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


@pytest.mark.parametrize("body", [{"role": "user"}, {"is_active": False}])
async def test_an_admin_cannot_demote_or_deactivate_themselves(
    client: httpx.AsyncClient, admin: User, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.put(f"{USERS}/{admin.id}", json=body, headers=admin_headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Cannot change your own role or status"


# --- delete ------------------------------------------------------------------------------------


async def test_admin_deletes_a_user_whose_token_then_stops_working(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: User,
    member_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    member_id, username = member.id, member.username

    response = await client.delete(f"{USERS}/{member_id}", headers=admin_headers)

    assert response.status_code == 200
    assert response.json() == {
        "message": "User deleted successfully",
        "deleted_user": {"id": str(member_id), "username": username},
    }
    assert await session.scalar(select(func.count()).where(User.id == member_id)) == 0
    assert (await client.get(f"{AUTH}/me", headers=member_headers)).status_code == 401
    assert (await client.delete(f"{USERS}/{member_id}", headers=admin_headers)).status_code == 404


async def test_an_admin_cannot_delete_themselves(
    client: httpx.AsyncClient, admin: User, admin_headers: dict[str, str]
) -> None:
    response = await client.delete(f"{USERS}/{admin.id}", headers=admin_headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Cannot delete your own account"


# --- notification preferences ------------------------------------------------------------------


async def test_preferences_are_created_with_defaults_on_first_read(
    client: httpx.AsyncClient, session: AsyncSession, member: User, member_headers: dict[str, str]
) -> None:
    rows = select(func.count()).where(UserNotificationPreferences.user_id == member.id)
    assert await session.scalar(rows) == 0

    response = await client.get(f"{USERS}/{member.id}/preferences", headers=member_headers)

    assert response.status_code == 200
    assert response.json() == {
        "message": "Notification preferences retrieved successfully",
        "preferences": DEFAULT_NOTIFICATION_PREFERENCES,
    }
    assert await session.scalar(rows) == 1
    again = await client.get(f"{USERS}/{member.id}/preferences", headers=member_headers)
    assert again.json()["preferences"] == DEFAULT_NOTIFICATION_PREFERENCES
    assert await session.scalar(rows) == 1


async def test_preferences_update_only_what_is_sent(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    url = f"{USERS}/{member.id}/preferences"

    first = await client.put(url, json={"daily_digest": True}, headers=member_headers)
    second = await client.put(
        url, json={"email_on_job_success": False, "weekly_report": None}, headers=member_headers
    )

    assert first.json()["message"] == "Notification preferences updated successfully"
    expected = {**DEFAULT_NOTIFICATION_PREFERENCES, "daily_digest": True}
    assert first.json()["preferences"] == expected
    assert second.json()["preferences"] == {**expected, "email_on_job_success": False}
    stored = await client.get(url, headers=member_headers)
    assert stored.json()["preferences"] == second.json()["preferences"]


async def test_preferences_reject_unknown_fields(
    client: httpx.AsyncClient, member: User, member_headers: dict[str, str]
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}/preferences", json={"sms_alerts": True}, headers=member_headers
    )

    assert response.status_code == 422


async def test_admin_manages_anyones_preferences_but_not_nobodys(
    client: httpx.AsyncClient, member: User, admin_headers: dict[str, str]
) -> None:
    response = await client.put(
        f"{USERS}/{member.id}/preferences", json={"daily_digest": True}, headers=admin_headers
    )
    unknown = await client.get(f"{USERS}/{uuid.uuid4()}/preferences", headers=admin_headers)

    assert response.json()["preferences"]["daily_digest"] is True
    assert unknown.status_code == 404


async def test_others_preferences_are_forbidden(
    client: httpx.AsyncClient, admin: User, member_headers: dict[str, str]
) -> None:
    for path in ("preferences", "ui-preferences"):
        response = await client.get(f"{USERS}/{admin.id}/{path}", headers=member_headers)
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"


# --- UI preferences ----------------------------------------------------------------------------


async def test_every_jobs_table_column_is_shown_by_default(
    client: httpx.AsyncClient, session: AsyncSession, viewer: User, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(f"{USERS}/{viewer.id}/ui-preferences", headers=viewer_headers)

    assert response.status_code == 200
    columns = response.json()["preferences"]["jobs_table_columns"]
    assert set(response.json()) == {"preferences"}
    assert set(columns) == ALL_COLUMNS
    assert {"name", "cron_expression", "last_execution_status", "next_execution_at"} <= ALL_COLUMNS
    assert all(shown is True for shown in columns.values())
    # Reading stores nothing: the defaults live in the code.
    rows = select(func.count()).where(UserUiPreferences.user_id == viewer.id)
    assert await session.scalar(rows) == 0


async def test_ui_preferences_drop_unknown_keys_and_default_missing_ones(
    client: httpx.AsyncClient, viewer: User, viewer_headers: dict[str, str]
) -> None:
    url = f"{USERS}/{viewer.id}/ui-preferences"

    first = await client.put(
        url,
        json={"jobs_table_columns": {"name": False, "timezone": False, "favourite_color": False}},
        headers=viewer_headers,
    )
    second = await client.put(
        url, json={"jobs_table_columns": {"category": False}}, headers=viewer_headers
    )

    assert first.status_code == 200
    columns = first.json()["preferences"]["jobs_table_columns"]
    assert set(columns) == ALL_COLUMNS
    assert {name for name, shown in columns.items() if not shown} == {"name", "timezone"}
    hidden = {
        name
        for name, shown in second.json()["preferences"]["jobs_table_columns"].items()
        if not shown
    }
    assert hidden == {"category"}
    stored = await client.get(url, headers=viewer_headers)
    assert stored.json() == second.json()


@pytest.mark.parametrize(
    "body",
    [{}, {"jobs_table_columns": {"name": "maybe"}}, {"jobs_table_columns": {}, "theme": "dark"}],
)
async def test_ui_preferences_validate_the_body(
    client: httpx.AsyncClient, viewer: User, viewer_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.put(
        f"{USERS}/{viewer.id}/ui-preferences", json=body, headers=viewer_headers
    )

    assert response.status_code == 422

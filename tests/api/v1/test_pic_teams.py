"""PIC teams API: the category rules (shared service) plus the required Slack handle."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.pic_team import PicTeam
from models.user import User
from tests.support.job_factories import create_job, job_payload

pytestmark = pytest.mark.usefixtures("fake_dns")

TEAMS = "/api/v1/pic-teams"
TEAM_KEYS = {"id", "slug", "name", "slack_handle", "is_active", "created_at", "updated_at"}


async def test_create_and_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    created = await client.post(
        TEAMS, json={"name": "Site Reliability", "slack_handle": " @sre "}, headers=admin_headers
    )
    listed = await client.get(TEAMS, headers=viewer_headers)

    assert created.status_code == 201
    assert created.json()["message"] == "PIC team created"
    team = created.json()["pic_team"]
    assert set(team) == TEAM_KEYS
    assert (team["slug"], team["slack_handle"]) == ("site-reliability", "@sre")
    assert set(listed.json()) == {"pic_teams"}
    assert [t["slug"] for t in listed.json()["pic_teams"]] == ["site-reliability"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Ops"}, "body.slack_handle"),
        ({"name": "Ops", "slack_handle": ""}, "body.slack_handle"),
        ({"name": "Ops", "slack_handle": "   "}, "body.slack_handle"),
        ({"name": "Ops", "slack_handle": None}, "body.slack_handle"),
        ({"slack_handle": "@ops"}, "body.name"),
    ],
)
async def test_slack_handle_and_name_are_required(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post(TEAMS, json=body, headers=admin_headers)

    assert response.status_code == 422
    assert field in {detail["field"] for detail in response.json()["details"]}


async def test_duplicate_slug_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    response = await client.post(
        TEAMS, json={"name": "data_platform", "slack_handle": "@x"}, headers=admin_headers
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": "Duplicate slug",
        "message": 'PIC team slug "data-platform" already exists.',
        "details": None,
    }


async def test_rename_moves_jobs_and_handle_changes(
    client: httpx.AsyncClient,
    admin: User,
    admin_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    jobs = [await create_job(session, owner=admin, pic_team=team.slug) for _ in range(2)]

    response = await client.put(
        f"{TEAMS}/{team.id}",
        json={"name": "Data Engineering", "slack_handle": "@de-oncall"},
        headers=admin_headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["message"] == "PIC team updated"
    assert response.json()["jobs_updated"] == 2
    assert response.json()["pic_team"]["slug"] == "data-engineering"
    assert response.json()["pic_team"]["slack_handle"] == "@de-oncall"
    for job in jobs:
        await session.refresh(job)
        assert job.pic_team == "data-engineering"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"slack_handle": ""}, 422),
        ({"slack_handle": None}, 422),
        ({"slug": "x"}, 400),
        ({}, 400),
        ({"slack_handle": "@new"}, 200),
    ],
)
async def test_update_rules(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    team: PicTeam,
    body: dict[str, Any],
    status: int,
) -> None:
    response = await client.put(f"{TEAMS}/{team.id}", json=body, headers=admin_headers)

    assert response.status_code == status, response.text


async def test_disable_keeps_jobs_and_refuses_new_ones(
    client: httpx.AsyncClient,
    admin: User,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    job = await create_job(session, owner=admin, pic_team=team.slug)

    response = await client.delete(f"{TEAMS}/{team.id}", headers=admin_headers)
    refused = await client.post("/api/v1/jobs", json=job_payload(team.slug), headers=admin_headers)
    hidden = await client.get(TEAMS, params={"include_inactive": True}, headers=member_headers)
    shown = await client.get(TEAMS, params={"include_inactive": True}, headers=admin_headers)

    assert response.status_code == 200
    assert response.json()["message"] == "PIC team disabled"
    assert response.json()["pic_team"]["is_active"] is False
    assert refused.status_code == 400
    assert refused.json()["error"] == "Invalid PIC team"
    assert hidden.json()["pic_teams"] == []
    assert [t["slug"] for t in shown.json()["pic_teams"]] == ["data-platform"]
    await session.refresh(job)
    assert job.pic_team == "data-platform"


async def test_unknown_team_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    missing = uuid.uuid4()

    responses = [
        await client.get(f"{TEAMS}/{missing}", headers=admin_headers),
        await client.put(f"{TEAMS}/{missing}", json={"name": "X"}, headers=admin_headers),
        await client.delete(f"{TEAMS}/{missing}", headers=admin_headers),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]
    assert responses[0].json()["message"] == f"No PIC team found with ID: {missing}"


@pytest.mark.parametrize("actor", ["member", "viewer"])
async def test_only_admins_write(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    viewer_headers: dict[str, str],
    team: PicTeam,
    actor: str,
) -> None:
    headers = member_headers if actor == "member" else viewer_headers

    responses = [
        await client.post(TEAMS, json={"name": "X", "slack_handle": "@x"}, headers=headers),
        await client.put(f"{TEAMS}/{team.id}", json={"name": "Y"}, headers=headers),
        await client.delete(f"{TEAMS}/{team.id}", headers=headers),
        await client.get(TEAMS, headers=headers),
        await client.get(f"{TEAMS}/{team.id}", headers=headers),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403, 200, 200]


async def test_anonymous_is_401(client: httpx.AsyncClient, team: PicTeam) -> None:
    responses = [
        await client.get(TEAMS),
        await client.post(TEAMS, json={"name": "X", "slack_handle": "@x"}),
        await client.delete(f"{TEAMS}/{team.id}"),
    ]

    assert [response.status_code for response in responses] == [401, 401, 401]

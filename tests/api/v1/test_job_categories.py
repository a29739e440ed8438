"""Job categories API: list, create (slugify, 409), rename moving jobs, soft-disable, RBAC."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.job import Job
from models.job_category import JobCategory
from models.pic_team import PicTeam
from models.user import User
from tests.support.job_factories import create_category, create_job, job_payload

pytestmark = pytest.mark.usefixtures("fake_dns")

CATEGORIES = "/api/v1/job-categories"
CATEGORY_KEYS = {"id", "slug", "name", "is_active", "created_at", "updated_at"}


async def general(session: AsyncSession) -> JobCategory:
    category = (
        await session.execute(select(JobCategory).where(JobCategory.slug == "general"))
    ).scalar_one()
    return category


async def test_general_exists_from_the_first_migration(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(CATEGORIES, headers=viewer_headers)

    assert response.status_code == 200
    categories = response.json()["categories"]
    assert [(c["slug"], c["name"], c["is_active"]) for c in categories] == [
        ("general", "General", True)
    ]
    assert set(categories[0]) == CATEGORY_KEYS


async def test_inactive_categories_are_listed_for_admins_who_ask(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    await create_category(session, name="Archived", is_active=False)
    await create_category(session, name="Reports")

    def slugs(response: httpx.Response) -> list[str]:
        return [category["slug"] for category in response.json()["categories"]]

    admin_default = await client.get(CATEGORIES, headers=admin_headers)
    admin_all = await client.get(
        CATEGORIES, params={"include_inactive": "true"}, headers=admin_headers
    )
    member_all = await client.get(
        CATEGORIES, params={"include_inactive": "true"}, headers=member_headers
    )

    assert slugs(admin_default) == ["general", "reports"]
    assert slugs(admin_all) == ["archived", "general", "reports"]
    assert slugs(member_all) == ["general", "reports"]


async def test_create_derives_the_slug_from_the_name(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        CATEGORIES, json={"name": "  Data Pipelines  "}, headers=admin_headers
    )

    assert response.status_code == 201
    assert response.json()["message"] == "Category created"
    category = response.json()["category"]
    assert set(category) == CATEGORY_KEYS
    assert (category["name"], category["slug"], category["is_active"]) == (
        "Data Pipelines",
        "data-pipelines",
        True,
    )


async def test_create_slugifies_an_explicit_slug(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        CATEGORIES, json={"name": "Analytics Jobs", "slug": "Analytics"}, headers=admin_headers
    )

    assert response.json()["category"]["slug"] == "analytics"


@pytest.mark.parametrize(
    ("body", "title"),
    [
        ({"name": "General"}, "Duplicate slug"),
        ({"name": "Something else", "slug": "general"}, "Duplicate slug"),
        ({"name": "GENERAL", "slug": "general-2"}, "Duplicate name"),
    ],
)
async def test_duplicates_are_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], title: str
) -> None:
    response = await client.post(CATEGORIES, json=body, headers=admin_headers)

    assert response.status_code == 409
    assert response.json()["error"] == title


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "x" * 256}, "body.name"),
        ({"name": "!!!"}, "body.slug"),
        ({"name": "Ops", "slug": "---"}, "body.slug"),
        ({"name": "Ops", "is_active": False}, "body.is_active"),
    ],
)
async def test_create_validation(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post(CATEGORIES, json=body, headers=admin_headers)

    assert response.status_code == 422
    assert field in {detail["field"] for detail in response.json()["details"]}


async def test_renaming_a_category_moves_its_jobs(
    client: httpx.AsyncClient,
    admin: User,
    admin_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    category = await create_category(session, name="Reports")
    moved = [
        await create_job(session, owner=admin, pic_team=team.slug, category="reports")
        for _ in range(3)
    ]
    untouched = await create_job(session, owner=admin, pic_team=team.slug, category="general")

    response = await client.put(
        f"{CATEGORIES}/{category.id}", json={"name": "Monthly Reports"}, headers=admin_headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Category updated"
    assert body["jobs_updated"] == 3
    assert (body["category"]["name"], body["category"]["slug"]) == (
        "Monthly Reports",
        "monthly-reports",
    )
    listed = await client.get(
        "/api/v1/jobs", params={"category": "monthly-reports"}, headers=admin_headers
    )
    assert {job["id"] for job in listed.json()["jobs"]} == {str(job.id) for job in moved}
    old = await client.get("/api/v1/jobs", params={"category": "reports"}, headers=admin_headers)
    assert old.json()["total"] == 0
    await session.refresh(untouched)
    assert untouched.category == "general"
    # New jobs can use the new slug (or the new name).
    created = await client.post(
        "/api/v1/jobs",
        json=job_payload(team.slug, category="Monthly Reports"),
        headers=admin_headers,
    )
    assert created.json()["job"]["category"] == "monthly-reports"


async def test_renaming_without_changing_the_slug_moves_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    category = await create_category(session, name="Reports")

    response = await client.put(
        f"{CATEGORIES}/{category.id}", json={"name": "REPORTS"}, headers=admin_headers
    )

    assert response.status_code == 200
    assert response.json()["jobs_updated"] == 0
    assert response.json()["category"]["slug"] == "reports"


async def test_general_cannot_be_renamed_or_disabled(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    category = await general(session)

    renamed = await client.put(
        f"{CATEGORIES}/{category.id}", json={"name": "Misc"}, headers=admin_headers
    )
    disabled = await client.delete(f"{CATEGORIES}/{category.id}", headers=admin_headers)

    assert renamed.status_code == 400
    assert renamed.json() == {
        "error": "Invalid category",
        "message": 'The "General" category cannot be renamed.',
        "details": None,
    }
    assert disabled.status_code == 400


@pytest.mark.parametrize(
    "body",
    [{"slug": "new-slug"}, {"name": "New", "slug": "new"}, {"slug": None}],
)
async def test_sending_a_slug_on_update_is_400(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    session: AsyncSession,
    body: dict[str, Any],
) -> None:
    category = await create_category(session, name="Reports")

    response = await client.put(f"{CATEGORIES}/{category.id}", json=body, headers=admin_headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid payload"
    assert response.json()["message"] == "Slug cannot be edited directly; it is derived from name."


async def test_rename_onto_a_taken_slug_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    category = await create_category(session, name="Reports")
    await create_category(session, name="Billing")

    response = await client.put(
        f"{CATEGORIES}/{category.id}", json={"name": "billing"}, headers=admin_headers
    )

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "status"), [({}, 400), ({"name": ""}, 422), ({"name": None}, 422), ({"x": 1}, 422)]
)
async def test_update_validation(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    session: AsyncSession,
    body: dict[str, Any],
    status: int,
) -> None:
    category = await create_category(session, name="Reports")

    response = await client.put(f"{CATEGORIES}/{category.id}", json=body, headers=admin_headers)

    assert response.status_code == status


async def test_delete_disables_and_new_jobs_cannot_choose_it(
    client: httpx.AsyncClient,
    admin: User,
    admin_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    category = await create_category(session, name="Legacy")
    job = await create_job(session, owner=admin, pic_team=team.slug, category="legacy")

    response = await client.delete(f"{CATEGORIES}/{category.id}", headers=admin_headers)
    refused = await client.post(
        "/api/v1/jobs", json=job_payload(team.slug, category="legacy"), headers=admin_headers
    )
    enabled = await client.put(
        f"{CATEGORIES}/{category.id}", json={"is_active": True}, headers=admin_headers
    )

    assert response.status_code == 200
    assert response.json()["message"] == "Category disabled"
    assert response.json()["category"]["is_active"] is False
    assert refused.status_code == 400
    await session.refresh(job)
    assert job.category == "legacy"
    assert enabled.json()["category"]["is_active"] is True


async def test_get_one(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], session: AsyncSession
) -> None:
    category = await create_category(session, name="Reports")

    found = await client.get(f"{CATEGORIES}/{category.id}", headers=viewer_headers)
    missing = await client.get(f"{CATEGORIES}/{uuid.uuid4()}", headers=viewer_headers)

    assert found.json()["category"]["slug"] == "reports"
    assert missing.status_code == 404
    assert missing.json()["message"].startswith("No category found with ID")


@pytest.mark.parametrize(
    ("actor", "read", "write"),
    [("admin", 200, None), ("member", 200, 403), ("viewer", 200, 403), ("anonymous", 401, 401)],
)
async def test_rbac(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    viewer_headers: dict[str, str],
    session: AsyncSession,
    actor: str,
    read: int,
    write: int | None,
) -> None:
    headers = {
        "admin": admin_headers,
        "member": member_headers,
        "viewer": viewer_headers,
        "anonymous": {},
    }[actor]
    category = await create_category(session, name="Reports")

    responses = {
        "list": await client.get(CATEGORIES, headers=headers),
        "get": await client.get(f"{CATEGORIES}/{category.id}", headers=headers),
        "create": await client.post(CATEGORIES, json={"name": "New"}, headers=headers),
        "update": await client.put(
            f"{CATEGORIES}/{category.id}", json={"name": "Renamed"}, headers=headers
        ),
        "delete": await client.delete(f"{CATEGORIES}/{category.id}", headers=headers),
    }

    statuses = {name: response.status_code for name, response in responses.items()}
    expected_writes = (201, 200, 200) if write is None else (write, write, write)
    assert statuses == {
        "list": read,
        "get": read,
        "create": expected_writes[0],
        "update": expected_writes[1],
        "delete": expected_writes[2],
    }
    jobs = (await session.execute(select(Job))).scalars().all()
    assert jobs == []

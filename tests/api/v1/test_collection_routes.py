"""Collection routes answer at the trailing-slash path too, directly (no redirect)."""

from __future__ import annotations

import httpx
import pytest

from models.pic_team import PicTeam
from tests.support.job_factories import job_payload

pytestmark = pytest.mark.usefixtures("fake_dns")


@pytest.mark.parametrize(
    ("collection", "key"),
    [("jobs", "jobs"), ("job-categories", "categories"), ("pic-teams", "pic_teams")],
)
async def test_a_listing_answers_with_and_without_the_slash(
    client: httpx.AsyncClient, admin_headers: dict[str, str], collection: str, key: str
) -> None:
    bare = await client.get(f"/api/v1/{collection}", headers=admin_headers)
    slashed = await client.get(f"/api/v1/{collection}/", headers=admin_headers)

    assert bare.status_code == slashed.status_code == 200
    assert key in slashed.json()
    assert slashed.json() == bare.json()


async def test_a_create_answers_at_the_slash(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    job = await client.post("/api/v1/jobs/", json=job_payload(team.slug), headers=admin_headers)
    category = await client.post(
        "/api/v1/job-categories/", json={"name": "Reports"}, headers=admin_headers
    )
    pic_team = await client.post(
        "/api/v1/pic-teams/", json={"name": "SRE", "slack_handle": "@sre"}, headers=admin_headers
    )

    assert [job.status_code, category.status_code, pic_team.status_code] == [201, 201, 201]
    assert category.json()["category"]["slug"] == "reports"
    assert pic_team.json()["pic_team"]["slug"] == "sre"

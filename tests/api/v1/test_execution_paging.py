"""Execution listings at scale: keyset cursors (`cursor` / `next_cursor`) and totals that
become estimates past EXECUTION_EXACT_COUNT_LIMIT."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import ExecutionStatus, TriggerType
from models import Job, PicTeam, User
from tests.support.execution_factories import create_execution
from tests.support.job_factories import create_job

START = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
LISTINGS = ("/api/v1/executions", "/api/v1/jobs/{job_id}/executions")


@pytest.fixture
async def job(session: AsyncSession, member: User, team: PicTeam) -> Job:
    return await create_job(session, owner=member, pic_team=team.slug, name="paged")


@pytest.fixture
async def rows(session: AsyncSession, job: Job) -> list[str]:
    """15 executions of `job`, 5 of them attempts of one slot (ties on the slot, decided by
    attempt, then id); their ids in the listings' order: newest slot, last attempt, then id,
    each descending."""
    created = [
        await create_execution(session, job, scheduled_for=START + timedelta(minutes=minute))
        for minute in range(10)
    ]
    for attempt in (1, 1, 2, 2, 2):
        created.append(
            await create_execution(
                session,
                job,
                scheduled_for=START + timedelta(minutes=4, seconds=30),
                attempt=attempt,
                trigger_type=TriggerType.MANUAL,
            )
        )
    created.sort(key=lambda e: (e.scheduled_for, e.attempt, e.id), reverse=True)
    return [str(e.id) for e in created]


def _url(listing: str, job: Job) -> str:
    return listing.format(job_id=job.id)


async def _walk(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    limit: int,
    between_pages: Any = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page by cursor from the first; calls `between_pages()` after each page."""
    ids: list[str] = []
    bodies: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        bodies.append(body)
        ids += [e["id"] for e in body["executions"]]
        if body["next_cursor"] is None:
            return ids, bodies
        if between_pages is not None:
            await between_pages()
        params = {"limit": limit, "cursor": body["next_cursor"]}


@pytest.mark.parametrize("listing", LISTINGS)
async def test_a_cursor_walk_is_the_listing_in_order(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    job: Job,
    rows: list[str],
    listing: str,
) -> None:
    everything = await client.get(_url(listing, job), params={"limit": 200}, headers=viewer_headers)
    assert [e["id"] for e in everything.json()["executions"]] == rows

    ids, bodies = await _walk(client, _url(listing, job), viewer_headers, limit=4)

    assert ids == rows
    assert [len(body["executions"]) for body in bodies] == [4, 4, 4, 3]
    assert bodies[0]["page"] == 1
    assert all(body["page"] is None for body in bodies[1:])  # asked by cursor: no number
    assert all(body["total_is_estimate"] is False for body in bodies)


async def test_rows_arriving_during_a_walk_neither_repeat_nor_hide_rows(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    session: AsyncSession,
    job: Job,
    rows: list[str],
) -> None:
    newer: list[str] = []
    older: list[str] = []

    async def insert_rows() -> None:
        # A newer slot (before the walk's position: not shown) and an older one (after it).
        step = len(newer) + 1
        fresh = await create_execution(session, job, scheduled_for=START + timedelta(hours=step))
        stale = await create_execution(session, job, scheduled_for=START - timedelta(hours=step))
        newer.append(str(fresh.id))
        older.append(str(stale.id))

    ids, _ = await _walk(
        client, "/api/v1/executions", viewer_headers, limit=4, between_pages=insert_rows
    )

    assert len(ids) == len(set(ids))  # no row twice
    assert [i for i in ids if i in rows] == rows  # none of the first rows missed, in order
    assert not set(ids) & set(newer)
    assert set(older) <= set(ids)  # older slots come after the position: shown
    # With offsets the same inserts would shift every later page by the new rows.
    paged = await client.get(
        "/api/v1/executions", params={"limit": 4, "page": 2}, headers=viewer_headers
    )
    assert [e["id"] for e in paged.json()["executions"]] != rows[4:8]


async def test_a_numbered_page_gives_the_cursor_of_the_next(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], rows: list[str]
) -> None:
    first = await client.get(
        "/api/v1/executions", params={"limit": 5, "page": 2}, headers=viewer_headers
    )
    cursor = first.json()["next_cursor"]

    following = await client.get(
        "/api/v1/executions", params={"limit": 5, "cursor": cursor}, headers=viewer_headers
    )

    assert [e["id"] for e in following.json()["executions"]] == rows[10:15]
    assert following.json()["next_cursor"] is None


async def test_a_cursor_keeps_the_filters_it_is_given(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], job: Job, rows: list[str]
) -> None:
    params: dict[str, Any] = {"limit": 2, "trigger_type": "manual"}
    first = (await client.get("/api/v1/executions", params=params, headers=viewer_headers)).json()
    second = await client.get(
        "/api/v1/executions",
        params={**params, "cursor": first["next_cursor"]},
        headers=viewer_headers,
    )

    manual = [e["id"] for e in first["executions"] + second.json()["executions"]]
    assert manual == rows[5:9]  # the slot's five attempts sit between minutes 5 and 4
    assert all(e["trigger_type"] == "manual" for e in second.json()["executions"])


def _token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "nope",
    "%%%",
    _token("not a list"),
    _token([1, 2]),
    _token(["2026-05-20T09:00:00", 1, uuid.uuid4().hex]),  # no offset
    _token(["2026-05-20T09:00:00+00:00", 0, uuid.uuid4().hex]),  # attempt 0
    _token(["2026-05-20T09:00:00+00:00", "1", uuid.uuid4().hex]),
    _token(["2026-05-20T09:00:00+00:00", 1, "not-a-uuid"]),
    _token(["someday", 1, uuid.uuid4().hex]),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "x" * 201,
]


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_a_bad_cursor_is_a_422_naming_it(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    job: Job,
    listing: str,
    cursor: str,
) -> None:
    response = await client.get(
        _url(listing, job), params={"cursor": cursor}, headers=viewer_headers
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"]
    assert "query.cursor" in [detail["field"] for detail in body["details"]]


async def test_page_and_cursor_together_are_a_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], rows: list[str]
) -> None:
    first = await client.get("/api/v1/executions", params={"limit": 2}, headers=viewer_headers)

    response = await client.get(
        "/api/v1/executions",
        params={"page": 2, "cursor": first.json()["next_cursor"]},
        headers=viewer_headers,
    )

    assert response.status_code == 422
    assert "page" in response.json()["details"][0]["message"]


async def test_totals_past_the_limit_are_estimates(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    settings: Settings,
    session: AsyncSession,
    job: Job,
    rows: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_execution(
        session, job, scheduled_for=START - timedelta(days=1), status=ExecutionStatus.FAILED
    )
    monkeypatch.setattr(settings, "execution_exact_count_limit", 10)
    postgresql = session.get_bind().dialect.name == "postgresql"

    many = (await client.get("/api/v1/executions", headers=viewer_headers)).json()
    few = (
        await client.get("/api/v1/executions", params={"status": "failed"}, headers=viewer_headers)
    ).json()
    job_rows = (
        await client.get(f"/api/v1/jobs/{job.id}/executions", headers=viewer_headers)
    ).json()

    assert (few["total"], few["total_is_estimate"]) == (1, False)
    for listing in (many, job_rows):
        assert len(listing["executions"]) == 16  # the page itself is never estimated
        if postgresql:  # past the limit: the planner's figure, never below limit + 1
            assert listing["total_is_estimate"] is True
        else:  # elsewhere counted
            assert listing["total_is_estimate"] is False
    if postgresql:
        assert many["total"] >= 11
        assert job_rows["total_executions"] >= 11
    else:
        assert (many["total"], job_rows["total_executions"]) == (16, 16)

    monkeypatch.setattr(settings, "execution_exact_count_limit", 16)
    exact = (await client.get("/api/v1/executions", headers=viewer_headers)).json()
    assert (exact["total"], exact["total_is_estimate"], exact["total_pages"]) == (16, False, 1)

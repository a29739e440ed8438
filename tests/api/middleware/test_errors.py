"""Every failure reaches the client in the contract's envelope, mapped in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.deps import SessionDep
from api.main import create_app
from core import errors
from core.config import Settings
from core.logging import RequestIdFilter
from models import JobCategory
from tests.support.live_server import serve


class ItemIn(BaseModel):
    name: str = Field(min_length=1)
    count: int


def _build_app(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/missing")
    async def missing() -> None:
        raise errors.NotFound("Job not found")

    @app.get("/throttled")
    async def throttled() -> None:
        raise errors.TooManyRequests("Slow down.", retry_after_seconds=42)

    @app.get("/unauthorized")
    async def unauthorized() -> None:
        raise errors.Unauthorized("Token expired")

    @app.get("/titled")
    async def titled() -> None:
        raise errors.InvalidInput("Nothing to change.", title="No valid fields to update")

    @app.post("/items")
    async def items(item: ItemIn) -> ItemIn:
        return item

    @app.post("/categories/{slug}")
    async def create_category(slug: str, session: SessionDep) -> dict[str, str]:
        session.add(JobCategory(slug=slug, name=slug))
        return {"slug": slug}

    @app.post("/categories/{slug}/twice")
    async def create_twice(slug: str, session: SessionDep) -> dict[str, str]:
        # Not flushed: the duplicate only surfaces when the dependency commits.
        session.add_all([JobCategory(slug=slug, name=slug), JobCategory(slug=slug, name="b")])
        return {"slug": slug}

    @app.post("/categories/{slug}/then-conflict")
    async def create_then_conflict(slug: str, session: SessionDep) -> None:
        session.add(JobCategory(slug=slug, name=slug))
        await session.flush()
        raise errors.Conflict("Category already exists")

    return app


@pytest.fixture
async def client(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = _build_app(settings)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _category_exists(sessionmaker: async_sessionmaker[AsyncSession], slug: str) -> bool:
    async with sessionmaker() as session:
        found = await session.scalar(select(JobCategory).where(JobCategory.slug == slug))
        return found is not None


async def test_unknown_route_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nope")

    assert response.status_code == 404
    assert response.json() == {
        "error": "Not found",
        "message": "No route matches GET /api/v1/nope.",
        "details": None,
    }


async def test_wrong_method_is_a_405_envelope_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/health")

    assert response.status_code == 405
    assert response.json()["error"] == "Method not allowed"
    assert "GET" in response.headers["allow"]


async def test_domain_not_found_maps_to_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/missing")

    assert response.status_code == 404
    assert response.json() == {"error": "Not found", "message": "Job not found", "details": None}


async def test_domain_error_keeps_its_specific_title(client: httpx.AsyncClient) -> None:
    response = await client.get("/titled")

    assert response.status_code == 400
    assert response.json()["error"] == "No valid fields to update"


async def test_too_many_requests_carries_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/throttled")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "42"


async def test_unauthorized_carries_www_authenticate(client: httpx.AsyncClient) -> None:
    response = await client.get("/unauthorized")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_validation_error_lists_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "", "count": "many"})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "Validation error"
    fields = {detail["field"]: detail for detail in body["details"]}
    assert set(fields) == {"body.name", "body.count"}
    assert fields["body.count"]["type"] == "int_parsing"
    assert all(detail["message"] for detail in body["details"])


async def test_malformed_json_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/items", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["type"] == "json_invalid"


async def test_unexpected_error_is_a_500_with_request_id_and_no_internals(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/boom", headers={"X-Request-ID": "req-123"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-123"
    body = response.json()
    assert body["error"] == "Internal server error"
    assert body["details"] == {"request_id": "req-123"}
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.name == "api.errors"]
    assert logged
    assert logged[0].exc_info is not None
    assert "secret internals" in str(logged[0].exc_info[1])


async def test_request_commits_before_the_response(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post("/categories/committed")

    assert response.status_code == 200
    assert await _category_exists(sessionmaker, "committed")


async def test_a_failing_commit_becomes_the_response(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post("/categories/dup/twice")

    assert response.status_code == 500
    assert not await _category_exists(sessionmaker, "dup")


async def test_a_domain_error_rolls_back_the_request(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post("/categories/rolled-back/then-conflict")

    assert response.status_code == 409
    assert not await _category_exists(sessionmaker, "rolled-back")


async def test_repeated_500s_under_uvicorn_are_logged_once_with_the_request_id_and_answered(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())
    app = _build_app(settings)
    with serve(app) as url:
        # One keep-alive connection: a server that closes it after a 500 drops the next request.
        async with httpx.AsyncClient(base_url=url, timeout=60) as live:
            responses = [
                await live.get("/boom", headers={"X-Request-ID": f"boom-{n}"}) for n in range(3)
            ]

    assert [response.status_code for response in responses] == [500, 500, 500]
    assert [response.json()["details"] for response in responses] == [
        {"request_id": f"boom-{n}"} for n in range(3)
    ]
    errors_logged = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [(record.name, record.request_id) for record in errors_logged] == [  # type: ignore[attr-defined]
        ("api.errors", f"boom-{n}") for n in range(3)
    ]
    assert all(record.exc_info is not None for record in errors_logged)


async def test_an_error_after_the_response_started_is_logged_once_and_the_connection_survives(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = _build_app(settings)

    @app.get("/after-response")
    async def after_response(background: BackgroundTasks) -> dict[str, bool]:
        def fail() -> None:
            raise RuntimeError("background failure")

        background.add_task(fail)
        return {"ok": True}

    with serve(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as live:
            first = await live.get("/after-response")
            second = await live.get("/after-response")

    assert (first.status_code, second.status_code) == (200, 200)
    errors_logged = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.name for record in errors_logged] == ["api.errors", "api.errors"]

"""`GET /metrics` of the real app: it parses with prometheus-client's parser, HTTP requests are
counted by route template exactly once each, the pool gauge follows real checkouts, and
METRICS_TOKEN guards it. (Runs and deliveries: tests/scheduler/test_metrics.py; several
worker processes: tests/api/test_metrics_processes.py.)"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from api.deps import get_metrics_service
from core import db
from core.config import Settings
from services.metrics import MetricsService
from tests.conftest import make_settings
from tests.support.clock import FrozenClock
from tests.support.metrics import Scrape, scrape
from tests.support.ports import closed_port

REQUESTS = "cronjobs_http_requests_total"
DURATION_COUNT = "cronjobs_http_request_duration_seconds_count"
JOB_ROUTE = "/api/v1/jobs/{job_id}"


async def test_requests_are_counted_once_each_by_route_template_method_and_status(
    client: httpx.AsyncClient, member_headers: dict[str, str]
) -> None:
    before = await scrape(client)
    missing_jobs = [uuid.uuid4() for _ in range(3)]
    for job_id in missing_jobs:
        assert (
            await client.get(f"/api/v1/jobs/{job_id}", headers=member_headers)
        ).status_code == 404
    assert (await client.get("/api/v1/jobs/not-a-uuid", headers=member_headers)).status_code == 404
    assert (await client.get("/api/v1/no/such/route")).status_code == 404
    assert (await client.delete("/api/v1/health")).status_code == 405
    for _ in range(2):
        assert (await client.get("/api/v1/health")).status_code == 200

    after = await scrape(client)

    assert after.delta(before, REQUESTS, method="GET", route=JOB_ROUTE, status="404") == 3
    assert after.delta(before, DURATION_COUNT, method="GET", route=JOB_ROUTE) == 3
    # An id that is not a UUID matches no route: counted with the unknown routes, as one label.
    assert after.delta(before, REQUESTS, method="GET", route="unmatched", status="404") == 2
    assert after.delta(before, REQUESTS, method="DELETE", route="/api/v1/health", status="405") == 1
    assert after.delta(before, REQUESTS, method="GET", route="/api/v1/health", status="200") == 2
    assert after.delta(before, DURATION_COUNT, method="GET", route="/api/v1/health") == 2
    # The first scrape counted itself once it was answered; this one is not in its own figures.
    assert after.delta(before, REQUESTS, method="GET", route="/metrics", status="200") == 1
    routes = after.labels_of(REQUESTS, "route")
    assert not any(str(job_id) in route or "not-a-uuid" in route for route in routes)
    assert not any("no/such" in route for route in routes)
    assert after.value(
        "cronjobs_http_request_duration_seconds_bucket",
        method="GET",
        route="/api/v1/health",
        le="+Inf",
    ) == after.value(DURATION_COUNT, method="GET", route="/api/v1/health")


async def test_methods_outside_http_are_one_label(client: httpx.AsyncClient) -> None:
    before = await scrape(client)

    await client.request("BREW", "/api/v1/health")

    after = await scrape(client)
    assert after.delta(before, REQUESTS, method="other", route="/api/v1/health", status="405") == 1
    assert "BREW" not in after.labels_of(REQUESTS, "method")


async def test_the_dashboard_is_one_route_label(client: httpx.AsyncClient) -> None:
    before = await scrape(client)

    for path in ("/", "/jobs/123", "/executions"):
        await client.get(path)

    after = await scrape(client)
    dashboard = sum(
        after.delta(before, REQUESTS, method="GET", route="dashboard", status=status)
        for status in after.labels_of(REQUESTS, "status")
    )
    assert dashboard == 3


async def test_the_scrape_has_every_documented_metric(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/health")
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = Scrape.parse(response.text).families
    assert {
        "cronjobs_http_requests",
        "cronjobs_http_request_duration_seconds",
        "cronjobs_scheduler_fires",
        "cronjobs_scheduler_retries",
        "cronjobs_scheduler_outcomes",
        "cronjobs_scheduler_interrupted_runs",
        "cronjobs_scheduler_lateness_seconds",
        "cronjobs_scheduler_due_unclaimed",
        "cronjobs_scheduler_runs_in_flight",
        "cronjobs_notification_deliveries",
        "cronjobs_notification_queue_depth",
        "cronjobs_db_pool_checked_out_connections",
    } <= families


async def test_openmetrics_is_answered_when_asked_for(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_the_pool_gauge_counts_connections_checked_out(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    gauge = "cronjobs_db_pool_checked_out_connections"
    engine: AsyncEngine = app.state.engine
    before = await scrape(client)

    async with engine.connect() as connection:
        await connection.execution_options(**{db.SQLITE_BEGIN: "DEFERRED"})
        holding = await scrape(client)
    released = await scrape(client)

    assert holding.delta(before, gauge) == 1
    assert released.delta(before, gauge) == 0


# --- METRICS_TOKEN ----------------------------------------------------------------------------

TOKEN = "metrics-token-for-tests-8f3a"


@pytest.fixture
def guarded(app: FastAPI, settings: Settings) -> Iterator[None]:
    app.state.settings = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    yield
    app.state.settings = settings


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer", TOKEN],
)
async def test_with_a_token_set_anything_else_is_401_in_the_envelope(
    client: httpx.AsyncClient, authorization: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with caplog.at_level(logging.DEBUG):
        response = await client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == "Unauthorized"
    assert "METRICS_TOKEN" in body["message"]
    assert TOKEN not in response.text
    assert TOKEN not in caplog.text


@pytest.mark.usefixtures("guarded")
async def test_with_a_token_set_a_user_token_is_not_enough(
    client: httpx.AsyncClient, member_headers: dict[str, str]
) -> None:
    assert (await client.get("/metrics", headers=member_headers)).status_code == 401


@pytest.mark.usefixtures("guarded")
async def test_with_a_token_set_the_token_is_let_in(client: httpx.AsyncClient) -> None:
    before = await scrape(client, headers={"Authorization": f"Bearer {TOKEN}"})
    await client.get("/metrics")  # refused, and counted as such

    after = await scrape(client, headers={"authorization": f"bearer {TOKEN}"})
    assert after.delta(before, REQUESTS, method="GET", route="/metrics", status="401") == 1


# --- the database away -------------------------------------------------------------------------


@pytest.fixture
async def database_away(app: FastAPI, clock: FrozenClock) -> AsyncIterator[None]:
    away = make_settings(
        f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nothing",
        db_connect_timeout_seconds=1,
        health_timeout_seconds=2,
    )
    engine = db.create_engine(away)
    service = MetricsService(db.create_sessionmaker(engine), away, clock)
    app.dependency_overrides[get_metrics_service] = lambda: service
    yield
    del app.dependency_overrides[get_metrics_service]
    await engine.dispose()


@pytest.mark.usefixtures("database_away")
async def test_without_the_database_the_scrape_answers_without_its_figures(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/api/v1/health")
    response = await client.get("/metrics")

    assert response.status_code == 200
    families = Scrape.parse(response.text).families
    assert "cronjobs_http_requests" in families
    assert "cronjobs_scheduler_due_unclaimed" not in families
    assert "cronjobs_notification_queue_depth" not in families
    assert "metrics figures" in caplog.text

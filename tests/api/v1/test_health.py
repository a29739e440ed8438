from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import make_url

from api.main import create_app
from core.config import Settings
from tests.conftest import make_settings
from tests.support.tcp_proxy import TcpProxy


async def test_health_reports_database_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["scheduler"] == "disabled"
    assert body["version"]


@pytest.mark.postgres_only
async def test_health_degrades_while_the_database_is_down_and_recovers(
    database_url: str,
) -> None:
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    settings = make_settings(
        target.set(port=proxy.port).render_as_string(hide_password=False),
        health_timeout_seconds=2,
        db_connect_timeout_seconds=1,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        assert (await client.get("/api/v1/health")).status_code == 200

        await proxy.stop()
        # Bounded so a hang fails the test instead of stalling the suite.
        down = await asyncio.wait_for(client.get("/api/v1/health"), timeout=10)
        assert down.status_code == 503
        assert down.json()["status"] == "degraded"
        assert down.json()["database"] == "unreachable"

        await proxy.start()  # same port: the database is back
        recovered = await client.get("/api/v1/health")
        assert recovered.status_code == 200
        assert recovered.json()["database"] == "ok"
    await proxy.stop()


@pytest.mark.postgres_only
async def test_health_answers_503_when_the_database_does_not_respond(
    database_url: str,
) -> None:
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    settings = make_settings(
        make_url(database_url).set(port=port).render_as_string(hide_password=False),
        health_timeout_seconds=0.5,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):
            response = await asyncio.wait_for(client.get("/api/v1/health"), timeout=10)
            assert response.status_code == 503
    finally:
        silent.close()


async def test_health_reports_a_running_scheduler_and_a_stopped_one(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"scheduler_enabled": True}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        running = (await client.get("/api/v1/health")).json()
        await app.state.scheduler.stop()
        stopped = (await client.get("/api/v1/health")).json()

    assert running["scheduler"] == "running"
    assert stopped["scheduler"] == "stopped"

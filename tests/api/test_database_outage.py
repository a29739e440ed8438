"""A database that is away, refusing, or frozen: 503 with the envelope and Retry-After, one
warning line, no request waiting past DB_COMMAND_TIMEOUT_SECONDS, and recovery by itself."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import make_url

from api.main import create_app
from core.config import Settings
from core.security import create_access_token
from tests.conftest import make_settings
from tests.support.refusing_postgres import RefusingPostgres
from tests.support.tcp_proxy import TcpProxy

COMMAND_TIMEOUT = 2.0
HEALTH_TIMEOUT = 1.0


def _settings_through(database_url: str, port: int) -> Settings:
    return make_settings(
        make_url(database_url).set(port=port).render_as_string(hide_password=False),
        db_command_timeout_seconds=COMMAND_TIMEOUT,
        db_connect_timeout_seconds=1,
        db_pool_timeout_seconds=COMMAND_TIMEOUT,
        health_timeout_seconds=HEALTH_TIMEOUT,
    )


async def _client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    token = create_access_token(uuid.uuid4(), settings, app.state.clock.now()).token
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport,
            base_url="http://test",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as client,
    ):
        yield client


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    yield proxy
    proxy.resume()
    await proxy.stop()


@pytest.fixture
async def client(database_url: str, proxy: TcpProxy) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(_settings_through(database_url, proxy.port)):
        yield client


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["error"] == "Service unavailable"
    assert set(body) == {"error", "message", "details"}


def _assert_one_warning_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logged = [record for record in caplog.records if record.name.startswith("api")]
    warnings = [record for record in logged if record.levelno >= logging.WARNING]
    assert [record.levelname for record in warnings] == ["WARNING"]
    assert warnings[0].exc_info is None
    assert "database" in warnings[0].getMessage()


async def _me(client: httpx.AsyncClient) -> httpx.Response:
    # A valid token for a user the database has to look up: the request needs the database.
    return await client.get("/api/v1/auth/me")


@pytest.mark.postgres_only
async def test_a_refused_connection_is_a_503_with_one_warning_and_recovers(
    client: httpx.AsyncClient, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await _me(client)).status_code == 401  # the database answers: no such user

    await proxy.stop()
    caplog.clear()
    caplog.set_level(logging.INFO)
    response = await _me(client)

    _assert_unavailable(response)
    _assert_one_warning_no_traceback(caplog)

    await proxy.start()
    assert (await _me(client)).status_code == 401


@pytest.mark.postgres_only
async def test_a_connection_cut_under_a_request_is_a_503(
    client: httpx.AsyncClient, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await _me(client)).status_code == 401
    proxy.stall()
    caplog.clear()
    caplog.set_level(logging.INFO)
    request = asyncio.create_task(_me(client))
    await asyncio.sleep(0.3)  # the request now waits on its pooled connection
    await proxy.stop()  # ... which is cut

    _assert_unavailable(await request)
    _assert_one_warning_no_traceback(caplog)


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "message", ["the database system is shutting down", "the database system is starting up"]
)
async def test_a_server_not_accepting_connections_is_a_503(
    database_url: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = RefusingPostgres(message)
    await server.start()
    try:
        async for client in _client_for(_settings_through(database_url, server.port)):
            caplog.clear()
            caplog.set_level(logging.INFO)
            response = await _me(client)
    finally:
        await server.stop()

    _assert_unavailable(response)
    _assert_one_warning_no_traceback(caplog)


@pytest.mark.postgres_only
async def test_a_frozen_database_answers_503_within_the_command_timeout_and_recovers(
    client: httpx.AsyncClient, proxy: TcpProxy
) -> None:
    assert (await _me(client)).status_code == 401
    # Let the pooled connection sit idle long enough to be pinged at checkout, too.
    await asyncio.sleep(2.5)
    proxy.stall()

    started = time.monotonic()
    responses = await asyncio.gather(*(_me(client) for _ in range(5)))
    waited = time.monotonic() - started
    health_started = time.monotonic()
    health = await client.get("/api/v1/health")
    health_waited = time.monotonic() - health_started

    for response in responses:
        _assert_unavailable(response)
    assert waited < COMMAND_TIMEOUT + 1.5
    assert health.status_code == 503
    assert health_waited < HEALTH_TIMEOUT + 0.5

    proxy.resume()
    await asyncio.sleep(0.2)
    assert (await _me(client)).status_code == 401
    assert (await client.get("/api/v1/health")).status_code == 200


async def test_sqlite_locked_past_the_command_timeout_is_a_503(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    settings = make_settings(database_url, db_command_timeout_seconds=0.5)
    # Another process's writer (the CLI, a backup tool) holds the write lock meanwhile.
    holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        async for client in _client_for(settings):
            caplog.clear()
            caplog.set_level(logging.INFO)
            started = time.monotonic()
            response = await _me(client)
            waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    _assert_unavailable(response)
    _assert_one_warning_no_traceback(caplog)
    assert waited < 3

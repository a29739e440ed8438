"""The pool pings connections that sat idle, and only those (core/db.py:ping_when_idle)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core import db
from core.config import Settings

pytestmark = pytest.mark.postgres_only


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        pid: int = await connection.scalar(text("SELECT pg_backend_pid()"))
        return pid


async def _terminate(database_url: str, pid: int) -> None:
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_an_idle_connection_killed_by_the_server_is_replaced(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    engine = db.create_engine(settings)
    try:
        first = await _backend_pid(engine)
        await _terminate(settings.database_url, first)
        # The dead connection is back in the pool; the checkout pings it and reconnects.
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


async def test_a_connection_used_moments_ago_is_not_pinged(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    pings: list[object] = []
    monkeypatch.setattr(
        db, "ping_connection", lambda connection, _timeout: pings.append(connection)
    )
    engine = db.create_engine(settings)
    try:
        first = await _backend_pid(engine)
        assert await _backend_pid(engine) == first
        assert pings == []
    finally:
        await engine.dispose()

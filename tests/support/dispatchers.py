"""A dispatcher that writes into a test's rolled-back transaction, for API tests that run jobs.

Every session of such a test shares the test's one connection (tests/conftest.py). The app's
own dispatcher cannot be pointed at it: its lease keeper has ticked every
`EXECUTION_LEASE_SECONDS / 3` since the (session-wide) app started, so a tick could land while
a test held a run and write on that connection at the same moment as the outcome writer, or as
the test's teardown rolled back — interleaved savepoints, and the teardown failed with
"Can't reconnect until invalid savepoint transaction is rolled back".

So each test gets a dispatcher of its own: its side tasks' transactions take turns on the
connection (as, on SQLite, they take turns for the pool's one connection), and it is closed —
runs finished, outcome writer and lease keeper stopped and awaited — before the test's
transaction is rolled back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import Settings
from integrations.address_guard import AddressGuard
from scheduler.dispatcher import Dispatcher


class TakingTurns:
    """A sessionmaker whose transactions (`begin()`) run one at a time."""

    def __init__(self, inner: async_sessionmaker[AsyncSession]) -> None:
        self.inner = inner
        self._turn = asyncio.Lock()

    def __call__(self) -> AsyncSession:
        return self.inner()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        async with self._turn, self.inner.begin() as session:
            yield session


@asynccontextmanager
async def dispatcher_in_transaction(
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    guard: AddressGuard,
    settings: Settings | None = None,
) -> AsyncIterator[Dispatcher]:
    """Stand in for `app`'s dispatcher until the block ends, writing through `sessionmaker`
    (with `settings`, by default the app's)."""
    shared: Dispatcher = app.state.dispatcher
    dispatcher = Dispatcher(
        cast(async_sessionmaker[AsyncSession], TakingTurns(sessionmaker)),
        settings or shared.settings,
        clock,
        shared.http_client,
        guard,
    )
    dispatcher.start()
    app.state.dispatcher = dispatcher
    try:
        yield dispatcher
    finally:
        app.state.dispatcher = shared
        await dispatcher.close(grace_seconds=10)

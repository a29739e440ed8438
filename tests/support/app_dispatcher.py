from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.address_guard import AddressGuard
from scheduler.dispatcher import Dispatcher
from tests.support.clock import FrozenClock


@contextmanager
def borrowed_dispatcher(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Iterator[Dispatcher]:
    """The app's own dispatcher, writing through `sessionmaker` on `clock` and allowed to call
    loopback, until the block ends."""
    dispatcher: Dispatcher = app.state.dispatcher
    saved = (dispatcher.sessionmaker, dispatcher.clock, dispatcher.guard, dispatcher.settings)
    dispatcher.sessionmaker = sessionmaker
    dispatcher.clock = clock
    dispatcher.guard = AddressGuard(allow_private=True)
    try:
        yield dispatcher
    finally:
        # Settings too: a test may swap them (tests/api/v1/test_job_headers.py turns email on).
        dispatcher.sessionmaker, dispatcher.clock, dispatcher.guard, dispatcher.settings = saved

"""Engine and session factory. Created by the app lifespan (or a worker's main), never at import."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

from sqlalchemy import event, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection, ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_

from core import metrics
from core.config import Settings
from core.errors import DatabaseUnavailable

T = TypeVar("T")


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        # aiosqlite logs every statement with its parameters (password hashes included) at
        # DEBUG; like SQLAlchemy's own loggers it stays quiet even when LOG_LEVEL=DEBUG.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        engine = create_async_engine(
            settings.database_url,
            # One connection per process: SQLite has one writer anyway, and the process's
            # transactions then queue for it, first come first served (FifoPool), up to
            # DB_POOL_TIMEOUT_SECONDS. With several connections they waited for the file lock
            # in SQLite's busy handler instead, which sleeps and polls: the lock sat free while
            # every waiter slept, and under a burst requests ran out of busy_timeout.
            poolclass=FifoPool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_args={"timeout": settings.db_connect_timeout_seconds},
        )
        busy_timeout_ms = round(settings.db_command_timeout_seconds * 1000)

        def configure_sqlite(dbapi_connection: DBAPIConnection, _record: object) -> None:
            _configure_sqlite(dbapi_connection, busy_timeout_ms)

        event.listen(engine.sync_engine, "connect", configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
        metrics.track_pool(engine)
        return engine
    engine = create_async_engine(
        settings.database_url,
        # Checkouts first come, first served: under load the plain pool's queue let a
        # request arriving as a connection came back take it ahead of those already waiting,
        # and a few waited past DB_POOL_TIMEOUT_SECONDS (500s) while the median stayed low.
        # A request waits in line only while it needs a connection (per transaction), not
        # while it waits for anything else (a test run's call, a password check).
        poolclass=FifoPool,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            # A statement the server does not answer in time fails (asyncio.TimeoutError)
            # instead of hanging its request on a frozen server.
            "command_timeout": settings.db_command_timeout_seconds,
        },
    )
    event.listen(engine.sync_engine, "handle_error", _drop_connection_that_timed_out)
    # A ping is bounded like opening a connection: a frozen server costs a checkout at most
    # the ping and one new connection attempt, together no more than a command may take.
    ping_when_idle(engine, PING_AFTER_IDLE_SECONDS, settings.db_connect_timeout_seconds)
    metrics.track_pool(engine)  # after the ping: a connection it refuses is never counted
    return engine


class FifoPool(AsyncAdaptedQueuePool):
    """A queue pool whose waiters get connections in the order they asked.

    The plain pool lets a checkout that arrives just as a connection comes back take it ahead
    of those already waiting, which sends some waiters to the back again and again; with few
    connections and a burst of requests, a few then wait far past the others (and past
    DB_POOL_TIMEOUT_SECONDS). Here one checkout at a time waits in the pool's queue, the
    others for their turn in an asyncio.Lock, which serves its waiters in order; each of the two
    waits is bounded by DB_POOL_TIMEOUT_SECONDS.
    """

    def _do_get(self) -> ConnectionPoolEntry:
        turn = self._turn()
        try:
            await_(_acquire_within(turn, self._timeout))
        except TimeoutError:
            raise PoolTimeoutError(
                f"no connection within {self._timeout:.2f} s: every one is in use"
            ) from None
        try:
            return super()._do_get()
        finally:
            turn.release()

    def _turn(self) -> asyncio.Lock:
        # Made on first use, inside the event loop that uses the pool.
        turn: asyncio.Lock | None = getattr(self, "_fifo_turn", None)
        if turn is None:
            turn = self._fifo_turn = asyncio.Lock()
        return turn


async def _acquire_within(lock: asyncio.Lock, timeout_seconds: float) -> None:
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
    # arrives as the lock is granted, and the cancelled task would go on (gh-86296).
    async with asyncio.timeout(timeout_seconds):
        await lock.acquire()


def _drop_connection_that_timed_out(context: ExceptionContext) -> None:
    """A statement that timed out leaves its connection in an unknown state, behind a server
    that may not answer at all: mark it disconnected (the pool discards it) and close its
    socket now, since the polite close and the rollback would wait on that same server."""
    if not isinstance(context.original_exception, TimeoutError):
        return
    context.is_disconnect = True
    if context.connection is not None and not context.connection.invalidated:
        _terminate(context.connection.connection.dbapi_connection)


def _terminate(dbapi_connection: DBAPIConnection | None) -> None:
    driver_connection = getattr(dbapi_connection, "driver_connection", None)
    if driver_connection is not None:
        driver_connection.terminate()


# A connection dropped by a database restart is replaced instead of failing a request: one
# that sat in the pool this long is pinged before it is handed out. Pinging every checkout
# (`pool_pre_ping`) cost a round trip per request, for connections a busy pool had used
# milliseconds before.
PING_AFTER_IDLE_SECONDS = 2.0


def ping_when_idle(engine: AsyncEngine, idle_seconds: float, timeout_seconds: float) -> None:
    def checked_in(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            ping_connection(dbapi_connection, timeout_seconds)
        except Exception as exc:  # whatever the driver raises for a dead or silent connection
            _terminate(dbapi_connection)
            raise DisconnectionError("the pooled connection did not answer a ping") from exc

    # The pool retries the checkout with a new connection after a DisconnectionError.
    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


def ping_connection(dbapi_connection: DBAPIConnection, timeout_seconds: float) -> None:
    """`SELECT` nothing on an asyncpg connection; raises when it fails or takes too long."""
    driver_connection = cast(Any, dbapi_connection).driver_connection
    await_(driver_connection.fetchrow(";", timeout=timeout_seconds))


def _configure_sqlite(dbapi_connection: DBAPIConnection, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: a writer does not block the readers of other processes (the CLI, a backup); NORMAL
    # is the durable-enough setting WAL is meant for. Foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # How long a transaction waits for the write lock (see _begin_sqlite_transaction) before
    # it fails: as long as any other database command may take.
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cursor.close()
    # Hand transaction control to SQLAlchemy (see _begin_sqlite_transaction): the driver's own
    # implicit BEGIN breaks SAVEPOINT handling and reads outside transactions.
    dbapi_connection.isolation_level = None


# Execution option: `connection.execution_options(sqlite_begin="DEFERRED")` starts that
# connection's transactions as readers (see _begin_sqlite_transaction).
SQLITE_BEGIN = "sqlite_begin"


def _begin_sqlite_transaction(connection: Connection) -> None:
    # IMMEDIATE takes the database's one write lock when the transaction starts, waiting for it
    # up to busy_timeout. A plain (deferred) BEGIN starts as a reader; when such a transaction
    # then writes while another one holds the lock, or wrote since it began reading, SQLite
    # refuses at once with "database is locked", whatever busy_timeout says (waiting could
    # deadlock, or the read it made would be stale). Requests and the scheduler's claims read
    # then write, so each waits its turn instead. The price: a transaction holds the lock for
    # its whole life, so none may stay open across slow work (a password check, a call to a
    # target); see api/deps.py and services/auth.py. Only work that never writes (the health
    # ping) may ask for DEFERRED.
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")


def create_sessionmaker(
    engine: AsyncEngine, sync_session_class: type[Session] = Session
) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=sync_session_class)


def as_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The domain's name for `exc` when it means the database is away, refusing connections
    or too slow, rather than a bug: None for anything else.

    The one place that knows how the drivers say so: a refused or reset connection, a
    connect or statement timeout, the pool's checkout timeout, a connection the dialect found
    dead, PostgreSQL's connection errors (class 08), "shutting down" / "not yet accepting
    connections" (57P01-57P03), too many connections (53300), SQLite's lock still held after
    busy_timeout.
    """
    if not _raised_by_the_database(exc):
        return None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _means_unavailable(current):
            return DatabaseUnavailable(
                "The database is unavailable or too slow right now; try again shortly.",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )
        current = current.__cause__ or current.__context__
    return None


# What a client is told to wait before trying again after a 503 from the database.
RETRY_AFTER_SECONDS = 5
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
_DATABASE_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.", "core.db")


def _means_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, TimeoutError, PoolTimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    message = str(exc)
    return (
        type(exc).__name__ in {"InterfaceError", "ConnectionDoesNotExistError"}
        and ("connection is closed" in message or "connection was closed" in message)
        or (type(exc).__name__ == "OperationalError" and "database is locked" in message)
    )


def _raised_by_the_database(exc: BaseException) -> bool:
    """Whether `exc` came out of database code (an OSError from elsewhere is not ours)."""
    if isinstance(exc, SQLAlchemyError):
        return True
    return any(
        frame.f_globals.get("__name__", "").startswith(_DATABASE_MODULES)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


# Database work still finishing after its answer was given up on (kept from the collector).
_abandoned: set[asyncio.Task[Any]] = set()


async def ping(engine: AsyncEngine, timeout_seconds: float) -> bool:
    """True when the database answers `SELECT 1` within the timeout (`answer_within`)."""

    async def _select_one() -> bool:
        async with engine.connect() as connection:
            await connection.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
            answer: int | None = await connection.scalar(select(literal(1)))
            return answer == 1

    # Any failure to answer (refused, auth, ...) means "not healthy".
    return await answer_within(timeout_seconds, _select_one(), name="database-ping") is True


async def answer_within(
    timeout_seconds: float, work: Coroutine[Any, Any, T], *, name: str
) -> T | None:
    """The result of `work`, or None when it fails or takes longer than the timeout.

    Answers at the timeout even when the work cannot be stopped that fast (a frozen server:
    cancelling a connection attempt or a query waits on the server); it then ends in the
    background, bounded by the connect and command timeouts.
    """
    task = asyncio.create_task(work, name=name)
    done, _ = await asyncio.wait({task}, timeout=timeout_seconds)
    if not done:
        _abandoned.add(task)
        task.add_done_callback(_forget)
        task.cancel()
        return None
    if task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _forget(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failure is the answer already given

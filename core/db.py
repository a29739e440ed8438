"""Engine and session factory. Created by the app lifespan (or a worker's main), never at import."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import event, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from core.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        # aiosqlite logs every statement with its parameters (password hashes included) at
        # DEBUG; like SQLAlchemy's own loggers it stays quiet even when LOG_LEVEL=DEBUG.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        engine = create_async_engine(
            settings.database_url,
            # One connection per process: SQLite has one writer anyway, and the process's
            # transactions then queue for it in order (the pool's queue, and the request
            # slots of api/deps.py sized by `max_connections`). With several connections
            # they waited for the file lock in SQLite's busy handler instead, which sleeps and
            # polls: the lock sat free while every waiter slept, and under a burst requests
            # ran out of busy_timeout.
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
        return engine
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={"timeout": settings.db_connect_timeout_seconds},
    )
    ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def max_connections(settings: Settings) -> int:
    """How many connections one process's engine holds at most (see `create_engine`)."""
    return 1 if settings.is_sqlite else settings.db_pool_size + settings.db_max_overflow


# A connection dropped by a database restart is replaced instead of failing a request: one
# that sat in the pool this long is pinged before it is handed out. Pinging every checkout
# (`pool_pre_ping`) cost a round trip per request, for connections a busy pool had used
# milliseconds before.
PING_AFTER_IDLE_SECONDS = 2.0


def ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    dialect = engine.dialect

    def checked_in(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError("the pooled connection did not answer a ping") from exc
        if not alive:
            raise DisconnectionError("the pooled connection did not answer a ping")

    # The pool retries the checkout with a new connection after a DisconnectionError.
    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


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


async def ping(engine: AsyncEngine, timeout_seconds: float) -> bool:
    """True when the database answers `SELECT 1` within the timeout."""

    async def _select_one() -> bool:
        async with engine.connect() as connection:
            await connection.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
            answer: int | None = await connection.scalar(select(literal(1)))
            return answer == 1

    try:
        return await asyncio.wait_for(_select_one(), timeout_seconds)
    except Exception:  # any failure to answer (refused, timed out, auth) means "not healthy"
        return False

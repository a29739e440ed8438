"""The retention purge as load for the scheduler bench (`scheduler_bench.py --purge-rows N`).

`seed_expired_executions` writes N finished executions past EXECUTION_RETENTION_DAYS into the
bench database in one INSERT ... SELECT generate_series (server-side: a million rows in seconds,
none through Python), spread over the bench's own jobs a minute apart, 1 in 20 failed, then
VACUUM ANALYZE so the purge starts from a table the planner knows. `PurgeRun` is the real
`RetentionWorker` with the real rules (`default_rules`), started at a given instant as a task of
the bench's process, counting the rows its batches delete as it goes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core import db
from core.clock import SystemClock
from core.config import Settings
from scheduler.retention import (
    RETENTION_PAUSE_RATIO,
    RetentionRule,
    RetentionWorker,
    default_rules,
)

# The newest seeded slot: a day past the execution window, so every seeded row is expired.
MARGIN = timedelta(days=1)
SEED_CHUNK = 100_000

_SEED = text(
    """
    INSERT INTO job_execution (
        id, job_id, status, trigger_type, execution_type, scheduled_for, started_at,
        completed_at, duration_seconds, target, response_status, error_message, attempt,
        lateness_ms, created_at, updated_at
    )
    SELECT
        gen_random_uuid(),
        jobs.ids[1 + n % jobs.total],
        CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'success' END,
        'scheduled',
        'webhook',
        slot.at,
        slot.at,
        slot.at + interval '0.2 seconds',
        0.2,
        'http://127.0.0.1/hook',
        CASE WHEN n % 20 = 0 THEN 500 ELSE 200 END,
        CASE WHEN n % 20 = 0 THEN 'HTTP 500' END,
        1,
        5,
        slot.at,
        slot.at
    FROM (SELECT array_agg(id) AS ids, count(*)::int AS total FROM job) AS jobs,
        generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS n,
        LATERAL (
            SELECT CAST(:newest AS timestamptz) - (n / jobs.total) * interval '1 minute' AS at
        ) AS slot
    """
)


async def seed_expired_executions(settings: Settings, rows: int) -> float:
    """Insert `rows` expired executions of the jobs already there; the seconds it took."""
    started = time.monotonic()
    newest = datetime.now(UTC) - timedelta(days=settings.execution_retention_days) - MARGIN
    # Statements of seconds each, on a busy machine too.
    engine = db.create_engine(settings.model_copy(update={"db_command_timeout_seconds": 600}))
    try:
        for first in range(0, rows, SEED_CHUNK):
            last = min(first + SEED_CHUNK, rows) - 1
            async with engine.begin() as connection:
                await connection.execute(_SEED, {"first": first, "last": last, "newest": newest})
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE job_execution"))
    finally:
        await engine.dispose()
    return time.monotonic() - started


@dataclass
class PurgeRun:
    """One retention pass over the bench database, from `start_at` (wall clock) on."""

    settings: Settings
    start_at: float
    pause_ratio: float = RETENTION_PAUSE_RATIO
    purged: int = 0
    seconds: float | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def finish(self) -> None:
        """Wait for the pass to delete everything expired."""
        assert self._task is not None
        await self._task

    def _counted(self, rule: RetentionRule) -> RetentionRule:
        async def purge_batch(session: AsyncSession, batch_size: int) -> int:
            deleted = await rule.purge_batch(session, batch_size)
            self.purged += deleted
            return deleted

        return RetentionRule(rule.name, purge_batch)

    async def _run(self) -> None:
        await asyncio.sleep(max(self.start_at - time.time(), 0))
        engine = db.create_engine(self.settings)
        try:
            rules = default_rules(self.settings, SystemClock())
            worker = RetentionWorker(
                db.create_sessionmaker(engine),
                [self._counted(rule) for rule in rules],
                pause_ratio=self.pause_ratio,
            )
            started = time.monotonic()
            await worker.purge()
            self.seconds = time.monotonic() - started
        finally:
            await engine.dispose()

"""Retention: old rows purged in small batches by a supervised side task of every process that
runs the scheduler loop.

Each rule deletes at most `batch_size` rows per transaction and is repeated until a batch comes
back short, so a large backlog never becomes one long transaction holding many row locks (or,
on SQLite, the write lock). Any number of processes may purge at once: each batch deletes what
is still there. Each table's retention is one `RetentionRule`, its batch a service's
`purge_batch`: the audit log, in-app notifications and the outbox, then executions
(notifications first, so fewer of them are left to unlink from the executions purged).

Batches rather than monthly partitions of `job_execution`: the same code on SQLite, no
partition key to add to the unique slot index, and nothing to create ahead of each month.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import Settings
from core.supervision import SupervisedTask
from scheduler.dispatcher import Sleep
from services.audit import AuditService
from services.execution import ExecutionService
from services.notifications.inbox import NotificationService
from services.notifications.outbox import DeliveryService

logger = logging.getLogger("scheduler")

RETENTION_INTERVAL_SECONDS = 300.0
# The first pass waits this long after start-up: a process starting (or a test's runtime) does
# its urgent work first, and one stopped at once leaves no purge half-way.
RETENTION_FIRST_PASS_DELAY_SECONDS = 60.0
RETENTION_BATCH_SIZE = 500
# After each full batch the purge pauses this many times as long as the batch took: it holds
# the database at most a fifth of the time, and backs off by itself when the database is busy
# (a slower batch, a longer pause). A million rows then take minutes, not seconds; new rows come
# far slower than that (1,000 every-minute jobs: 17 a second).
RETENTION_PAUSE_RATIO = 4.0


@dataclass(frozen=True, slots=True)
class RetentionRule:
    name: str
    purge_batch: Callable[[AsyncSession, int], Awaitable[int]]
    """Delete at most the given number of expired rows in the session; how many went."""


def default_rules(settings: Settings, clock: Clock) -> list[RetentionRule]:
    async def purge_audit(session: AsyncSession, batch_size: int) -> int:
        return await AuditService(session, clock).purge_batch(
            settings.audit_retention_days, batch_size
        )

    async def purge_notifications(session: AsyncSession, batch_size: int) -> int:
        return await NotificationService(session, clock).purge_batch(
            settings.notification_retention_days, batch_size
        )

    async def purge_outbox(session: AsyncSession, batch_size: int) -> int:
        return await DeliveryService(session, settings, clock).purge_batch(
            settings.outbox_retention_days, batch_size
        )

    async def purge_executions(session: AsyncSession, batch_size: int) -> int:
        return await ExecutionService(session, settings, clock).purge_batch(
            settings.execution_retention_days, batch_size
        )

    return [
        RetentionRule("audit log", purge_audit),
        RetentionRule("notifications", purge_notifications),
        RetentionRule("outbox", purge_outbox),
        RetentionRule("executions", purge_executions),
    ]


class RetentionWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        rules: Sequence[RetentionRule],
        *,
        batch_size: int = RETENTION_BATCH_SIZE,
        interval_seconds: float = RETENTION_INTERVAL_SECONDS,
        pause_ratio: float = RETENTION_PAUSE_RATIO,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.rules = list(rules)
        self.batch_size = batch_size
        self.interval_seconds = interval_seconds
        self.pause_ratio = pause_ratio
        self._sleep = sleep
        self._supervised = SupervisedTask("retention", self._run_forever)

    @property
    def is_running(self) -> bool:
        return self._supervised.is_running

    def start(self) -> None:
        self._supervised.start()

    async def stop(self) -> None:
        await self._supervised.stop()

    async def purge(self) -> dict[str, int]:
        """One pass over every rule, batch after batch; rows deleted per rule."""
        deleted: dict[str, int] = {}
        for rule in self.rules:
            total = 0
            while True:
                started = time.monotonic()
                async with self.sessionmaker.begin() as session:
                    count = await rule.purge_batch(session, self.batch_size)
                total += count
                if count < self.batch_size:
                    break
                await self._sleep(self.pause_ratio * (time.monotonic() - started))
            deleted[rule.name] = total
            if total:
                logger.info(
                    "retention: purged %d rows of the %s",
                    total,
                    rule.name,
                    extra={"action": "retention.purged", "rule": rule.name, "rows": total},
                )
        return deleted

    async def _run_forever(self) -> None:
        await asyncio.sleep(RETENTION_FIRST_PASS_DELAY_SECONDS)
        while True:
            try:
                await self.purge()
            except Exception:  # the database may be away; try again next interval
                logger.exception("retention pass failed", extra={"action": "retention.pass_failed"})
            await asyncio.sleep(self.interval_seconds)

"""What `GET /metrics` answers: the recorded metrics (core/metrics.py) and the figures only the
database knows, counted at scrape time.

Counted per scrape rather than refreshed by the scheduler's poll: the database is the one truth
for every process, so any worker gives the same figure, and due work piling up shows even when
no scheduler runs at all (a poll-refreshed gauge would freeze at its last value then). The cost
is a few index-backed counts per scrape, each stopped at `metrics.SCRAPE_COUNT_CAP` rows, in a
read-only transaction (on SQLite it takes no write lock) bounded by HEALTH_TIMEOUT_SECONDS. If
the database does not answer in time, the scrape still answers without those figures.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import db, metrics
from core.clock import Clock
from core.config import Settings
from core.enums import DeliveryChannel
from repositories.job import JobRepository
from repositories.job_execution import JobExecutionRepository
from repositories.notification_delivery import NotificationDeliveryRepository

logger = logging.getLogger("services.metrics")


class MetricsService:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock

    async def exposition(self, accept: str) -> tuple[bytes, str]:
        """The body and content type of a scrape (the format the `Accept` header asks for)."""
        figures = await db.answer_within(
            self.settings.health_timeout_seconds, self._count(), name="metrics-figures"
        )
        if figures is None:
            logger.warning(
                "the database did not give the metrics figures within %s s; answered without them",
                self.settings.health_timeout_seconds,
                extra={"action": "metrics.figures_unavailable"},
            )
        return metrics.exposition(figures, accept)

    async def _count(self) -> metrics.DatabaseFigures:
        cap = metrics.SCRAPE_COUNT_CAP
        now = self.clock.now()
        async with self.sessionmaker() as session:
            await session.connection(execution_options={db.SQLITE_BEGIN: "DEFERRED"})
            executions = JobExecutionRepository(session)
            deliveries = NotificationDeliveryRepository(session)
            return metrics.DatabaseFigures(
                due_slots=await JobRepository(session).count_due(now, cap),
                due_retries=await executions.count_due_retries(now, cap),
                runs_in_flight=await executions.count_running(cap),
                queue_depth={
                    channel.value: await deliveries.count_pending(channel, cap)
                    for channel in DeliveryChannel
                },
            )

from __future__ import annotations

from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from core import db
from core.config import VERSION, Settings
from schemas.health import HealthResponse


class SchedulerState(Protocol):
    @property
    def is_running(self) -> bool: ...


class HealthService:
    def __init__(
        self, engine: AsyncEngine, settings: Settings, scheduler: SchedulerState | None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.scheduler = scheduler

    async def check(self) -> HealthResponse:
        database_ok = await db.ping(self.engine, self.settings.health_timeout_seconds)
        return HealthResponse(
            status="ok" if database_ok else "degraded",
            version=VERSION,
            database="ok" if database_ok else "unreachable",
            scheduler=self._scheduler_state(),
        )

    def _scheduler_state(self) -> Literal["running", "stopped", "disabled"]:
        if self.scheduler is None:
            return "disabled"
        return "running" if self.scheduler.is_running else "stopped"

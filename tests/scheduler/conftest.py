"""Scheduler tests commit for real: several schedulers (own engines, own connections) race
over the same rows, as separate processes would. Rows are removed after each test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import db
from core.config import Settings
from core.enums import AuditAction, UserRole
from integrations import outbound
from integrations.address_guard import AddressGuard
from models import (
    AuditEntry,
    Job,
    JobExecution,
    Notification,
    NotificationDelivery,
    PicTeam,
    SlackSettings,
    User,
)
from scheduler.dispatcher import Dispatcher
from scheduler.loop import Scheduler
from services.notifications.sender import DeliveryWorker
from tests.support.clock import FrozenClock
from tests.support.http_target import HttpTarget
from tests.support.job_factories import create_job

JobMaker = Callable[..., Awaitable[Job]]
SchedulerMaker = Callable[..., Scheduler]
WorkerMaker = Callable[..., DeliveryWorker]


@pytest.fixture
async def committing(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    sessionmaker = db.create_sessionmaker(engine)
    yield sessionmaker
    async with sessionmaker.begin() as session:
        for model in (
            AuditEntry,
            JobExecution,
            Notification,
            NotificationDelivery,
            Job,
            User,
            PicTeam,
            SlackSettings,
        ):
            await session.execute(delete(model))


@pytest.fixture
async def owner(committing: async_sessionmaker[AsyncSession]) -> User:
    async with committing.begin() as session:
        user = User(
            username=f"owner_{uuid.uuid4().hex[:8]}",
            email=f"{uuid.uuid4().hex[:8]}@example.com",
            password_hash="not-a-real-hash",
            role=UserRole.USER,
        )
        session.add(user)
    return user


@pytest.fixture
def make_job(
    committing: async_sessionmaker[AsyncSession], owner: User, clock: FrozenClock
) -> JobMaker:
    async def make(**fields: Any) -> Job:
        fields.setdefault("cron_expression", "*/5 * * * *")
        fields.setdefault("timezone", "UTC")
        async with committing.begin() as session:
            return await create_job(session, owner=owner, pic_team="ops", now=clock.now(), **fields)

    return make


@pytest.fixture
async def http_client() -> AsyncIterator[outbound.HttpClient]:
    clients = outbound.HttpClient(max_connections=100)
    yield clients
    await clients.aclose()


@pytest.fixture
async def make_scheduler(
    committing: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    http_client: outbound.HttpClient,
) -> AsyncIterator[SchedulerMaker]:
    """Schedulers on the test's clock, each with a started dispatcher, closed after the test.
    `own_engine` gives one an engine (its own connections) of its own, as another process has."""
    made: list[Scheduler] = []
    engines: list[AsyncEngine] = []

    def make(
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        own_engine: bool = False,
        **overrides: Any,
    ) -> Scheduler:
        scheduler_settings = settings.model_copy(
            update={"allow_private_targets": True, **overrides}
        )
        if own_engine:
            engines.append(db.create_engine(scheduler_settings))
            sessionmaker = db.create_sessionmaker(engines[-1])
        sessions = sessionmaker or committing
        extra = {"sleep": sleep} if sleep is not None else {}
        dispatcher = Dispatcher(
            sessions,
            scheduler_settings,
            clock,
            http_client,
            AddressGuard(allow_private=True),
            **extra,
        )
        dispatcher.start()
        made.append(Scheduler(sessions, scheduler_settings, clock, dispatcher))
        return made[-1]

    yield make
    for scheduler in made:
        await scheduler.dispatcher.close(grace_seconds=5)
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def make_worker(
    committing: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    http_client: outbound.HttpClient,
) -> AsyncIterator[WorkerMaker]:
    """Delivery workers for the outbox; `overrides` change their settings (SMTP, limits)."""
    made: list[DeliveryWorker] = []

    def make(
        sessionmaker: async_sessionmaker[AsyncSession] | None = None, **overrides: Any
    ) -> DeliveryWorker:
        worker_settings = settings.model_copy(update=overrides)
        made.append(DeliveryWorker(sessionmaker or committing, worker_settings, clock, http_client))
        return made[-1]

    yield make
    for worker in made:
        await worker.stop(grace_seconds=5)


async def run_pass(scheduler: Scheduler) -> int:
    """One scheduler pass with its runs finished (no real waiting for cron minutes)."""
    dispatched = await scheduler.tick()
    await scheduler.dispatcher.drain(grace_seconds=30)
    return dispatched


async def run_passes(schedulers: list[Scheduler]) -> None:
    """One pass of every scheduler at once, then their runs finished."""
    await asyncio.gather(*(s.tick() for s in schedulers))
    await asyncio.gather(*(s.dispatcher.drain(grace_seconds=60) for s in schedulers))


async def executions_of(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID
) -> list[JobExecution]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(JobExecution)
            .where(JobExecution.job_id == job_id)
            .order_by(JobExecution.scheduled_for, JobExecution.attempt)
        )
        return list(rows)


async def failure_notes(committing: async_sessionmaker[AsyncSession], job: Job) -> int:
    """How many in-app failure alerts the job's owner got."""
    async with committing() as session:
        notes = await session.scalars(
            select(Notification).where(
                Notification.related_job_id == job.id, Notification.type == "error"
            )
        )
        return len(notes.all())


class RecordedSleeps:
    """A `sleep` for the dispatcher that returns at once and remembers what it was asked."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


async def service_pauses(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID
) -> list[tuple[uuid.UUID | None, dict[str, Any] | None]]:
    """The actor and details of each `job.paused` audit entry of the job."""
    async with sessionmaker() as session:
        entries = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.resource_id == job_id,
                AuditEntry.action == AuditAction.JOB_PAUSED.value,
            )
        )
        return [(entry.actor_user_id, entry.details) for entry in entries]


@dataclass
class Rig:
    """What most scheduler tests work with: jobs calling the loopback target, schedulers on the
    test's clock, and the rows they commit."""

    make_job: JobMaker
    make_scheduler: SchedulerMaker
    clock: FrozenClock
    http_target: HttpTarget
    committing: async_sessionmaker[AsyncSession]

    async def job(self, cron_expression: str, **fields: Any) -> Job:
        """A job on `cron_expression` calling the loopback target (unless `target_url` says)."""
        fields.setdefault("target_url", self.http_target.url)
        return await self.make_job(cron_expression=cron_expression, **fields)

    async def executions(self, job: Job) -> list[JobExecution]:
        return await executions_of(self.committing, job.id)

    async def failure_notes(self, job: Job) -> int:
        return await failure_notes(self.committing, job)

    async def stored(self, job: Job) -> Job:
        """The job as committed now."""
        async with self.committing() as session:
            stored = await session.get(Job, job.id)
            assert stored is not None
            return stored


@pytest.fixture
def rig(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
) -> Rig:
    return Rig(make_job, make_scheduler, clock, http_target, committing)

"""Builds and tears down everything a process needs to run jobs: engine, sessions, the guarded
HTTP client, dispatcher and (optionally) the scheduler loop with the notification delivery
worker. Used by the API lifespan and by `python -m scheduler`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core import db, metrics
from core.clock import Clock
from core.config import Settings
from integrations import outbound
from integrations.address_guard import AddressGuard
from scheduler.dispatcher import Dispatcher
from scheduler.loop import Scheduler
from scheduler.retention import RetentionWorker, default_rules
from scheduler.single_node import SchedulerLock
from scheduler.wakeup import WakeupListener
from services import job_secrets
from services.notifications.sender import DeliveryWorker

logger = logging.getLogger("scheduler")


@dataclass(frozen=True, slots=True)
class Runtime:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    guard: AddressGuard
    dispatcher: Dispatcher
    scheduler: Scheduler | None
    deliveries: DeliveryWorker | None = None
    wakeups: WakeupListener | None = None
    retention: RetentionWorker | None = None


@asynccontextmanager
async def running_scheduler(
    settings: Settings, clock: Clock, *, start_loop: bool
) -> AsyncIterator[Runtime]:
    lock = SchedulerLock.claim(settings) if start_loop else None
    engine = db.create_engine(settings)
    # A session class of this runtime's own, so listeners (the scheduler's wake-up) stay local.
    session_class = type("RuntimeSession", (Session,), {})
    sessionmaker = db.create_sessionmaker(engine, session_class)
    http_client = outbound.HttpClient(settings.scheduler_max_concurrency)
    guard = AddressGuard(allow_private=settings.allow_private_targets)
    dispatcher = Dispatcher(sessionmaker, settings, clock, http_client, guard)
    dispatcher.start()
    dispatcher.abandon_on_cancel(session_class)
    if settings.allow_private_targets:
        logger.warning(
            "ALLOW_PRIVATE_TARGETS is on: jobs may call private, loopback, link-local and "
            "cloud-metadata addresses (never in production)"
        )
    if settings.smtp_host is None:
        logger.info(
            "SMTP_HOST is not set: email notifications are off", extra={"action": "email.off"}
        )
    await _upgrade_stored_jobs(sessionmaker, settings)
    scheduler = None
    deliveries = None
    wakeups = None
    retention = None
    if start_loop:
        scheduler = Scheduler(sessionmaker, settings, clock, dispatcher)
        scheduler.wake_on_new_work(session_class)
    if not settings.is_sqlite:
        # Changes and cancellations made by other processes (scheduler/wakeup.py); SQLite has
        # one process. A process without the loop listens for cancellations of its own runs.
        wakeups = WakeupListener(
            settings, scheduler.wake if scheduler else _nothing_to_wake, dispatcher.abandon
        )
        wakeups.start()
    if scheduler is not None:
        scheduler.start()
        # Processes that run jobs also send the alerts they (or any process) queued.
        deliveries = DeliveryWorker(sessionmaker, settings, clock, http_client)
        deliveries.wake_on_new_deliveries(session_class)
        deliveries.start()
        retention = RetentionWorker(sessionmaker, default_rules(settings, clock))
        retention.start()
    try:
        yield Runtime(
            engine,
            sessionmaker,
            guard,
            dispatcher,
            scheduler,
            deliveries,
            wakeups=wakeups,
            retention=retention,
        )
    finally:
        if wakeups is not None:
            await wakeups.stop()
        if scheduler is not None:
            await scheduler.stop()
        if retention is not None:
            await retention.stop()
        await dispatcher.close(grace_seconds=10)
        if deliveries is not None:
            await deliveries.stop(grace_seconds=10)
        await http_client.aclose()
        await engine.dispose()
        metrics.forget_this_process()
        if lock is not None:
            lock.release()


def _nothing_to_wake() -> None:
    """A process without the scheduler loop hears wake-ups too; it has no loop to wake."""


async def _upgrade_stored_jobs(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """What migration 0010 could not do without SECRETS_KEY (services/job_secrets.py); a
    database that is away now is no reason not to start: the next start-up does it."""
    try:
        async with sessionmaker.begin() as session:
            await job_secrets.upgrade_stored_jobs(session, settings)
    except Exception as exc:
        logger.warning(
            "could not move credentials out of job target URLs: %s",
            type(exc).__name__,
            extra={"action": "jobs.credentials_move_failed"},
        )

"""Cancelling a run abandons its call wherever it is made: in this process at once (the
commit's hook), in another one when its lease keeper looks at the rows it holds. The row is
final: no later outcome, no further attempt, no alert. (Real processes: test_processes.py.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core import db
from core.config import Settings
from core.enums import ExecutionStatus
from models import Job, User
from scheduler.wakeup import WakeupListener
from services.execution_lifecycle import ExecutionLifecycle
from tests.scheduler.conftest import (
    JobMaker,
    SchedulerMaker,
    executions_of,
    failure_notes,
    run_pass,
)
from tests.support.clock import FrozenClock
from tests.support.http_target import HttpTarget, Reply

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
SLOT = T0 + timedelta(minutes=1)
LONG_LEASE = 3600  # the clock jumps below must not reap the hanging runs


async def cancel(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    execution_id: uuid.UUID,
    actor: User,
) -> None:
    """What POST /executions/{id}/cancel does, in a transaction of `sessionmaker`."""
    async with sessionmaker.begin() as session:
        await ExecutionLifecycle(session, settings, clock).cancel(execution_id, actor)


async def test_another_process_cancelling_makes_the_holder_abandon_the_call(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    settings: Settings,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
    owner: User,
) -> None:
    clock.set(T0)
    http_target.default = Reply(hang=True)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url, max_retries=3)
    # The holder has its own engine (its own connections), as another process would.
    engine = db.create_engine(settings)
    try:
        holder = make_scheduler(
            sessionmaker=db.create_sessionmaker(engine),
            scheduler_poll_seconds=0.1,
            execution_lease_seconds=LONG_LEASE,
        )
        clock.set(SLOT)
        assert await holder.tick() == 1
        await http_target.wait_for_requests(1)
        [running] = await executions_of(committing, job.id)

        await cancel(committing, settings, clock, running.id, owner)

        await http_target.wait_for_hang_ups(1, within_seconds=5)
        await holder.dispatcher.drain(grace_seconds=5)
        assert holder.dispatcher.in_flight == 0
        # Nothing comes after: no retry, although three were allowed.
        clock.advance(timedelta(seconds=50))
        assert await run_pass(holder) == 0
    finally:
        await engine.dispose()

    [cancelled] = await executions_of(committing, job.id)
    assert cancelled.status == ExecutionStatus.CANCELLED
    assert cancelled.error_message == f"cancelled by {owner.username}"
    assert cancelled.next_attempt_at is None
    assert len(http_target.received) == 1
    assert await failure_notes(committing, job) == 0
    async with committing() as session:
        stored = await session.get(Job, job.id)
        assert stored is not None
        assert stored.consecutive_failures == 0


async def test_a_cancel_committed_in_the_holding_process_abandons_the_call_at_once(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    settings: Settings,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
    owner: User,
) -> None:
    clock.set(T0)
    http_target.default = Reply(hang=True)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url)
    # The process's own session class: its commits reach its dispatcher's hook.
    session_class = type("ProcessSession", (Session,), {})
    own_sessions = db.create_sessionmaker(committing.kw["bind"], session_class)
    # The lease keeper would look only after a minute: what abandons the call is the hook.
    holder = make_scheduler(scheduler_poll_seconds=60, execution_lease_seconds=LONG_LEASE)
    holder.dispatcher.abandon_on_cancel(session_class)
    clock.set(SLOT)
    await holder.tick()
    await http_target.wait_for_requests(1)
    [running] = await executions_of(committing, job.id)

    await cancel(own_sessions, settings, clock, running.id, owner)

    await http_target.wait_for_hang_ups(1, within_seconds=2)
    assert holder.dispatcher.in_flight == 0


async def test_a_cancel_committed_anywhere_is_announced_and_the_holder_abandons_at_once(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    settings: Settings,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
    owner: User,
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has one process: no notification to listen for")
    clock.set(T0)
    http_target.default = Reply(hang=True)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url)
    engine = db.create_engine(settings)
    holder = make_scheduler(
        sessionmaker=db.create_sessionmaker(engine),
        # Its lease keeper would look only after a minute, and no hook sees another
        # connection's commit: what abandons the call is the notification.
        scheduler_poll_seconds=60,
        execution_lease_seconds=LONG_LEASE,
    )
    listener = WakeupListener(settings, holder.wake, holder.dispatcher.abandon)
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        clock.set(SLOT)
        assert await holder.tick() == 1
        await http_target.wait_for_requests(1)
        [running] = await executions_of(committing, job.id)

        await cancel(committing, settings, clock, running.id, owner)

        await http_target.wait_for_hang_ups(1, within_seconds=5)
        await holder.dispatcher.drain(grace_seconds=5)
        assert holder.dispatcher.in_flight == 0
    finally:
        await listener.stop()
        await engine.dispose()
    [cancelled] = await executions_of(committing, job.id)
    assert cancelled.status == ExecutionStatus.CANCELLED


async def test_an_outcome_arriving_after_the_cancel_is_not_recorded(
    make_job: JobMaker,
    make_scheduler: SchedulerMaker,
    clock: FrozenClock,
    settings: Settings,
    http_target: HttpTarget,
    committing: async_sessionmaker[AsyncSession],
    owner: User,
) -> None:
    clock.set(T0)
    # A slow failure the holder would retry; it is cancelled while the call is in flight.
    http_target.default = Reply(status=503, delay_seconds=1)
    job = await make_job(cron_expression="* * * * *", target_url=http_target.url, max_retries=2)
    holder = make_scheduler(scheduler_poll_seconds=60, execution_lease_seconds=LONG_LEASE)
    clock.set(SLOT)
    await holder.tick()
    await http_target.wait_for_requests(1)
    [running] = await executions_of(committing, job.id)
    await cancel(committing, settings, clock, running.id, owner)  # no hook, keeper asleep
    await holder.dispatcher.drain(grace_seconds=10)  # the 503 comes back and is written

    rows = await executions_of(committing, job.id)
    assert [(row.status, row.response_status, row.next_attempt_at) for row in rows] == [
        (ExecutionStatus.CANCELLED, None, None)
    ]
    assert await failure_notes(committing, job) == 0

"""Cancelling a run abandons its call wherever it is made: in this process at once (the
commit's hook), in another one when its lease keeper looks at the rows it holds. The row is
final: no later outcome, no further attempt, no alert. (Real processes: test_processes.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core import db
from core.config import Settings
from core.enums import ExecutionStatus
from models import Job, JobExecution, User
from scheduler.loop import Scheduler
from scheduler.wakeup import WakeupListener
from services.execution_lifecycle import ExecutionLifecycle
from tests.scheduler.conftest import Rig, run_pass
from tests.support.http_target import Reply

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
SLOT = T0 + timedelta(minutes=1)
LONG_LEASE = 3600  # the clock jumps below must not reap the hanging runs

Cancel = Callable[..., Awaitable[None]]


@pytest.fixture
def cancel(rig: Rig, settings: Settings, owner: User) -> Cancel:
    """What POST /executions/{id}/cancel does for the job's owner, in a transaction of
    `sessionmaker` (the committing one unless told)."""

    async def cancel(
        execution: JobExecution, sessionmaker: async_sessionmaker[AsyncSession] | None = None
    ) -> None:
        async with (sessionmaker or rig.committing).begin() as session:
            await ExecutionLifecycle(session, settings, rig.clock).cancel(execution.id, owner)

    return cancel


async def call_at_the_slot(rig: Rig, holder: Scheduler, job: Job) -> tuple[int, JobExecution]:
    """The holder's pass at the slot, once its call has reached the target: how many runs the
    pass started, and the job's run."""
    rig.clock.set(SLOT)
    started = await holder.tick()
    await rig.http_target.wait_for_requests(1)
    [running] = await rig.executions(job)
    return started, running


async def in_flight_after_hang_up(rig: Rig, holder: Scheduler) -> int:
    """The holder's calls still in flight once the target saw the call hang up and the holder
    finished what it had."""
    await rig.http_target.wait_for_hang_ups(1, within_seconds=5)
    await holder.dispatcher.drain(grace_seconds=5)
    return holder.dispatcher.in_flight


async def test_another_process_cancelling_makes_the_holder_abandon_the_call(
    rig: Rig, cancel: Cancel, owner: User
) -> None:
    rig.clock.set(T0)
    rig.http_target.default = Reply(hang=True)
    job = await rig.job("* * * * *", max_retries=3)
    # The holder has its own engine (its own connections), as another process would.
    holder = rig.make_scheduler(
        own_engine=True, scheduler_poll_seconds=0.1, execution_lease_seconds=LONG_LEASE
    )
    started, running = await call_at_the_slot(rig, holder, job)
    assert started == 1

    await cancel(running)

    assert await in_flight_after_hang_up(rig, holder) == 0
    # Nothing comes after: no retry, although three were allowed.
    rig.clock.advance(timedelta(seconds=50))
    assert await run_pass(holder) == 0

    [cancelled] = await rig.executions(job)
    assert cancelled.status == ExecutionStatus.CANCELLED
    assert cancelled.error_message == f"cancelled by {owner.username}"
    assert cancelled.next_attempt_at is None
    assert len(rig.http_target.received) == 1
    assert await rig.failure_notes(job) == 0
    assert (await rig.stored(job)).consecutive_failures == 0


async def test_a_cancel_committed_in_the_holding_process_abandons_the_call_at_once(
    rig: Rig, cancel: Cancel
) -> None:
    rig.clock.set(T0)
    rig.http_target.default = Reply(hang=True)
    job = await rig.job("* * * * *")
    # The process's own session class: its commits reach its dispatcher's hook.
    session_class = type("ProcessSession", (Session,), {})
    own_sessions = db.create_sessionmaker(rig.committing.kw["bind"], session_class)
    # The lease keeper would look only after a minute: what abandons the call is the hook.
    holder = rig.make_scheduler(scheduler_poll_seconds=60, execution_lease_seconds=LONG_LEASE)
    holder.dispatcher.abandon_on_cancel(session_class)
    _, running = await call_at_the_slot(rig, holder, job)

    await cancel(running, own_sessions)

    await rig.http_target.wait_for_hang_ups(1, within_seconds=2)
    assert holder.dispatcher.in_flight == 0


async def test_a_cancel_committed_anywhere_is_announced_and_the_holder_abandons_at_once(
    rig: Rig, cancel: Cancel, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has one process: no notification to listen for")
    rig.clock.set(T0)
    rig.http_target.default = Reply(hang=True)
    job = await rig.job("* * * * *")
    holder = rig.make_scheduler(
        own_engine=True,
        # Its lease keeper would look only after a minute, and no hook sees another
        # connection's commit: what abandons the call is the notification.
        scheduler_poll_seconds=60,
        execution_lease_seconds=LONG_LEASE,
    )
    listener = WakeupListener(settings, holder.wake, holder.dispatcher.abandon)
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        started, running = await call_at_the_slot(rig, holder, job)
        assert started == 1

        await cancel(running)

        assert await in_flight_after_hang_up(rig, holder) == 0
    finally:
        await listener.stop()
    [cancelled] = await rig.executions(job)
    assert cancelled.status == ExecutionStatus.CANCELLED


async def test_an_outcome_arriving_after_the_cancel_is_not_recorded(
    rig: Rig, cancel: Cancel
) -> None:
    rig.clock.set(T0)
    # A slow failure the holder would retry; it is cancelled while the call is in flight.
    rig.http_target.default = Reply(status=503, delay_seconds=1)
    job = await rig.job("* * * * *", max_retries=2)
    holder = rig.make_scheduler(scheduler_poll_seconds=60, execution_lease_seconds=LONG_LEASE)
    _, running = await call_at_the_slot(rig, holder, job)
    await cancel(running)  # no hook, keeper asleep
    await holder.dispatcher.drain(grace_seconds=10)  # the 503 comes back and is written

    rows = await rig.executions(job)
    assert [(row.status, row.response_status, row.next_attempt_at) for row in rows] == [
        (ExecutionStatus.CANCELLED, None, None)
    ]
    assert await rig.failure_notes(job) == 0

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import db
from core.config import Settings
from core.enums import ExecutionStatus
from integrations.address_guard import AddressGuard
from integrations.outbound import HttpClient, OutboundResult
from models import Job
from scheduler.dispatcher import Dispatcher
from services.execution_lifecycle import Outcome, RunSpec, run_spec
from tests.scheduler.conftest import (
    RecordedSleeps,
    Rig,
    SchedulerMaker,
    run_pass,
)
from tests.support.clock import FrozenClock
from tests.support.http_target import Reply

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


class FlakySessions:
    """A sessionmaker whose first `failures` transactions fail as if the database were away."""

    def __init__(self, inner: async_sessionmaker[AsyncSession], failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def __call__(self) -> AsyncSession:
        return self.inner()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))
        async with self.inner.begin() as session:
            yield session


async def test_outcomes_survive_a_brief_database_outage(
    rig: Rig,
    sleeps: RecordedSleeps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *")
    scheduler = rig.make_scheduler(sleep=sleeps)
    rig.clock.advance(timedelta(minutes=1))
    scheduler.dispatcher.sessionmaker = FlakySessions(rig.committing, failures=2)  # type: ignore[assignment]
    assert await scheduler.tick() == 1
    await scheduler.dispatcher.drain(grace_seconds=10)

    (execution,) = await rig.executions(job)
    assert execution.status == ExecutionStatus.SUCCESS
    assert sleeps.delays == [0.5, 1.0]
    assert "could not record 1 outcomes" in caplog.text


async def test_a_long_outage_leaves_the_run_to_its_lease(rig: Rig, sleeps: RecordedSleeps) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *")

    scheduler = rig.make_scheduler(sleep=sleeps, execution_lease_seconds=30)
    rig.clock.advance(timedelta(minutes=1))
    scheduler.dispatcher.sessionmaker = FlakySessions(rig.committing, failures=99)  # type: ignore[assignment]
    await scheduler.tick()
    await scheduler.dispatcher.drain(grace_seconds=10)
    assert (await rig.executions(job))[0].status == ExecutionStatus.RUNNING

    rig.clock.advance(timedelta(seconds=31))
    scheduler.dispatcher.sessionmaker = rig.committing
    await run_pass(scheduler)

    (execution,) = await rig.executions(job)
    assert (execution.status, execution.error_message) == (ExecutionStatus.FAILED, "interrupted")


async def test_nothing_escapes_a_run_when_the_database_stays_away(
    rig: Rig,
    sleeps: RecordedSleeps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig.clock.set(T0)
    await rig.job("* * * * *", max_retries=2)
    rig.http_target.default = Reply(status=503)
    scheduler = rig.make_scheduler(sleep=sleeps, execution_lease_seconds=30)
    rig.clock.advance(timedelta(minutes=1))
    scheduler.dispatcher.sessionmaker = FlakySessions(rig.committing, failures=99)  # type: ignore[assignment]
    submit = scheduler.dispatcher.submit
    tasks: list[asyncio.Task[None]] = []
    monkeypatch.setattr(scheduler.dispatcher, "submit", lambda run: tasks.append(submit(run)))
    await scheduler.tick()

    await scheduler.dispatcher.drain(grace_seconds=10)
    [task] = tasks

    assert task.done()
    assert task.exception() is None
    assert sum(sleeps.delays) >= 30  # kept trying for a lease's time before giving up


async def test_a_call_that_crashes_is_recorded_as_a_final_failure(
    rig: Rig,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", max_retries=2)
    scheduler = rig.make_scheduler()

    async def broken(_run: RunSpec) -> OutboundResult:
        raise ValueError("a bug")

    monkeypatch.setattr(scheduler.dispatcher, "_call", broken)
    rig.clock.advance(timedelta(minutes=1))
    await run_pass(scheduler)

    [execution] = await rig.executions(job)
    assert (execution.status, execution.error_message, execution.next_attempt_at) == (
        ExecutionStatus.FAILED,
        "the call crashed: ValueError",
        None,
    )
    [crash] = [r for r in caplog.records if getattr(r, "action", None) == "run.crashed"]
    assert (crash.job_id, crash.execution_id) == (str(job.id), str(execution.id))  # type: ignore[attr-defined]


async def test_an_outcome_writer_that_crashes_is_restarted(
    rig: Rig,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *")
    scheduler = rig.make_scheduler(execution_lease_seconds=30)
    dispatcher = scheduler.dispatcher
    write_batch = dispatcher._write_batch
    crashes = [RuntimeError("the writer's own bug")]

    async def crashing_once(outcomes: list[Outcome]) -> Exception | None:
        if crashes:
            raise crashes.pop()
        return await write_batch(outcomes)

    monkeypatch.setattr(dispatcher, "_write_batch", crashing_once)
    rig.clock.advance(timedelta(minutes=1))
    await run_pass(scheduler)  # its outcome dies with the writer: the run is left to its lease
    assert "outcome writer crashed; restarting it" in caplog.text
    assert dispatcher.is_running

    rig.clock.advance(timedelta(minutes=1))
    await run_pass(scheduler)  # written by the restarted writer
    rig.clock.advance(timedelta(seconds=1))
    await run_pass(scheduler)  # the first run's lease has lapsed

    executions = await rig.executions(job)
    assert [(e.status, e.error_message) for e in executions] == [
        (ExecutionStatus.FAILED, "interrupted"),
        (ExecutionStatus.SUCCESS, None),
    ]


async def test_a_lease_keeper_that_crashes_is_restarted(
    make_scheduler: SchedulerMaker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    renewals: list[int] = []
    renewed_again = asyncio.Event()

    async def crashing_once() -> None:
        renewals.append(1)
        if len(renewals) == 1:
            raise RuntimeError("the keeper's own bug")
        renewed_again.set()

    scheduler = make_scheduler(execution_lease_seconds=3)  # renewed every second
    await scheduler.dispatcher.close()
    monkeypatch.setattr(scheduler.dispatcher, "_renew_leases", crashing_once)
    scheduler.dispatcher.start()

    await asyncio.wait_for(renewed_again.wait(), timeout=10)
    assert "lease keeper crashed; restarting it" in caplog.text


async def test_a_dispatcher_not_started_refuses_runs(
    settings: Settings, clock: FrozenClock, http_client: HttpClient
) -> None:
    dispatcher = Dispatcher(
        db.create_sessionmaker(db.create_engine(settings)),
        settings,
        clock,
        http_client,
        AddressGuard(allow_private=True),
    )
    job = Job(id=uuid.uuid4(), name="j", target_url="http://127.0.0.1/", http_method="POST")
    job.job_metadata, job.timeout_seconds, job.max_retries = {}, 5, 0

    with pytest.raises(RuntimeError, match="not started"):
        dispatcher.submit(run_spec(job, uuid.uuid4(), T0))


async def test_a_webhook_run_records_the_phases_of_its_call(rig: Rig) -> None:
    rig.clock.set(T0)
    rig.http_target.respond(Reply(delay_seconds=0.1))
    job = await rig.job("* * * * *")
    scheduler = rig.make_scheduler()
    rig.clock.advance(timedelta(minutes=1))

    assert await run_pass(scheduler) == 1

    (execution,) = await rig.executions(job)
    assert execution.status == ExecutionStatus.SUCCESS
    assert execution.dns_ms is None  # 127.0.0.1: nothing to resolve
    assert execution.tls_ms is None  # http
    assert execution.first_byte_ms is not None
    assert execution.first_byte_ms >= 100  # the target's delay
    # A new connection, or one kept alive from an earlier test (then no connect phase).
    assert execution.connect_ms is None or execution.connect_ms >= 0

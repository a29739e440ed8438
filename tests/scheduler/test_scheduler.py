from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from core import db
from core.enums import ExecutionStatus
from models import Job, JobExecution, Notification
from services.execution_lifecycle import INTERRUPTED
from tests.scheduler.conftest import (
    JobMaker,
    Rig,
    SchedulerMaker,
    run_pass,
    run_passes,
    service_pauses,
)
from tests.support.http_target import Reply

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


async def test_every_slot_of_an_hour_fires_once(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("*/5 * * * *", target_url=rig.http_target.url + "/hook")
    scheduler = rig.make_scheduler()

    for _ in range(60 * 2):  # every 30 seconds for an hour
        rig.clock.advance(timedelta(seconds=30))
        await run_pass(scheduler)

    executions = await rig.executions(job)
    expected = [T0 + timedelta(minutes=5 * i) for i in range(1, 13)]
    assert [e.scheduled_for for e in executions] == expected
    assert {e.status for e in executions} == {ExecutionStatus.SUCCESS}
    assert len(rig.http_target.received) == 12
    keys = {r.headers["idempotency-key"] for r in rig.http_target.received}
    assert len(keys) == 12
    assert f"{job.id}:{expected[0].isoformat()}" in keys


@pytest.mark.parametrize(
    "day", [datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)]
)
async def test_dst_change_days_fire_one_run_per_day(day: datetime, rig: Rig) -> None:
    rig.clock.set(day)
    job = await rig.job("30 2 * * *", timezone="Europe/Berlin")
    scheduler = rig.make_scheduler()

    for _ in range(4 * 24 * 4):  # four days in 15-minute steps
        rig.clock.advance(timedelta(minutes=15))
        await run_pass(scheduler)

    executions = await rig.executions(job)
    local_days = [e.scheduled_for.astimezone(ZoneInfo("Europe/Berlin")).date() for e in executions]
    assert len(executions) == 4
    assert len(set(local_days)) == 4
    assert all(e.status == ExecutionStatus.SUCCESS for e in executions)


async def test_a_short_outage_catches_up_once_within_grace(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *")
    rig.clock.set(T0 + timedelta(minutes=1, seconds=30))  # the 00:01 slot is 30 s late

    await run_pass(rig.make_scheduler(misfire_grace_seconds=60))

    executions = await rig.executions(job)
    assert [(e.scheduled_for, e.status) for e in executions] == [
        (T0 + timedelta(minutes=1), ExecutionStatus.SUCCESS)
    ]


async def test_a_ten_minute_outage_is_one_missed_row_not_ten_fires(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *")
    rig.clock.set(T0 + timedelta(minutes=10, seconds=30))

    await run_pass(rig.make_scheduler(misfire_grace_seconds=60))

    executions = await rig.executions(job)
    assert [(e.scheduled_for, e.status) for e in executions] == [
        (T0 + timedelta(minutes=1), ExecutionStatus.MISSED),
        (T0 + timedelta(minutes=10), ExecutionStatus.SUCCESS),
    ]
    assert len(rig.http_target.received) == 1
    async with rig.committing() as session:
        refreshed = await session.get(Job, job.id)
        assert refreshed is not None
        assert refreshed.next_run_at == T0 + timedelta(minutes=11)


async def test_a_job_past_its_end_date_is_paused_and_its_owner_told(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 6, 1, 22, 0, tzinfo=UTC))
    job = await rig.job("0 23 * * *", end_date=datetime(2026, 6, 1).date())
    scheduler = rig.make_scheduler()

    for _ in range(6):
        rig.clock.advance(timedelta(minutes=30))
        await run_pass(scheduler)

    executions = await rig.executions(job)
    assert len(executions) == 1
    async with rig.committing() as session:
        refreshed = await session.get(Job, job.id)
        assert refreshed is not None
        assert (refreshed.is_active, refreshed.next_run_at) == (False, None)
        notes = (
            await session.scalars(select(Notification).where(Notification.related_job_id == job.id))
        ).all()
        assert [n.type for n in notes] == ["warning"]
        assert notes[0].user_id == job.created_by
    assert await service_pauses(rig.committing, job.id) == [(None, {"by_service": "end_date"})]


async def test_a_404_is_not_retried(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", max_retries=3)
    rig.http_target.default = Reply(status=404)

    rig.clock.advance(timedelta(minutes=1))
    await run_pass(rig.make_scheduler())

    executions = await rig.executions(job)
    assert [(e.attempt, e.status, e.response_status) for e in executions] == [
        (1, ExecutionStatus.FAILED, 404)
    ]


async def test_a_killed_scheduler_run_is_closed_as_interrupted_and_not_fired_again(
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("*/5 * * * *")
    rig.http_target.respond(Reply(hang=True))
    doomed = rig.make_scheduler(execution_lease_seconds=30)
    rig.clock.advance(timedelta(minutes=5))

    assert await doomed.tick() == 1
    await rig.http_target.wait_for_requests(1)
    # Killed without cleanup: its run never records an outcome.
    for task in list(doomed.dispatcher._tasks):
        task.cancel()
    await asyncio.sleep(0)

    survivor = rig.make_scheduler(execution_lease_seconds=30)
    rig.clock.advance(timedelta(seconds=20))
    await run_pass(survivor)
    assert (await rig.executions(job))[0].status == ExecutionStatus.RUNNING

    rig.clock.advance(timedelta(seconds=20))  # lease (30 s) has lapsed
    await run_pass(survivor)

    executions = await rig.executions(job)
    assert [(e.scheduled_for, e.status, e.error_message) for e in executions] == [
        (T0 + timedelta(minutes=5), ExecutionStatus.FAILED, INTERRUPTED)
    ]
    assert len(rig.http_target.received) == 1


async def test_a_job_change_wakes_the_scheduler(
    engine: AsyncEngine, make_scheduler: SchedulerMaker, make_job: JobMaker
) -> None:
    session_class = type("WakeSession", (Session,), {})
    sessionmaker = db.create_sessionmaker(engine, session_class)
    scheduler = make_scheduler(sessionmaker=sessionmaker)
    scheduler.wake_on_new_work(session_class)
    job = await make_job()

    async with sessionmaker.begin() as session:
        await session.get(Job, job.id)
    assert not scheduler._wake.is_set()

    async with sessionmaker.begin() as session:
        loaded = await session.get(Job, job.id)
        assert loaded is not None
        loaded.cron_expression = "*/10 * * * *"
    assert scheduler._wake.is_set()


@pytest.mark.postgres_only
async def test_two_schedulers_fire_every_slot_exactly_once(
    database_url: str,
    settings: object,
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    jobs = [await rig.job("* * * * *") for _ in range(200)]
    schedulers = [rig.make_scheduler(own_engine=True, scheduler_batch_size=25) for _ in range(2)]
    for _ in range(30):
        rig.clock.advance(timedelta(minutes=1))
        await run_passes(schedulers)

    expected_slots = [T0 + timedelta(minutes=m) for m in range(1, 31)]
    assert expected_slots == _croniter_slots("* * * * *", T0, 30)
    async with rig.committing() as session:
        rows = (
            await session.execute(
                select(JobExecution.job_id, JobExecution.scheduled_for, JobExecution.status)
            )
        ).all()
    assert len(rows) == 200 * 30
    assert len({(job_id, slot) for job_id, slot, _ in rows}) == 200 * 30
    assert {status for _, _, status in rows} == {ExecutionStatus.SUCCESS}
    for job in jobs[:5]:
        assert sorted(slot for job_id, slot, _ in rows if job_id == job.id) == expected_slots
    assert len(rig.http_target.received) == 200 * 30
    assert len({r.headers["idempotency-key"] for r in rig.http_target.received}) == 200 * 30
    async with rig.committing() as session:
        claimed = await session.scalar(select(func.count()).select_from(JobExecution))
    assert claimed == 6000


def _croniter_slots(expression: str, start: datetime, count: int) -> list[datetime]:
    iterator = croniter(expression, start)
    return [iterator.get_next(datetime) for _ in range(count)]


async def test_a_busy_scheduler_claims_only_what_it_has_room_for_and_leaves_the_rest(
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    rig.http_target.default = Reply(delay_seconds=1)
    jobs = [await rig.job("* * * * *") for _ in range(12)]
    # Room for 5: two calls at once and one batch of three waiting for them.
    limits = {
        "scheduler_max_concurrency": 2,
        "scheduler_batch_size": 3,
        "scheduler_poll_seconds": 0.2,
    }
    busy, idle = rig.make_scheduler(**limits), rig.make_scheduler(**limits)
    rig.clock.advance(timedelta(minutes=1))

    async def claimed() -> int:
        async with rig.committing() as session:
            return await session.scalar(select(func.count()).select_from(JobExecution)) or 0

    assert await busy.tick() == 5
    assert busy.dispatcher.room == 0
    assert await claimed() == 5  # the other 7 are still due, in the database
    assert await idle.tick() == 5  # another process takes them while the first is full
    assert await claimed() == 10
    for scheduler in (busy, idle):
        await scheduler.dispatcher.drain(grace_seconds=30)
    assert await run_pass(busy) == 2
    rows = [e for job in jobs for e in await rig.executions(job)]
    assert len(rows) == 12
    assert {e.status for e in rows} == {ExecutionStatus.SUCCESS}
    assert len(rig.http_target.received) == 12

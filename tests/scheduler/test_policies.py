"""A job's own policies (issue 13): overlap (`concurrency_policy`), catch-up (`catchup`,
`misfire_grace_seconds`), retry (Cloud Scheduler's shape), and the lateness each run records.
The clock is injected: an outage of hours is one `clock.set`."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from core.config import Settings
from core.enums import CatchupPolicy, ConcurrencyPolicy, ExecutionStatus
from models import Job, JobExecution
from scheduler.loop import Scheduler
from services.execution_lifecycle import ExecutionLifecycle
from tests.scheduler.conftest import (
    Rig,
    run_pass,
    run_passes,
)
from tests.support.http_target import Reply

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = 3600  # a lease that outlasts the test's clock jumps: hanging runs are not reaped

SUCCESS, FAILED, MISSED, SKIPPED = (
    ExecutionStatus.SUCCESS,
    ExecutionStatus.FAILED,
    ExecutionStatus.MISSED,
    ExecutionStatus.SKIPPED,
)


def statuses(executions: list[JobExecution]) -> list[tuple[datetime, int, ExecutionStatus]]:
    return [(e.scheduled_for, e.attempt, e.status) for e in executions]


async def abandon(*schedulers: Scheduler) -> None:
    """Give up the calls still hanging (their rows stay running: nothing to record)."""
    await asyncio.gather(*(s.dispatcher.drain(grace_seconds=0) for s in schedulers))


async def retries(
    rig: Rig, job: Job, schedulers: list[Scheduler]
) -> AsyncIterator[tuple[JobExecution, datetime]]:
    """Passes of `schedulers`, taking turns, until the job's last attempt has no retry due;
    yields each attempt that has one with its retry's due time, then moves the clock there."""
    for turn in itertools.count():
        await run_pass(schedulers[turn % len(schedulers)])
        [*_, last] = await rig.executions(job)
        if last.next_attempt_at is None:
            return
        yield last, last.next_attempt_at
        rig.clock.set(last.next_attempt_at)


# --- concurrency_policy ------------------------------------------------------------------


async def test_forbid_skips_a_slot_while_the_previous_run_still_runs_and_allow_does_not(
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    rig.http_target.default = Reply(hang=True)
    forbid = await rig.job("* * * * *", concurrency_policy=ConcurrencyPolicy.FORBID)
    allow = await rig.job("* * * * *")
    scheduler = rig.make_scheduler(execution_lease_seconds=HOUR)
    try:
        rig.clock.set(T0 + MINUTE)
        assert await scheduler.tick() == 2
        await rig.http_target.wait_for_requests(2)
        rig.clock.set(T0 + 2 * MINUTE)
        assert await scheduler.tick() == 1  # only the allowing job's slot is called
        await rig.http_target.wait_for_requests(3)
    finally:
        await abandon(scheduler)

    [first, second] = await rig.executions(forbid)
    assert (first.status, second.status) == (ExecutionStatus.RUNNING, SKIPPED)
    assert second.scheduled_for == T0 + 2 * MINUTE
    assert second.completed_at == T0 + 2 * MINUTE
    assert second.started_at is None
    assert second.error_message == (
        f"concurrency_policy forbid: execution {first.id} was still running"
    )
    allowed = await rig.executions(allow)
    assert [e.status for e in allowed] == [ExecutionStatus.RUNNING] * 2
    assert await rig.failure_notes(forbid) == 0  # a skipped slot is not a failure


async def test_forbid_counts_a_run_waiting_for_its_retry_and_the_retry_still_happens(
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    job = await rig.job(
        "* * * * *",
        concurrency_policy=ConcurrencyPolicy.FORBID,
        max_retries=1,
        max_backoff_seconds=300,  # above the global 60 s: a Retry-After of 120 s is honoured
    )
    rig.http_target.respond(Reply(status=503, headers={"Retry-After": "50"}), Reply(status=200))
    scheduler = rig.make_scheduler()
    rig.clock.set(T0 + MINUTE)
    await run_pass(scheduler)  # fails; its retry is due at 00:01:50
    rig.clock.set(T0 + MINUTE + timedelta(seconds=50))
    await run_pass(scheduler)  # the retry of the running slot continues: success
    rig.clock.set(T0 + 2 * MINUTE)
    await run_pass(scheduler)  # the chain is over: this slot fires

    assert statuses(await rig.executions(job)) == [
        (T0 + MINUTE, 1, FAILED),
        (T0 + MINUTE, 2, SUCCESS),
        (T0 + 2 * MINUTE, 1, SUCCESS),
    ]

    rig.http_target.respond(Reply(status=503, headers={"Retry-After": "120"}))
    rig.clock.set(T0 + 3 * MINUTE)
    await run_pass(scheduler)  # fails, retry due at 00:05
    rig.clock.set(T0 + 4 * MINUTE)
    await run_pass(scheduler)  # waiting for its retry counts as still running
    [*_, waiting, skipped] = await rig.executions(job)
    assert (waiting.status, waiting.next_attempt_at) == (FAILED, T0 + 5 * MINUTE)
    assert (skipped.scheduled_for, skipped.status) == (T0 + 4 * MINUTE, SKIPPED)
    assert str(waiting.id) in (skipped.error_message or "")


async def test_forbid_counts_a_manual_run(rig: Rig, settings: Settings) -> None:
    rig.clock.set(T0)
    job = await rig.make_job(
        cron_expression="* * * * *", concurrency_policy=ConcurrencyPolicy.FORBID
    )
    async with rig.committing.begin() as session:
        stored = await session.get(Job, job.id)
        assert stored is not None
        long_lease = settings.model_copy(update={"execution_lease_seconds": HOUR})
        manual, _ = await ExecutionLifecycle(session, long_lease, rig.clock).start_manual(
            stored, metadata=None, github_token=None
        )
    rig.clock.set(T0 + MINUTE)
    assert await rig.make_scheduler(execution_lease_seconds=HOUR).tick() == 0

    [_, skipped] = await rig.executions(job)
    assert skipped.status == SKIPPED
    assert skipped.error_message == (
        f"concurrency_policy forbid: execution {manual.id} was still running"
    )


async def test_two_schedulers_skip_behind_a_run_the_other_one_holds(rig: Rig) -> None:
    rig.clock.set(T0)
    rig.http_target.default = Reply(hang=True)
    jobs = [
        await rig.job("* * * * *", concurrency_policy=ConcurrencyPolicy.FORBID) for _ in range(20)
    ]
    schedulers = [
        rig.make_scheduler(own_engine=True, scheduler_batch_size=5, execution_lease_seconds=HOUR)
        for _ in range(2)
    ]
    try:
        for _ in range(3):
            rig.clock.advance(MINUTE)
            await asyncio.gather(*(s.tick() for s in schedulers))
        await rig.http_target.wait_for_requests(20)
        await asyncio.sleep(0.2)  # a second call of any job would have arrived by now
        assert len(rig.http_target.received) == 20
    finally:
        await abandon(*schedulers)

    for job in jobs:
        rows = statuses(await rig.executions(job))
        assert rows == [
            (T0 + MINUTE, 1, ExecutionStatus.RUNNING),
            (T0 + 2 * MINUTE, 1, SKIPPED),
            (T0 + 3 * MINUTE, 1, SKIPPED),
        ]


# --- catchup and misfire_grace_seconds ---------------------------------------------------


@pytest.mark.parametrize(
    ("catchup", "fired", "missed"),
    [
        # A 4.5-minute outage, grace 5 min: slots 00:01-00:04 are within the window.
        (CatchupPolicy.LATEST, [4], [1]),
        (CatchupPolicy.ALL, [1, 2, 3, 4], []),
        (CatchupPolicy.NONE, [], [1]),
    ],
)
async def test_catchup_within_the_grace_window(
    rig: Rig,
    catchup: CatchupPolicy,
    fired: list[int],
    missed: list[int],
) -> None:
    rig.clock.set(T0)
    job = await rig.job(
        "* * * * *",
        catchup=catchup,
        misfire_grace_seconds=300,  # the global setting (60) would miss them all
    )
    rig.clock.set(T0 + 4 * MINUTE + timedelta(seconds=30))
    await run_pass(rig.make_scheduler(misfire_grace_seconds=60))

    executions = await rig.executions(job)
    assert [e.scheduled_for for e in executions if e.status == SUCCESS] == [
        T0 + m * MINUTE for m in fired
    ]
    assert [e.scheduled_for for e in executions if e.status == MISSED] == [
        T0 + m * MINUTE for m in missed
    ]
    assert len(executions) == len(fired) + len(missed)  # a missed row stands for several
    # Each fired slot is called with its own slot, oldest first.
    assert [r.headers["x-cron-scheduled-for"] for r in rig.http_target.received] == [
        (T0 + m * MINUTE).isoformat() for m in fired
    ]
    if catchup == CatchupPolicy.LATEST:
        assert executions[0].error_message == (
            "catchup latest: 3 older slots from 2026-06-01T00:01:00+00:00 to "
            "2026-06-01T00:03:00+00:00 were coalesced; 2026-06-01T00:04:00+00:00 fired"
        )
    async with rig.committing() as session:
        stored = await session.get(Job, job.id)
        assert stored is not None
        assert stored.next_run_at == T0 + 5 * MINUTE


async def test_a_single_late_slot_within_grace_fires_under_every_policy(rig: Rig) -> None:
    rig.clock.set(T0)
    jobs = [await rig.job("0 * * * *", catchup=policy) for policy in CatchupPolicy]
    rig.clock.set(T0 + timedelta(hours=1, seconds=40))  # 40 s late, grace 60 s
    assert await run_pass(rig.make_scheduler()) == 3
    for job in jobs:
        [run] = await rig.executions(job)
        assert (run.status, run.lateness_ms) == (SUCCESS, 40_000)


async def test_catchup_all_fires_at_most_100_and_one_missed_row_says_how_many_more(
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", catchup=CatchupPolicy.ALL, misfire_grace_seconds=4 * 3600)
    # Down for 3 hours: 180 slots, all within the 4-hour window.
    rig.clock.set(T0 + timedelta(hours=3, seconds=10))
    await run_pass(rig.make_scheduler(scheduler_max_concurrency=50))

    executions = await rig.executions(job)
    fired = [e for e in executions if e.status == SUCCESS]
    assert [e.scheduled_for for e in fired] == [T0 + m * MINUTE for m in range(1, 101)]
    [missed] = [e for e in executions if e.status == MISSED]
    assert missed.scheduled_for == T0 + 101 * MINUTE
    assert missed.error_message == (
        "catchup all fires at most 100 missed slots; 80 more, from 2026-06-01T01:41:00+00:00 "
        "to 2026-06-01T03:00:00+00:00, were not fired"
    )
    assert len(executions) == 101
    assert len(rig.http_target.received) == 100


async def test_slots_older_than_the_jobs_grace_are_one_missed_row_whatever_the_policy(
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", catchup=CatchupPolicy.ALL, misfire_grace_seconds=120)
    rig.clock.set(T0 + timedelta(days=30, seconds=30))  # a month: never enumerated slot by slot
    await run_pass(rig.make_scheduler())

    executions = await rig.executions(job)
    assert statuses(executions) == [
        (T0 + MINUTE, 1, MISSED),
        (T0 + timedelta(days=30) - MINUTE, 1, SUCCESS),
        (T0 + timedelta(days=30), 1, SUCCESS),
    ]
    assert "more than 120 s late" in (executions[0].error_message or "")


async def test_two_schedulers_recovering_together_fire_each_catch_up_slot_once(rig: Rig) -> None:
    rig.clock.set(T0)
    jobs = [
        await rig.job("* * * * *", catchup=CatchupPolicy.ALL, misfire_grace_seconds=600)
        for _ in range(30)
    ]
    schedulers = [rig.make_scheduler(own_engine=True, scheduler_batch_size=4) for _ in range(2)]
    rig.clock.set(T0 + 5 * MINUTE + timedelta(seconds=5))
    await run_passes(schedulers)

    for job in jobs:
        assert statuses(await rig.executions(job)) == [
            (T0 + m * MINUTE, 1, SUCCESS) for m in range(1, 6)
        ]
    keys = [r.headers["idempotency-key"] for r in rig.http_target.received]
    assert len(keys) == len(set(keys)) == 30 * 5


async def test_forbid_with_catchup_all_fires_the_oldest_and_skips_the_rest(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job(
        "* * * * *",
        catchup=CatchupPolicy.ALL,
        concurrency_policy=ConcurrencyPolicy.FORBID,
        misfire_grace_seconds=600,
    )
    rig.clock.set(T0 + 3 * MINUTE + timedelta(seconds=5))
    await run_pass(rig.make_scheduler())

    executions = await rig.executions(job)
    assert statuses(executions) == [
        (T0 + MINUTE, 1, SUCCESS),
        (T0 + 2 * MINUTE, 1, SKIPPED),
        (T0 + 3 * MINUTE, 1, SKIPPED),
    ]
    assert executions[1].error_message == (
        "concurrency_policy forbid: the run of slot 2026-06-01T00:01:00+00:00 was still running"
    )


# --- retry policy ------------------------------------------------------------------------


async def test_a_jobs_backoff_bounds_decide_its_retries_wherever_they_run(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job(
        "0 * * * *",
        max_retries=10,
        min_backoff_seconds=2,
        max_backoff_seconds=5,
        max_doublings=1,
    )
    rig.http_target.default = Reply(status=500)
    # Two schedulers take turns: the policy travels with the job, not with a process.
    schedulers = [rig.make_scheduler(), rig.make_scheduler()]
    rig.clock.set(T0 + timedelta(hours=1))
    async for last, due in retries(rig, job, schedulers):
        assert last.completed_at is not None
        wait = due - last.completed_at
        # attempt 1 waits up to 2 s, every later one up to min(5, 2 × 2^1) = 4 s
        assert timedelta(0) <= wait <= timedelta(seconds=2 if last.attempt == 1 else 4)

    executions = await rig.executions(job)
    assert [(e.attempt, e.status) for e in executions] == [(n, FAILED) for n in range(1, 12)]
    assert await rig.failure_notes(job) == 1


async def test_no_retry_starts_after_the_jobs_retry_duration(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job(
        "0 * * * *",
        max_retries=10,
        max_backoff_seconds=5,
        max_retry_duration_seconds=22,
    )
    # Retry-After above max_backoff: every wait is exactly 5 s.
    rig.http_target.default = Reply(status=503, headers={"Retry-After": "8"})
    scheduler = rig.make_scheduler()
    rig.clock.set(T0 + timedelta(hours=1))
    async for _ in retries(rig, job, [scheduler]):
        pass

    executions = await rig.executions(job)
    # Attempts at +0, +5, +10, +15, +20 s; one at +25 s would start after the 22 s.
    assert [e.started_at for e in executions] == [
        T0 + timedelta(hours=1, seconds=5 * n) for n in range(5)
    ]
    assert executions[-1].status == FAILED
    assert await rig.failure_notes(job) == 1


async def test_retry_after_is_honoured_up_to_the_jobs_max_backoff(rig: Rig) -> None:
    rig.clock.set(T0)
    job = await rig.job("0 * * * *", max_retries=1, max_backoff_seconds=7)
    rig.http_target.respond(Reply(status=429, headers={"Retry-After": "3600"}))
    rig.clock.set(T0 + timedelta(hours=1))
    await run_pass(rig.make_scheduler())

    [first] = await rig.executions(job)
    assert first.next_attempt_at == T0 + timedelta(hours=1, seconds=7)


# --- lateness ----------------------------------------------------------------------------


async def test_every_run_records_its_lateness_and_a_retry_counts_from_its_due_time(
    rig: Rig,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", max_retries=1)
    rig.http_target.respond(Reply(status=503, headers={"Retry-After": "10"}), Reply(status=200))
    scheduler = rig.make_scheduler()
    rig.clock.set(T0 + MINUTE + timedelta(milliseconds=2500))
    await run_pass(scheduler)
    [first] = await rig.executions(job)
    assert first.next_attempt_at is not None
    rig.clock.set(first.next_attempt_at + timedelta(milliseconds=750))
    await run_pass(scheduler)

    [first, second] = await rig.executions(job)
    assert (first.lateness_ms, second.lateness_ms) == (2500, 750)

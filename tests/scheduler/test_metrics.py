"""The run and delivery metrics, scraped from the real app's `/metrics` while real schedulers
(injected clock) call a loopback target and a real delivery worker sends to aiosmtpd and a
Slack-like loopback webhook: each counter moves by exactly what happened, and the scrape-time
gauges say what the database holds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.enums import ConcurrencyPolicy, DeliveryChannel, ExecutionStatus
from models import User
from scheduler.dispatcher import Dispatcher
from services.execution_lifecycle import ExecutionLifecycle
from tests.scheduler.conftest import Rig, WorkerMaker, run_pass
from tests.scheduler.test_deliveries import SLACK_PATH, enable_slack, queue, smtp_at
from tests.support.app_dispatcher import borrowed_dispatcher
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
from tests.support.factories import auth_headers
from tests.support.http_target import Reply, failing_first_attempts
from tests.support.metrics import scrape
from tests.support.smtp_server import SmtpServer

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
FIRES = "cronjobs_scheduler_fires_total"
RETRIES = "cronjobs_scheduler_retries_total"
OUTCOMES = "cronjobs_scheduler_outcomes_total"
INTERRUPTED = "cronjobs_scheduler_interrupted_runs_total"
LATENESS = "cronjobs_scheduler_lateness_seconds"
DUE = "cronjobs_scheduler_due_unclaimed"
IN_FLIGHT = "cronjobs_scheduler_runs_in_flight"
DELIVERIES = "cronjobs_notification_deliveries_total"
QUEUE = "cronjobs_notification_queue_depth"


@pytest.fixture
async def metrics_client(
    app: FastAPI, committing: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app, reading what the schedulers commit, on the schedulers' clock."""
    saved = (app.state.sessionmaker, app.state.clock)
    app.state.sessionmaker, app.state.clock = committing, clock
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    app.state.sessionmaker, app.state.clock = saved


async def test_a_fired_slot_counts_one_fire_one_success_and_its_lateness(
    rig: Rig,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    before = await scrape(metrics_client)
    await rig.job("* * * * *")
    rig.clock.set(T0 + timedelta(minutes=1, seconds=2))  # the 00:01 slot is 2 s late

    due = await scrape(metrics_client)
    await run_pass(rig.make_scheduler())
    after = await scrape(metrics_client)

    assert due.delta(before, DUE, kind="slot") == 1
    assert after.delta(before, DUE, kind="slot") == 0
    assert after.delta(before, FIRES, trigger_type="scheduled") == 1
    assert after.delta(before, OUTCOMES, status="success") == 1
    assert after.delta(before, OUTCOMES, status="failed") == 0
    assert after.delta(before, f"{LATENESS}_count") == 1
    assert after.delta(before, f"{LATENESS}_sum") == pytest.approx(2.0)
    assert after.delta(before, f"{LATENESS}_bucket", le="1.0") == 0
    assert after.delta(before, f"{LATENESS}_bucket", le="2.5") == 1
    assert len(rig.http_target.received) == 1


async def test_a_failed_attempt_and_its_retry_count_as_retrying_then_success(
    rig: Rig,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    rig.http_target.responder = failing_first_attempts(1, Reply(status=503))
    await rig.job("* * * * *", max_retries=2)
    scheduler = rig.make_scheduler(retry_backoff_base_seconds=0)  # the retry is due at once
    rig.clock.set(T0 + timedelta(minutes=1))
    before = await scrape(metrics_client)

    await run_pass(scheduler)
    failed_once = await scrape(metrics_client)
    await run_pass(scheduler)
    after = await scrape(metrics_client)

    assert failed_once.delta(before, FIRES, trigger_type="scheduled") == 1
    assert failed_once.delta(before, OUTCOMES, status="retrying") == 1
    assert failed_once.delta(before, DUE, kind="retry") == 1
    assert after.delta(before, RETRIES, trigger_type="scheduled") == 1
    assert after.delta(before, OUTCOMES, status="success") == 1
    assert after.delta(before, OUTCOMES, status="retrying") == 1
    assert after.delta(before, OUTCOMES, status="failed") == 0
    assert after.delta(before, DUE, kind="retry") == 0
    # One slot: the lateness is the slot's, not its retry's.
    assert after.delta(before, f"{LATENESS}_count") == 1
    assert len(rig.http_target.received) == 2


async def test_a_last_failed_attempt_counts_as_failed(
    rig: Rig,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    rig.http_target.default = Reply(status=404)  # not worth repeating
    await rig.job("* * * * *", max_retries=3)
    rig.clock.set(T0 + timedelta(minutes=1))
    before = await scrape(metrics_client)

    await run_pass(rig.make_scheduler())

    after = await scrape(metrics_client)
    assert after.delta(before, OUTCOMES, status="failed") == 1
    assert after.delta(before, OUTCOMES, status="retrying") == 0
    assert after.delta(before, RETRIES, trigger_type="scheduled") == 0


async def test_an_outage_counts_one_missed_slot_and_one_fire(
    rig: Rig,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    await rig.job("* * * * *")
    rig.clock.set(T0 + timedelta(minutes=10, seconds=30))
    before = await scrape(metrics_client)

    await run_pass(rig.make_scheduler(misfire_grace_seconds=60))

    after = await scrape(metrics_client)
    assert after.delta(before, OUTCOMES, status="missed") == 1
    assert after.delta(before, FIRES, trigger_type="scheduled") == 1
    assert after.delta(before, f"{LATENESS}_sum") == pytest.approx(30.0)


async def test_a_run_whose_lease_lapsed_counts_as_interrupted(
    rig: Rig,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    job = await rig.make_job(cron_expression="0 0 1 1 *", target_url="http://127.0.0.1:9/")
    async with rig.committing.begin() as session:
        for minutes in (1, 2):
            await create_execution(
                session,
                job,
                scheduled_for=T0 - timedelta(minutes=minutes),
                status=ExecutionStatus.RUNNING,
                lease_expires_at=T0 - timedelta(seconds=1),
            )
    before = await scrape(metrics_client)

    await rig.make_scheduler().tick()
    again = await rig.make_scheduler().tick()

    after = await scrape(metrics_client)
    assert again == 0
    assert after.delta(before, INTERRUPTED) == 2
    assert after.delta(before, IN_FLIGHT) == -2
    assert after.delta(before, OUTCOMES, status="failed") == 0


async def test_runs_in_flight_are_the_running_executions(
    rig: Rig,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    rig.http_target.default = Reply(delay_seconds=1.5)
    for _ in range(3):
        await rig.job("* * * * *")
    rig.clock.set(T0 + timedelta(minutes=1))
    scheduler = rig.make_scheduler()
    before = await scrape(metrics_client)

    assert await scheduler.tick() == 3
    await rig.http_target.wait_for_requests(3)
    calling = await scrape(metrics_client)
    await scheduler.dispatcher.drain(grace_seconds=30)
    done = await scrape(metrics_client)

    assert calling.delta(before, IN_FLIGHT) == 3
    assert done.delta(before, IN_FLIGHT) == 0
    assert done.delta(before, OUTCOMES, status="success") == 3


async def test_a_skipped_slot_and_a_cancelled_run_count_as_their_outcomes(
    rig: Rig,
    owner: User,
    settings: Settings,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *", concurrency_policy=ConcurrencyPolicy.FORBID)
    async with rig.committing.begin() as session:
        still_running = await create_execution(
            session,
            job,
            scheduled_for=T0,
            status=ExecutionStatus.RUNNING,
            lease_expires_at=T0 + timedelta(hours=1),
        )
    rig.clock.set(T0 + timedelta(minutes=1))
    before = await scrape(metrics_client)

    assert await run_pass(rig.make_scheduler()) == 0  # forbid: the 00:01 slot is skipped
    skipped = await scrape(metrics_client)
    cancelled = await metrics_client.post(
        f"/api/v1/executions/{still_running.id}/cancel",
        headers=auth_headers(settings, rig.clock, owner),
    )
    assert cancelled.status_code == 200, cancelled.text
    after = await scrape(metrics_client)

    assert skipped.delta(before, OUTCOMES, status="skipped") == 1
    assert skipped.delta(before, OUTCOMES, status="cancelled") == 0
    assert after.delta(skipped, OUTCOMES, status="cancelled") == 1
    assert after.delta(skipped, OUTCOMES, status="skipped") == 0
    for status in ("success", "failed", "retrying", "missed"):
        assert after.delta(before, OUTCOMES, status=status) == 0
    assert after.delta(before, FIRES, trigger_type="scheduled") == 0
    assert [e.status for e in await rig.executions(job)] == [
        ExecutionStatus.CANCELLED,
        ExecutionStatus.SKIPPED,
    ]
    assert rig.http_target.received == []


@pytest.fixture
def app_dispatcher(
    app: FastAPI, committing: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Iterator[Dispatcher]:
    """The app's own dispatcher, writing committed rows and allowed to call loopback."""
    with borrowed_dispatcher(app, committing, clock) as dispatcher:
        yield dispatcher


async def test_a_manual_run_counts_the_request_the_fire_and_its_outcome(
    rig: Rig,
    owner: User,
    settings: Settings,
    app: FastAPI,
    app_dispatcher: Dispatcher,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("0 0 1 1 *")
    before = await scrape(metrics_client)

    response = await metrics_client.post(
        f"/api/v1/jobs/{job.id}/execute", headers=auth_headers(settings, rig.clock, owner)
    )
    assert response.status_code == 202
    await app_dispatcher.drain(grace_seconds=30)

    after = await scrape(metrics_client)
    route = "/api/v1/jobs/{job_id}/execute"
    assert (
        after.delta(
            before, "cronjobs_http_requests_total", method="POST", route=route, status="202"
        )
        == 1
    )
    assert after.delta(before, FIRES, trigger_type="manual") == 1
    assert after.delta(before, FIRES, trigger_type="scheduled") == 0
    assert after.delta(before, OUTCOMES, status="success") == 1
    assert after.delta(before, f"{LATENESS}_count") == 0  # manual runs have no slot to be late for
    assert len(rig.http_target.received) == 1


async def test_a_fire_counts_only_when_its_transaction_commits(
    rig: Rig,
    settings: Settings,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    job = await rig.make_job(cron_expression="0 0 1 1 *", target_url="http://127.0.0.1:9/")
    before = await scrape(metrics_client)

    async with rig.committing() as session:
        lifecycle = ExecutionLifecycle(session, settings, rig.clock)
        await lifecycle.start_manual(job, metadata=None, github_token=None)
        async with session.begin_nested():  # a savepoint released: not yet a commit
            pass
        mid_transaction = await scrape(metrics_client)
        await session.rollback()
    rolled_back = await scrape(metrics_client)
    async with rig.committing.begin() as session:
        await ExecutionLifecycle(session, settings, rig.clock).start_manual(
            job, metadata=None, github_token=None
        )
    committed = await scrape(metrics_client)

    assert mid_transaction.delta(before, FIRES, trigger_type="manual") == 0
    assert rolled_back.delta(before, FIRES, trigger_type="manual") == 0
    assert committed.delta(before, FIRES, trigger_type="manual") == 1


# --- notifications -----------------------------------------------------------------------------


async def test_deliveries_count_by_channel_and_outcome_and_the_queue_drains(
    make_worker: WorkerMaker,
    rig: Rig,
    smtp_server: SmtpServer,
    metrics_client: httpx.AsyncClient,
) -> None:
    rig.clock.set(T0)
    before = await scrape(metrics_client)
    await enable_slack(rig.committing, rig.http_target.url + SLACK_PATH)
    await queue(rig.committing, rig.clock, DeliveryChannel.EMAIL, "a@example.com", "b@example.com")
    await queue(rig.committing, rig.clock, DeliveryChannel.SLACK, "#alerts", "#ops")
    rig.http_target.respond(Reply(status=500), Reply(status=400))  # try later; refused for good
    queued = await scrape(metrics_client)

    assert await make_worker(**smtp_at(smtp_server.port)).run_once() == 4

    after = await scrape(metrics_client)
    assert queued.delta(before, QUEUE, channel="email") == 2
    assert queued.delta(before, QUEUE, channel="slack") == 2
    assert after.delta(before, DELIVERIES, channel="email", outcome="sent") == 2
    assert after.delta(before, DELIVERIES, channel="slack", outcome="retry") == 1
    assert after.delta(before, DELIVERIES, channel="slack", outcome="failed") == 1
    assert after.delta(before, QUEUE, channel="email") == 0
    assert after.delta(before, QUEUE, channel="slack") == 1  # the one to try again
    assert smtp_server.recipients == ["a@example.com", "b@example.com"]


async def test_deliveries_given_up_unsent_count_as_dropped(
    make_worker: WorkerMaker,
    clock: FrozenClock,
    committing: async_sessionmaker[AsyncSession],
    metrics_client: httpx.AsyncClient,
) -> None:
    clock.set(T0)
    await queue(committing, clock, DeliveryChannel.SLACK, f"#{uuid.uuid4().hex[:6]}")
    before = await scrape(metrics_client)

    assert await make_worker().run_once() == 0  # Slack is off

    after = await scrape(metrics_client)
    assert after.delta(before, DELIVERIES, channel="slack", outcome="dropped") == 1
    assert after.delta(before, QUEUE, channel="slack") == -1

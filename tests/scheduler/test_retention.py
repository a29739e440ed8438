"""Retention (scheduler/retention.py): each table's rule purges what is past its window, in
batches, and nothing else. Time comes from the injected clock; the windows' edges are a second
either side."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.enums import (
    AlertKind,
    AuditAction,
    AuditResource,
    DeliveryChannel,
    DeliveryStatus,
    ExecutionStatus,
    TriggerType,
)
from models import AuditEntry, Job, JobExecution, Notification, NotificationDelivery, User
from repositories.job_execution import JobExecutionRepository
from scheduler.retention import RetentionRule, RetentionWorker, default_rules
from services.audit import AuditService
from services.notifications.outbox import DeliveryService
from tests.conftest import make_settings
from tests.scheduler.conftest import RecordedSleeps
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
from tests.support.factories import create_user
from tests.support.job_factories import create_job, create_team

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def retention_settings(**overrides: Any) -> Settings:
    return make_settings("sqlite+aiosqlite://", **overrides)


def worker(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    *,
    batch_size: int = 500,
) -> RetentionWorker:
    return RetentionWorker(
        sessionmaker,
        default_rules(settings, clock),
        batch_size=batch_size,
        interval_seconds=3600,
        sleep=RecordedSleeps(),
    )


@pytest.fixture
async def user(session: AsyncSession) -> User:
    return await create_user(session)


@pytest.fixture
async def team_slug(session: AsyncSession) -> str:
    return (await create_team(session)).slug


@pytest.fixture
async def job(session: AsyncSession, user: User, team_slug: str) -> Job:
    return await create_job(session, owner=user, pic_team=team_slug)


async def ids_of(session: AsyncSession, model: Any) -> set[uuid.UUID]:
    return set((await session.execute(select(model.id))).scalars())


async def counts(session: AsyncSession) -> dict[str, int]:
    models = (AuditEntry, JobExecution, Notification, NotificationDelivery)
    return {
        model.__tablename__: (
            await session.execute(select(func.count()).select_from(model))
        ).scalar_one()
        for model in models
    }


def notification(user: User, created_at: Any, **fields: Any) -> Notification:
    return Notification(
        user_id=user.id,
        title="t",
        message="m",
        created_at=created_at,
        updated_at=created_at,
        **fields,
    )


def delivery(status: DeliveryStatus, settled_at: Any, **fields: Any) -> NotificationDelivery:
    values: dict[str, Any] = {
        "channel": DeliveryChannel.EMAIL,
        "kind": AlertKind.FAILURE,
        "recipient": f"{uuid.uuid4().hex[:8]}@example.com",
        "subject": "s",
        "body_text": "b",
        "execution_id": uuid.uuid4(),
        "status": status,
        "next_attempt_at": settled_at,
        "created_at": settled_at - timedelta(minutes=5),
        "updated_at": settled_at,
    }
    values.update(fields)
    return NotificationDelivery(**values)


# --- executions -------------------------------------------------------------------------------


async def test_finished_executions_past_the_window_go_running_retrying_and_newest_stay(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FrozenClock,
    user: User,
    job: Job,
) -> None:
    now = clock.now()
    outside = await create_execution(session, job, scheduled_for=now - 90 * DAY - SECOND)
    failed_long_ago = await create_execution(
        session, job, scheduled_for=now - 200 * DAY, status=ExecutionStatus.FAILED
    )
    manual = await create_execution(
        session, job, scheduled_for=now - 95 * DAY, trigger_type=TriggerType.MANUAL
    )
    inside = await create_execution(session, job, scheduled_for=now - 90 * DAY + SECOND)
    # Kept whatever their age: a run still going, and a failed attempt waiting for its retry.
    running = await create_execution(
        session,
        job,
        scheduled_for=now - 300 * DAY,
        status=ExecutionStatus.RUNNING,
        lease_expires_at=now + 30 * SECOND,
    )
    retrying = await create_execution(
        session,
        job,
        scheduled_for=now - 300 * DAY + SECOND,
        status=ExecutionStatus.FAILED,
        next_attempt_at=now + 10 * SECOND,
    )
    newest = await create_execution(session, job, scheduled_for=now - DAY)
    # A job that has not run for a long time keeps its newest slot (both attempts of it): the
    # jobs page still shows how its last run went.
    dormant = await create_job(session, owner=user, pic_team=job.pic_team)
    dormant_older = await create_execution(session, dormant, scheduled_for=now - 400 * DAY)
    dormant_first = await create_execution(
        session, dormant, scheduled_for=now - 300 * DAY, status=ExecutionStatus.FAILED
    )
    dormant_last = await create_execution(
        session, dormant, scheduled_for=now - 300 * DAY, status=ExecutionStatus.FAILED, attempt=2
    )
    # A notification naming a purged execution outlives it (its own window), unlinked.
    note = notification(user, now - DAY, related_execution_id=outside.id, related_job_id=job.id)
    session.add(note)
    await session.commit()

    deleted = await worker(sessionmaker, retention_settings(), clock).purge()

    assert deleted == {"audit log": 0, "notifications": 0, "outbox": 0, "executions": 4}
    kept = {inside, running, retrying, newest, dormant_first, dormant_last}
    assert await ids_of(session, JobExecution) == {execution.id for execution in kept}
    assert not {outside.id, failed_long_ago.id, manual.id, dormant_older.id} & await ids_of(
        session, JobExecution
    )
    latest = await JobExecutionRepository(session).latest_by_job([job.id, dormant.id])
    assert {job_id: row.id for job_id, row in latest.items()} == {
        job.id: newest.id,
        dormant.id: dormant_last.id,
    }
    linked = select(Notification.related_execution_id, Notification.related_job_id)
    assert (await session.execute(linked.where(Notification.id == note.id))).one() == (
        None,
        job.id,
    )

    # A day later the row that was a second inside is a day outside.
    clock.advance(DAY)
    assert (await worker(sessionmaker, retention_settings(), clock).purge())["executions"] == 1
    assert inside.id not in await ids_of(session, JobExecution)


async def test_a_backlog_larger_than_a_batch_goes_in_one_pass_one_transaction_per_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FrozenClock,
    job: Job,
    sleeps: RecordedSleeps,
) -> None:
    now = clock.now()
    for minutes in range(7):
        await create_execution(session, job, scheduled_for=now - 100 * DAY - minutes * SECOND)
    newest = await create_execution(session, job, scheduled_for=now - SECOND)
    await session.commit()

    # The sessions themselves are kept: an id() of a freed one may be reused by the next.
    batches: list[tuple[AsyncSession, int]] = []
    rules = default_rules(retention_settings(), clock)
    [executions] = [rule for rule in rules if rule.name == "executions"]

    async def counted(batch_session: AsyncSession, batch_size: int) -> int:
        count = await executions.purge_batch(batch_session, batch_size)
        # Each batch in a session (and transaction) of its own.
        batches.append((batch_session, count))
        return count

    purge = RetentionWorker(
        sessionmaker,
        [RetentionRule("executions", counted)],
        batch_size=3,
        interval_seconds=3600,
        pause_ratio=4,
        sleep=sleeps,
    )
    assert await purge.purge() == {"executions": 7}
    assert [count for _, count in batches] == [3, 3, 1]
    assert len({id(batch_session) for batch_session, _ in batches}) == 3
    # A pause after each full batch, a multiple of how long it took; none after the last.
    assert len(sleeps.delays) == 2
    assert all(0 < delay < 4 * 10 for delay in sleeps.delays)
    assert await ids_of(session, JobExecution) == {newest.id}


# --- notifications and the outbox -------------------------------------------------------------


async def test_notifications_past_the_window_go_read_or_not(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FrozenClock,
    user: User,
) -> None:
    now = clock.now()
    outside = now - 90 * DAY - SECOND
    unread_old = notification(user, outside)
    read_old = notification(user, outside, is_read=True, read_at=outside)
    unread_inside = notification(user, now - 90 * DAY + SECOND)
    read_recent = notification(user, now - DAY, is_read=True, read_at=now - DAY)
    session.add_all([unread_old, read_old, unread_inside, read_recent])
    await session.commit()

    deleted = await worker(sessionmaker, retention_settings(), clock, batch_size=1).purge()

    assert deleted["notifications"] == 2
    assert await ids_of(session, Notification) == {unread_inside.id, read_recent.id}


async def test_outbox_rows_sent_or_failed_past_the_window_go_pending_ones_never(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FrozenClock
) -> None:
    now = clock.now()
    outside = now - 7 * DAY - SECOND
    sent_old = delivery(DeliveryStatus.SENT, outside, sent_at=outside)
    failed_old = delivery(DeliveryStatus.FAILED, outside, last_error="refused")
    sent_inside = delivery(DeliveryStatus.SENT, now - 7 * DAY + SECOND)
    # Waiting for a retry since long ago (or held by a worker's claim): never purged.
    pending_old = delivery(DeliveryStatus.PENDING, now - 30 * DAY)
    digest_old = delivery(
        DeliveryStatus.SENT,
        outside,
        kind=AlertKind.DAILY_DIGEST,
        execution_id=None,
        period="2026-05-20",
    )
    session.add_all([sent_old, failed_old, sent_inside, pending_old, digest_old])
    await session.commit()

    deleted = await worker(sessionmaker, retention_settings(), clock).purge()

    assert deleted["outbox"] == 3
    assert await ids_of(session, NotificationDelivery) == {sent_inside.id, pending_old.id}


async def test_a_delivery_given_up_at_its_claim_counts_its_window_from_then(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FrozenClock
) -> None:
    queued = clock.now() - 30 * DAY
    row = delivery(DeliveryStatus.PENDING, queued)
    session.add(row)
    await session.commit()
    settings = retention_settings(smtp_host=None)

    async with sessionmaker.begin() as claiming:
        claim = await DeliveryService(claiming, settings, clock).claim(DeliveryChannel.EMAIL, 10)
    assert (claim.deliveries, claim.dropped) == ([], 1)  # email is off: failed at once

    clock.advance(7 * DAY - SECOND)
    assert (await worker(sessionmaker, settings, clock).purge())["outbox"] == 0
    clock.advance(2 * SECOND)
    assert (await worker(sessionmaker, settings, clock).purge())["outbox"] == 1
    assert await ids_of(session, NotificationDelivery) == set()


# --- every rule at once -----------------------------------------------------------------------


async def test_each_table_follows_its_own_window_and_no_other(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FrozenClock,
    user: User,
    job: Job,
) -> None:
    """Rows of every table, all 60 days old: only the tables whose window is shorter lose
    them."""
    now = clock.now()
    old = now - 60 * DAY
    await create_execution(session, job, scheduled_for=old)
    await create_execution(session, job, scheduled_for=now - SECOND)
    session.add_all([notification(user, old), delivery(DeliveryStatus.SENT, old)])
    clock.set(old)
    await AuditService(session, clock).record(AuditAction.JOB_PAUSED, AuditResource.JOB, job.id)
    clock.set(now)
    await session.commit()
    before = await counts(session)

    async def purged_with(**days: int) -> dict[str, int]:
        return await worker(sessionmaker, retention_settings(**days), clock).purge()

    windows = {
        "audit_retention_days": 61,
        "execution_retention_days": 61,
        "notification_retention_days": 61,
        "outbox_retention_days": 61,
    }
    assert await purged_with(**windows) == {
        "audit log": 0,
        "notifications": 0,
        "outbox": 0,
        "executions": 0,
    }
    assert await counts(session) == before

    expected: Sequence[tuple[str, str, str]] = (
        ("outbox_retention_days", "outbox", "notification_delivery"),
        ("notification_retention_days", "notifications", "notification"),
        ("execution_retention_days", "executions", "job_execution"),
        ("audit_retention_days", "audit log", "audit_entry"),
    )
    for setting, rule, table in expected:
        windows[setting] = 59
        deleted = await purged_with(**windows)
        assert deleted == {name: int(name == rule) for name in deleted}
        before[table] -= 1
        assert await counts(session) == before

"""Alerts end to end: scheduled runs against a loopback target, outcomes committed by the
dispatcher, emails to a real SMTP server (aiosmtpd) and messages to a Slack-like webhook."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.enums import DeliveryStatus, ExecutionStatus
from models import (
    Job,
    Notification,
    NotificationDelivery,
    PicTeam,
    SlackSettings,
    User,
    UserNotificationPreferences,
)
from repositories.slack_settings import SLACK_SETTINGS_ID
from tests.scheduler.conftest import (
    Rig,
    WorkerMaker,
    run_pass,
    run_passes,
    service_pauses,
)
from tests.support.http_target import HttpTarget, Reply
from tests.support.smtp_server import SmtpServer

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
SLACK_PATH = "/services/T000/B000/SECRETTOKEN"
OWNER = "<owner>"


def smtp_at(port: int) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}


@pytest.fixture
async def slack_server() -> AsyncIterator[HttpTarget]:
    """The Slack incoming webhook (the job's own target is `http_target`)."""
    server = HttpTarget()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def ops_team(committing: async_sessionmaker[AsyncSession]) -> PicTeam:
    async with committing.begin() as session:
        team = PicTeam(slug="ops", name="Ops", slack_handle="@ops-oncall")  # make_job's team
        session.add(team)
    return team


async def enable_slack(committing: async_sessionmaker[AsyncSession], server: HttpTarget) -> None:
    async with committing.begin() as session:
        session.add(
            SlackSettings(
                id=SLACK_SETTINGS_ID,
                is_enabled=True,
                webhook_url=server.url + SLACK_PATH,
                channel="#alerts",
            )
        )


@pytest.fixture
async def slack(
    committing: async_sessionmaker[AsyncSession], slack_server: HttpTarget
) -> HttpTarget:
    """The Slack webhook, enabled in the service's Slack settings."""
    await enable_slack(committing, slack_server)
    return slack_server


async def notifications_of(
    committing: async_sessionmaker[AsyncSession], job: Job
) -> list[Notification]:
    async with committing() as session:
        rows = await session.scalars(
            select(Notification)
            .where(Notification.related_job_id == job.id)
            .order_by(Notification.created_at, Notification.type)
        )
        return list(rows)


async def deliveries(committing: async_sessionmaker[AsyncSession]) -> list[NotificationDelivery]:
    async with committing() as session:
        return list(await session.scalars(select(NotificationDelivery)))


async def alerting_ops(rig: Rig, **fields: Any) -> Job:
    """A job every minute whose alerts also go by email to ops@example.com."""
    return await rig.job(
        "* * * * *",
        enable_email_notifications=True,
        notification_emails=["ops@example.com"],
        **fields,
    )


@pytest.mark.usefixtures("ops_team")
async def test_a_failed_run_reaches_every_channel_once(
    rig: Rig,
    make_worker: WorkerMaker,
    slack: HttpTarget,
    smtp_server: SmtpServer,
    owner: User,
) -> None:
    rig.clock.set(T0)
    job = await alerting_ops(rig, name="nightly-export")
    rig.http_target.default = Reply(status=500, body=b"boom")
    channels = smtp_at(smtp_server.port)

    rig.clock.advance(timedelta(minutes=1))
    await run_pass(rig.make_scheduler(**channels))
    worker = make_worker(**channels)
    assert await worker.run_once() == 3
    assert await worker.run_once() == 0

    [execution] = await rig.executions(job)
    assert smtp_server.recipients == sorted(["ops@example.com", owner.email])
    for mail in smtp_server.received:
        assert mail.subject == "[Cron Job Service] Job failed: nightly-export"
        text = mail.part("plain")
        for expected in ("Status code: 500", "Error: HTTP 500", f"Execution: {execution.id}"):
            assert expected in text
        assert "Schedule slot: 2026-06-01 00:01 UTC" in text
        assert "<td>nightly-export</td>" in mail.part("html")
    [post] = slack.received
    assert post.path == SLACK_PATH
    slack_text = post.json()["text"]
    assert slack_text.startswith("@ops-oncall Job failed: nightly-export")
    for expected in ("2026-06-01 00:01 UTC", "Status code: 500", "Error: HTTP 500"):
        assert expected in slack_text
    assert "http" not in slack_text  # no links, not even the target's URL
    [note] = await notifications_of(rig.committing, job)
    assert (note.user_id, note.type, note.related_execution_id) == (
        owner.id,
        "error",
        execution.id,
    )


@pytest.mark.parametrize(
    ("job_fields", "preferences", "status", "expected"),
    [
        pytest.param({}, {}, 200, [], id="success-tells-nobody"),
        pytest.param({"notify_on_success": True}, {}, 200, [OWNER], id="notify-on-success"),
        pytest.param(
            {"notify_on_success": True},
            {"email_on_job_success": False},
            200,
            [],
            id="notify-on-success-but-owner-opted-out",
        ),
        pytest.param(
            {"enable_email_notifications": False}, {}, 500, [OWNER], id="failure-list-disabled"
        ),
        pytest.param(
            {"enable_email_notifications": True},
            {},
            500,
            ["ops@example.com", "oncall@example.com", OWNER],
            id="failure-list-and-owner",
        ),
        pytest.param(
            {"enable_email_notifications": True},
            {"email_on_job_failure": False},
            500,
            ["ops@example.com", "oncall@example.com"],
            id="failure-owner-opted-out",
        ),
        pytest.param(
            {"enable_email_notifications": False},
            {"email_on_job_failure": False},
            500,
            [],
            id="failure-nobody-wants-email",
        ),
    ],
)
async def test_email_recipients_follow_the_job_and_the_owners_preferences(
    rig: Rig,
    make_worker: WorkerMaker,
    smtp_server: SmtpServer,
    owner: User,
    job_fields: dict[str, Any],
    preferences: dict[str, bool],
    status: int,
    expected: list[str],
) -> None:
    rig.clock.set(T0)
    if preferences:
        async with rig.committing.begin() as session:
            session.add(UserNotificationPreferences(user_id=owner.id, **preferences))
    await rig.job(
        "* * * * *",
        notification_emails=["ops@example.com", "oncall@example.com"],
        **job_fields,
    )
    rig.http_target.default = Reply(status=status)
    channels = smtp_at(smtp_server.port)

    rig.clock.advance(timedelta(minutes=1))
    await run_pass(rig.make_scheduler(**channels))
    sent = await make_worker(**channels).run_once()

    recipients = sorted(owner.email if address == OWNER else address for address in expected)
    assert sent == len(recipients)
    assert smtp_server.recipients == recipients


async def test_smtp_down_and_slack_failing_never_cost_the_record_or_the_in_app_alert(
    rig: Rig,
    make_worker: WorkerMaker,
    slack: HttpTarget,
    owner: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig.clock.set(T0)
    slack.default = Reply(status=500, body=b"internal_error")
    job = await alerting_ops(rig)
    rig.http_target.default = Reply(status=503)
    with socket.socket() as probe:  # a port nobody listens on: SMTP is down
        probe.bind(("127.0.0.1", 0))
        channels = smtp_at(probe.getsockname()[1])
    caplog.set_level(logging.WARNING, logger="services.notifications.sender")

    rig.clock.advance(timedelta(minutes=1))
    await run_pass(rig.make_scheduler(**channels))

    # Recorded and notified in-app before any channel was tried.
    [execution] = await rig.executions(job)
    assert (execution.status, execution.response_status) == (ExecutionStatus.FAILED, 503)
    [note] = await notifications_of(rig.committing, job)
    assert (note.type, note.user_id) == ("error", owner.id)

    assert await make_worker(**channels).run_once() == 3

    rows = await deliveries(rig.committing)
    assert {(row.channel, row.status, row.attempts) for row in rows} == {
        ("email", DeliveryStatus.PENDING, 1),
        ("slack", DeliveryStatus.PENDING, 1),
    }
    assert all(row.last_error for row in rows)
    assert len(slack.received) == 1
    failures = [r for r in caplog.records if r.name == "services.notifications.sender"]
    assert len(failures) == 3
    assert all(str(execution.id) in record.getMessage() for record in failures)
    assert "SECRETTOKEN" not in caplog.text


@pytest.mark.usefixtures("ops_team")
async def test_the_first_success_after_failures_says_recovered(
    rig: Rig,
    make_worker: WorkerMaker,
    slack: HttpTarget,
    smtp_server: SmtpServer,
) -> None:
    rig.clock.set(T0)
    job = await alerting_ops(rig, name="sync")
    rig.http_target.respond(Reply(status=500), Reply(status=500))  # then 200 (the default)
    scheduler = rig.make_scheduler(**smtp_at(smtp_server.port))

    for _ in range(4):
        rig.clock.advance(timedelta(minutes=1))
        await run_pass(scheduler)
    await make_worker(**smtp_at(smtp_server.port)).run_once()

    subjects = sorted(mail.subject for mail in smtp_server.received)
    assert (
        subjects
        == ["[Cron Job Service] Job failed: sync"] * 4
        + ["[Cron Job Service] Job recovered: sync"] * 2
    )
    recovered = [mail for mail in smtp_server.received if "recovered" in mail.subject]
    assert "after 2 failed runs in a row" in recovered[0].part("plain")
    assert [post.json()["text"].split("\n")[0] for post in slack.received] == [
        "@ops-oncall Job failed: sync",
        "@ops-oncall Job failed: sync",
        "@ops-oncall Job recovered: sync",
    ]
    notes = await notifications_of(rig.committing, job)
    assert [(n.type, n.title) for n in notes] == [
        ("error", "Job failed: sync"),
        ("error", "Job failed: sync"),
        ("success", "Job recovered: sync"),
    ]


async def test_a_job_failing_too_often_is_paused_and_its_owner_warned(
    rig: Rig,
    owner: User,
) -> None:
    rig.clock.set(T0)
    job = await rig.job("* * * * *")
    rig.http_target.default = Reply(status=500)
    scheduler = rig.make_scheduler(auto_pause_after_failures=2)

    for _ in range(5):
        rig.clock.advance(timedelta(minutes=1))
        await run_pass(scheduler)

    assert len(await rig.executions(job)) == 2  # nothing fired once paused
    async with rig.committing() as session:
        paused = await session.get(Job, job.id)
        assert paused is not None
        assert (paused.is_active, paused.next_run_at, paused.consecutive_failures) == (
            False,
            None,
            2,
        )
        # Remembered for the digests' "paused by the service" list.
        assert (paused.pause_reason, paused.paused_by_service_at) == (
            "auto_pause",
            T0 + timedelta(minutes=2),
        )
    notes = await notifications_of(rig.committing, job)
    assert [n.type for n in notes] == ["error", "error", "warning"]
    assert notes[-1].user_id == owner.id
    assert notes[-1].title == f"Job paused: {job.name}"
    # Audited as the service's doing: no actor.
    assert await service_pauses(rig.committing, job.id) == [(None, {"by_service": "auto_pause"})]


@pytest.mark.postgres_only
@pytest.mark.usefixtures("ops_team")
async def test_two_schedulers_and_two_workers_never_duplicate_an_alert(
    rig: Rig,
    make_worker: WorkerMaker,
    slack: HttpTarget,
    smtp_server: SmtpServer,
    owner: User,
) -> None:
    rig.clock.set(T0)
    jobs = [
        await rig.job(
            "* * * * *",
            enable_email_notifications=True,
            notification_emails=[f"team{i:02}@example.com"],
        )
        for i in range(20)
    ]
    rig.http_target.default = Reply(status=500)
    channels = smtp_at(smtp_server.port)
    # Two processes: each a scheduler and a delivery worker on an engine of its own.
    schedulers = [
        rig.make_scheduler(own_engine=True, scheduler_batch_size=5, **channels) for _ in range(2)
    ]
    workers = [
        make_worker(s.sessionmaker, notification_concurrency=50, **channels) for s in schedulers
    ]
    for _ in range(3):
        rig.clock.advance(timedelta(minutes=1))
        await run_passes(schedulers)
        await asyncio.gather(*(w.run_once() for w in workers))
    await asyncio.gather(*(w.run_once() for w in workers))

    runs = 20 * 3
    alerts = [
        (mail.recipients[0], mail.message["X-Cron-Execution-Id"]) for mail in smtp_server.received
    ]
    assert len(alerts) == len(set(alerts)) == 2 * runs  # the job's list and the owner, once each
    assert sum(1 for address, _ in alerts if address == owner.email) == runs
    posts = [post.json()["text"] for post in slack.received]
    assert len(posts) == len(set(posts)) == runs
    async with rig.committing() as session:
        notes = list(await session.scalars(select(Notification)))
    assert len(notes) == len({n.related_execution_id for n in notes}) == runs
    assert {n.related_job_id for n in notes} == {job.id for job in jobs}
    assert uuid.UUID(alerts[0][1]) in {n.related_execution_id for n in notes}

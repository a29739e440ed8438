"""The delivery worker against a real SMTP server (aiosmtpd) and a Slack-like webhook on
loopback, with committed outbox rows, as separate processes would see them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core import db
from core.config import Settings
from core.enums import AlertKind, DeliveryChannel, DeliveryStatus
from models import NotificationDelivery, SlackSettings
from repositories.slack_settings import SLACK_SETTINGS_ID
from services.notifications.outbox import DeliveryService
from services.notifications.rules import QUEUED_DELIVERIES
from tests.scheduler.conftest import WorkerMaker
from tests.support.clock import FrozenClock
from tests.support.http_target import HttpTarget, Reply
from tests.support.ports import closed_port
from tests.support.smtp_server import SmtpServer

SLACK_PATH = "/services/T000/B000/SECRETTOKEN"


def smtp_at(port: int, **more: Any) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, **more}


@pytest.fixture
async def silent_smtp() -> AsyncIterator[int]:
    """A mail server that accepts connections and never answers."""

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def queue(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    channel: DeliveryChannel,
    *recipients: str,
    kind: AlertKind = AlertKind.FAILURE,
) -> list[NotificationDelivery]:
    """Commit one pending delivery per recipient, as the notifier writes them."""
    rows = [
        NotificationDelivery(
            channel=channel,
            kind=kind,
            recipient=recipient,
            subject="[Cron Job Service] Job failed: nightly",
            body_text=f"The run failed ({recipient}).",
            body_html="<p>The run <b>failed</b>.</p>" if channel == DeliveryChannel.EMAIL else None,
            execution_id=uuid.uuid4(),
            job_id=uuid.uuid4(),
            next_attempt_at=clock.now(),
        )
        for recipient in recipients
    ]
    async with sessionmaker.begin() as session:
        session.add_all(rows)
    return rows


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> list[NotificationDelivery]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(NotificationDelivery).order_by(NotificationDelivery.recipient)
        )
        return list(rows)


async def status_of(
    sessionmaker: async_sessionmaker[AsyncSession], channel: DeliveryChannel
) -> DeliveryStatus:
    [row] = [row for row in await stored(sessionmaker) if row.channel == channel]
    return row.status


async def enable_slack(
    sessionmaker: async_sessionmaker[AsyncSession], url: str, channel: str | None = "#alerts"
) -> None:
    async with sessionmaker.begin() as session:
        session.add(
            SlackSettings(id=SLACK_SETTINGS_ID, is_enabled=True, webhook_url=url, channel=channel)
        )


async def test_emails_are_sent_once_with_both_parts(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    rows = await queue(committing, clock, DeliveryChannel.EMAIL, "a@example.com", "b@example.com")
    worker = make_worker(**smtp_at(smtp_server.port, smtp_from="alerts@example.com"))

    assert await worker.run_once() == 2
    assert await worker.run_once() == 0

    assert smtp_server.recipients == ["a@example.com", "b@example.com"]
    for mail in smtp_server.received:
        assert mail.sender == "alerts@example.com"
        assert mail.subject == "[Cron Job Service] Job failed: nightly"
        assert mail.part("plain").strip() == f"The run failed ({mail.recipients[0]})."
        assert "<b>failed</b>" in mail.part("html")
    by_recipient = {mail.recipients[0]: mail for mail in smtp_server.received}
    assert by_recipient["a@example.com"].message["X-Cron-Execution-Id"] == str(rows[0].execution_id)
    assert [(r.status, r.attempts, r.sent_at, r.last_error) for r in await stored(committing)] == [
        (DeliveryStatus.SENT, 1, clock.now(), None)
    ] * 2


async def test_a_slack_message_goes_to_the_stored_webhook(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    http_target: HttpTarget,
) -> None:
    await enable_slack(committing, http_target.url + SLACK_PATH)
    await queue(committing, clock, DeliveryChannel.SLACK, "#alerts")

    assert await make_worker().run_once() == 1

    [request] = http_target.received
    assert request.path == SLACK_PATH
    assert request.json()["text"] == "The run failed (#alerts)."
    assert request.json()["channel"] == "#alerts"
    assert [row.status for row in await stored(committing)] == [DeliveryStatus.SENT]


async def test_smtp_down_is_logged_retried_with_backoff_and_given_up(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [row] = await queue(committing, clock, DeliveryChannel.EMAIL, "ops@example.com")
    worker = make_worker(
        **smtp_at(closed_port(), smtp_password=SecretStr("hunter2-secret")),
        notification_max_attempts=3,
        notification_retry_base_seconds=30,
    )
    caplog.set_level(logging.WARNING, logger="services.notifications.sender")
    start = clock.now()

    assert await worker.run_once() == 1
    [pending] = await stored(committing)
    assert (pending.status, pending.attempts) == (DeliveryStatus.PENDING, 1)
    assert pending.next_attempt_at == start + timedelta(seconds=30)
    assert pending.last_error is not None
    assert "SMTPConnect" in pending.last_error
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert str(row.execution_id) in warning.getMessage()
    assert warning.execution_id == str(row.execution_id)  # type: ignore[attr-defined]
    assert "attempt 1 of 3" in warning.getMessage()

    assert await worker.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=30))
    assert await worker.run_once() == 1
    [pending] = await stored(committing)
    assert pending.next_attempt_at == clock.now() + timedelta(seconds=60)  # doubled

    clock.advance(timedelta(seconds=60))
    assert await worker.run_once() == 1
    [failed] = await stored(committing)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 3)
    assert caplog.records[-1].levelno == logging.ERROR
    assert "giving up" in caplog.records[-1].getMessage()

    clock.advance(timedelta(days=1))
    assert await worker.run_once() == 0
    assert "hunter2-secret" not in caplog.text


@pytest.mark.parametrize(
    ("reply", "status", "attempts"),
    [
        (Reply(status=500, body=b"oops"), DeliveryStatus.PENDING, 1),
        (Reply(status=404, body=b"no_service"), DeliveryStatus.FAILED, 1),
    ],
)
async def test_slack_errors_are_retried_only_when_worth_it(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    http_target: HttpTarget,
    caplog: pytest.LogCaptureFixture,
    reply: Reply,
    status: DeliveryStatus,
    attempts: int,
) -> None:
    await enable_slack(committing, http_target.url + SLACK_PATH)
    [row] = await queue(committing, clock, DeliveryChannel.SLACK, "#alerts")
    http_target.respond(reply)

    assert await make_worker().run_once() == 1

    [stored_row] = await stored(committing)
    assert (stored_row.status, stored_row.attempts) == (status, attempts)
    assert stored_row.last_error is not None
    assert stored_row.last_error.startswith(f"HTTP {reply.status}")
    assert str(row.execution_id) in caplog.text
    assert "SECRETTOKEN" not in caplog.text
    assert "SECRETTOKEN" not in stored_row.last_error


async def test_a_refused_recipient_fails_alone(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    smtp_server.refuse["gone@example.com"] = "550 5.1.1 no such user"
    await queue(committing, clock, DeliveryChannel.EMAIL, "gone@example.com", "ops@example.com")

    assert await make_worker(**smtp_at(smtp_server.port)).run_once() == 2

    assert smtp_server.recipients == ["ops@example.com"]
    gone, ops = await stored(committing)
    assert (gone.status, gone.attempts) == (DeliveryStatus.FAILED, 1)
    assert gone.last_error is not None
    assert "550" in gone.last_error
    assert ops.status == DeliveryStatus.SENT


async def test_a_hung_mail_server_never_delays_slack(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    http_target: HttpTarget,
    silent_smtp: int,
) -> None:
    await enable_slack(committing, http_target.url + SLACK_PATH)
    await queue(committing, clock, DeliveryChannel.EMAIL, "ops@example.com")
    await queue(committing, clock, DeliveryChannel.SLACK, "#alerts")
    worker = make_worker(**smtp_at(silent_smtp), notification_timeout_seconds=3)

    sending = asyncio.create_task(worker.run_once())
    for _ in range(100):  # two seconds at most: well before the email's deadline
        if await status_of(committing, DeliveryChannel.SLACK) == DeliveryStatus.SENT:
            break
        await asyncio.sleep(0.02)
    assert await status_of(committing, DeliveryChannel.SLACK) == DeliveryStatus.SENT
    assert len(http_target.received) == 1
    assert not sending.done()

    assert await sending == 2
    email_row = next(r for r in await stored(committing) if r.channel == DeliveryChannel.EMAIL)
    assert (email_row.status, email_row.last_error) == (
        DeliveryStatus.PENDING,
        "timed out after 3s",
    )


async def test_slack_turned_off_before_sending_drops_the_message(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    http_target: HttpTarget,
) -> None:
    async with committing.begin() as session:
        session.add(
            SlackSettings(
                id=SLACK_SETTINGS_ID, is_enabled=False, webhook_url=http_target.url + SLACK_PATH
            )
        )
    await queue(committing, clock, DeliveryChannel.SLACK, "#alerts")

    assert await make_worker().run_once() == 0

    assert http_target.received == []
    [row] = await stored(committing)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 0)
    assert row.last_error == "Slack was turned off before the message was sent"


async def test_sends_in_flight_are_capped_per_channel(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    addresses = [f"user{i}@example.com" for i in range(5)]
    await queue(committing, clock, DeliveryChannel.EMAIL, *addresses)
    worker = make_worker(**smtp_at(smtp_server.port), notification_concurrency=2)

    assert [await worker.run_once() for _ in range(4)] == [2, 2, 1, 0]
    assert smtp_server.recipients == addresses


async def test_a_claim_left_by_a_dead_worker_is_taken_over_after_it_lapses(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp_server: SmtpServer,
    settings: Settings,
) -> None:
    await queue(committing, clock, DeliveryChannel.EMAIL, "ops@example.com")
    channel_settings = settings.model_copy(update=smtp_at(smtp_server.port))
    async with committing.begin() as session:  # claimed, then its process died
        claim = await DeliveryService(session, channel_settings, clock).claim(
            DeliveryChannel.EMAIL, 10
        )
    assert len(claim.deliveries) == 1
    worker = make_worker(**smtp_at(smtp_server.port), notification_timeout_seconds=10)

    assert await worker.run_once() == 0
    clock.advance(timedelta(seconds=2 * 10 + 30))
    assert await worker.run_once() == 1

    assert smtp_server.recipients == ["ops@example.com"]
    [row] = await stored(committing)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)


async def test_a_commit_that_queued_deliveries_wakes_the_worker(
    engine: AsyncEngine,
    make_worker: WorkerMaker,
    clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    session_class = type("WakeSession", (Session,), {})
    sessionmaker = db.create_sessionmaker(engine, session_class)
    worker = make_worker(sessionmaker, **smtp_at(smtp_server.port), notification_poll_seconds=600)
    worker.wake_on_new_deliveries(session_class)
    worker.start()
    await asyncio.sleep(0.2)  # its first pass found nothing; it now waits up to 10 minutes

    rows = await queue(sessionmaker, clock, DeliveryChannel.EMAIL, "ops@example.com")
    async with sessionmaker() as session:
        await session.execute(select(1))  # a transaction...
        session.info[QUEUED_DELIVERIES] = True  # ...that queued deliveries...
        await session.rollback()  # ...rolled back: a later commit has nothing to announce
        await session.commit()
    await asyncio.sleep(0.5)
    assert smtp_server.received == []  # nothing committed said a delivery was queued

    async with sessionmaker.begin() as session:
        session.info[QUEUED_DELIVERIES] = True  # what the notifier sets when it queues rows
    await smtp_server.wait_for(1, within_seconds=5)

    assert smtp_server.received[0].message["X-Cron-Execution-Id"] == str(rows[0].execution_id)


@pytest.mark.postgres_only
async def test_two_workers_send_every_message_exactly_once(
    make_worker: WorkerMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    smtp_server: SmtpServer,
    settings: Settings,
) -> None:
    addresses = [f"user{i:02}@example.com" for i in range(60)]
    await queue(committing, clock, DeliveryChannel.EMAIL, *addresses)
    engines = [db.create_engine(settings) for _ in range(2)]
    try:
        workers = [
            make_worker(
                db.create_sessionmaker(engine),
                **smtp_at(smtp_server.port),
                notification_concurrency=50,
            )
            for engine in engines
        ]
        for _ in range(5):
            counts = await asyncio.gather(*(worker.run_once() for worker in workers))
            if sum(counts) == 0:
                break
    finally:
        for engine in engines:
            await engine.dispose()

    assert smtp_server.recipients == addresses
    rows = await stored(committing)
    assert {(row.status, row.attempts) for row in rows} == {(DeliveryStatus.SENT, 1)}

"""Daily digests and weekly reports end to end: seeded executions, the scheduler loop deciding
with an injected clock, the delivery worker sending to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import cron, db
from core.enums import AlertKind, DeliveryStatus, ExecutionStatus, PauseReason, UserRole
from models import Job, NotificationDelivery, User, UserNotificationPreferences
from services.notifications.digest import DigestService, Period
from services.scheduling import SchedulingService
from tests.scheduler.conftest import SchedulerMaker, WorkerMaker, run_pass
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
from tests.support.http_target import HttpTarget, Reply
from tests.support.job_factories import create_job
from tests.support.smtp_server import ReceivedMail, SmtpServer

BERLIN = ZoneInfo("Europe/Berlin")


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in `zone`, as the UTC instant the database stores."""
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return local(BERLIN, year, month, day, hour, minute)


def plain(mail: ReceivedMail) -> str:
    """The text part with its line ends as written (SMTP carries them as CRLF)."""
    return mail.part("plain").replace("\r\n", "\n")


@dataclass
class Digests:
    """The pieces every digest test uses: committed rows, the injected clock, schedulers and
    delivery workers pointed at the real SMTP server, and the owner of the jobs."""

    committing: async_sessionmaker[AsyncSession]
    clock: FrozenClock
    make_scheduler: SchedulerMaker
    make_worker: WorkerMaker
    smtp_server: SmtpServer
    owner: User

    @property
    def smtp(self) -> dict[str, Any]:
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp_server.port,
            "smtp_starttls": False,
        }

    @property
    def mails(self) -> list[ReceivedMail]:
        return self.smtp_server.received

    async def subscribe(
        self,
        user: User | None = None,
        *,
        zone: str = "Europe/Berlin",
        daily: bool = True,
        weekly: bool = False,
    ) -> None:
        user = user or self.owner
        async with self.committing.begin() as session:
            await session.execute(update(User).where(User.id == user.id).values(timezone=zone))
            await session.execute(
                delete(UserNotificationPreferences).where(
                    UserNotificationPreferences.user_id == user.id
                )
            )
            session.add(
                UserNotificationPreferences(
                    user_id=user.id, daily_digest=daily, weekly_report=weekly
                )
            )
        user.timezone = zone

    async def user(self, name: str, role: UserRole = UserRole.USER) -> User:
        async with self.committing.begin() as session:
            user = User(username=name, email=f"{name}@example.com", password_hash="x", role=role)
            session.add(user)
        return user

    async def job(self, user: User | None = None, **fields: Any) -> Job:
        """A job of `user` (the owner), scheduled at the clock's now."""
        async with self.committing.begin() as session:
            return await create_job(
                session,
                owner=user or self.owner,
                pic_team="ops",
                now=self.clock.now(),
                **fields,
            )

    async def seed(
        self,
        job: Job,
        at: datetime,
        status: ExecutionStatus = ExecutionStatus.SUCCESS,
        **fields: Any,
    ) -> None:
        async with self.committing.begin() as session:
            await create_execution(session, job, scheduled_for=at, status=status, **fields)

    async def tick(self, instant: datetime, *, smtp: bool = True, **settings: Any) -> int:
        """One pass of a fresh scheduler at `instant` (a fresh one looks for digests at once);
        returns how many due digests it found with nothing to report."""
        self.clock.set(instant)
        scheduler = self.make_scheduler(**(self.smtp if smtp else {}), **settings)
        await scheduler.tick()
        return len(scheduler._empty_digests)

    async def send(self, **settings: Any) -> int:
        """One pass of a fresh delivery worker; returns how many sends it tried."""
        return await self.make_worker(**self.smtp, **settings).run_once()

    async def rows(self) -> list[NotificationDelivery]:
        async with self.committing() as session:
            rows = await session.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.period.is_not(None))
                .order_by(NotificationDelivery.created_at)
            )
            return list(rows)


@pytest.fixture
async def digests(
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    make_scheduler: SchedulerMaker,
    make_worker: WorkerMaker,
    smtp_server: SmtpServer,
    owner: User,
) -> AsyncIterator[Digests]:
    yield Digests(committing, clock, make_scheduler, make_worker, smtp_server, owner)
    async with committing.begin() as session:
        await session.execute(delete(UserNotificationPreferences))


# --- the daily digest, exactly ------------------------------------------------------------------


async def test_daily_digest_of_a_seeded_day_says_exactly_what_happened(
    digests: Digests,
) -> None:
    await digests.subscribe()
    # Jobs made at send time, so no slot of theirs is due while the test ticks.
    digests.clock.set(berlin(2026, 6, 2, 8, 0))
    backup = await digests.job(name="backup", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    sync = await digests.job(name="sync", cron_expression="0 */6 * * *", timezone="Europe/Berlin")
    report = await digests.job(
        name="report", cron_expression="30 9 * * *", timezone="Europe/Berlin"
    )
    # Someone else's job is not in this digest.
    stranger = await digests.user("stranger")
    others = await digests.job(user=stranger, name="others", timezone="Europe/Berlin")
    await digests.seed(others, berlin(2026, 6, 1, 12, 0), ExecutionStatus.FAILED)

    await digests.seed(backup, berlin(2026, 6, 1, 3, 0), duration_seconds=2.0)
    # Outside the local day on both sides.
    await digests.seed(backup, berlin(2026, 5, 31, 23, 59), ExecutionStatus.FAILED)
    await digests.seed(backup, berlin(2026, 6, 2, 0, 0), ExecutionStatus.FAILED)
    await digests.seed(sync, berlin(2026, 6, 1, 0, 0))
    # A failed attempt retried with success: one successful run.
    await digests.seed(sync, berlin(2026, 6, 1, 6, 0), ExecutionStatus.FAILED, attempt=1)
    await digests.seed(sync, berlin(2026, 6, 1, 6, 0), attempt=2)
    await digests.seed(
        sync,
        berlin(2026, 6, 1, 12, 0),
        ExecutionStatus.FAILED,
        error_message="connection refused",
    )
    await digests.seed(sync, berlin(2026, 6, 1, 18, 0), ExecutionStatus.FAILED, response_status=503)
    await digests.seed(report, berlin(2026, 6, 1, 9, 30), ExecutionStatus.MISSED)
    # The overlap policy skipped two slots behind a long run; a person cancelled one run: a
    # skipped slot is counted as such, a cancelled run is neither a success nor a failure.
    await digests.seed(backup, berlin(2026, 6, 1, 4, 0), ExecutionStatus.SKIPPED)
    await digests.seed(backup, berlin(2026, 6, 1, 5, 0), ExecutionStatus.SKIPPED)
    await digests.seed(report, berlin(2026, 6, 1, 10, 30), ExecutionStatus.CANCELLED)
    # A job the service paused during the day (its end date passed), by the real path.
    old = await digests.job(name="old", end_date=date(2026, 5, 31), next_run_at=None)
    digests.clock.set(berlin(2026, 6, 1, 10, 0))
    async with digests.committing.begin() as session:
        worker_settings = digests.make_worker(**digests.smtp).settings
        assert await SchedulingService(session, worker_settings, digests.clock).pause_finished_jobs(
            10
        )
    async with digests.committing() as session:
        paused = await session.get(Job, old.id)
        assert paused is not None
        assert paused.pause_reason == PauseReason.END_DATE
        assert paused.paused_by_service_at == berlin(2026, 6, 1, 10, 0)

    # Before DIGEST_HOUR in Berlin: nothing yet.
    await digests.tick(berlin(2026, 6, 2, 7, 59))
    assert await digests.rows() == []

    await digests.tick(berlin(2026, 6, 2, 8, 0))
    [row] = await digests.rows()
    assert (row.kind, row.period, row.user_id) == (
        AlertKind.DAILY_DIGEST,
        "2026-06-01",
        digests.owner.id,
    )
    worker = digests.make_worker(**digests.smtp)
    assert await worker.run_once() == 1
    [mail] = digests.mails
    assert mail.recipients == [digests.owner.email]
    assert mail.subject == ("[Cron Job Service] Daily digest 2026-06-01: 5 runs, 2 failed")
    assert mail.message["X-Cron-Digest"] == "daily_digest 2026-06-01"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert plain(mail) == (
        "Your jobs on Monday 2026-06-01 (Europe/Berlin): 5 runs, 3 succeeded, 2 failed.\n"
        "\n"
        "Period: 2026-06-01 00:00 CEST to 2026-06-02 00:00 CEST (24 h)\n"
        "Runs: 5\n"
        "Succeeded: 3\n"
        "Failed: 2\n"
        "Missed slots: 1\n"
        "Skipped slots: 2\n"
        "Success rate: 60.0%\n"
        "\n"
        "Failing jobs:\n"
        "- sync · 2 failed · last 2026-06-01 18:00 CEST · HTTP 503\n"
        "\n"
        "Paused by the service:\n"
        "- old · past its end date · 2026-06-01 10:00 CEST\n"
        "\n"
        "First runs on Tuesday 2026-06-02:\n"
        "- 2026-06-02 00:00 CEST · sync\n"
        "- 2026-06-02 03:00 CEST · backup\n"
        "- 2026-06-02 09:30 CEST · report\n"
        "\n"
        "-- Cron Job Service\n"
    )
    body = mail.part("html").replace("\r\n", "\n")
    cell = '<td style="padding:2px 12px 2px 0;text-align:left">'
    assert "<p>Your jobs on Monday 2026-06-01 (Europe/Berlin): 5 runs" in body
    assert '<th align="left" style="padding:2px 12px 2px 0">Success rate</th><td>60.0%</td>' in body
    assert "<h3>Failing jobs</h3>" in body
    assert f"{cell}sync</td>{cell}2 failed</td>" in body
    assert f"{cell}old</td>{cell}past its end date</td>" in body
    assert "others" not in body

    # Later the same day, more passes (and another worker) add nothing.
    await digests.tick(berlin(2026, 6, 2, 9, 0))
    assert len(await digests.rows()) == 1
    assert await digests.send() == 0
    [sent] = await digests.rows()
    assert sent.status == DeliveryStatus.SENT
    assert len(digests.mails) == 1


async def test_a_job_the_service_paused_for_failing_in_a_row_is_in_the_digest(
    digests: Digests,
    http_target: HttpTarget,
) -> None:
    await digests.subscribe()
    digests.clock.set(berlin(2026, 6, 1, 9, 30))
    flaky = await digests.job(
        name="flaky",
        cron_expression="0 * * * *",
        timezone="Europe/Berlin",
        target_url=http_target.url,
    )
    http_target.default = Reply(status=500)
    # The real path: the scheduler runs it, it fails twice in a row, the service pauses it.
    scheduler = digests.make_scheduler(auto_pause_after_failures=2)
    for hour in (10, 11, 12):
        digests.clock.set(berlin(2026, 6, 1, hour, 0))
        await run_pass(scheduler)
    assert len(http_target.received) == 2  # nothing fired once paused
    async with digests.committing() as session:
        paused = await session.get(Job, flaky.id)
        assert paused is not None
        assert (paused.pause_reason, paused.paused_by_service_at) == (
            PauseReason.AUTO_PAUSE,
            berlin(2026, 6, 1, 11, 0),
        )

    await digests.tick(berlin(2026, 6, 2, 8, 0))
    assert await digests.send() == 1
    [mail] = digests.mails
    text = plain(mail)
    assert (
        "Failing jobs:\n"
        "- flaky · 2 failed · last 2026-06-01 11:00 CEST · HTTP 500\n"
        "\n"
        "Paused by the service:\n"
        "- flaky · failed too many times in a row · 2026-06-01 11:00 CEST\n"
        "\n"
    ) in text
    cell = '<td style="padding:2px 12px 2px 0;text-align:left">'
    assert f"{cell}flaky</td>{cell}failed too many times in a row</td>" in mail.part("html")


async def test_a_day_with_nothing_to_report_sends_no_email(
    digests: Digests,
) -> None:
    await digests.subscribe()
    digests.clock.set(berlin(2026, 6, 2, 8, 0))
    job = await digests.job(name="quiet", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    # The day before the period and the day after are not the period.
    await digests.seed(job, berlin(2026, 5, 31, 3, 0))
    await digests.seed(job, berlin(2026, 6, 2, 3, 0))

    empty = await digests.tick(berlin(2026, 6, 2, 8, 0))
    assert empty == 1  # looked at, found empty, remembered
    assert await digests.rows() == []
    assert await digests.send() == 0
    assert digests.mails == []


async def test_without_smtp_no_digest_is_decided(
    digests: Digests,
) -> None:
    await digests.subscribe()
    digests.clock.set(berlin(2026, 6, 2, 8, 0))
    job = await digests.job(timezone="Europe/Berlin", cron_expression="0 3 * * *")
    await digests.seed(job, berlin(2026, 6, 1, 3, 0))
    await digests.tick(berlin(2026, 6, 2, 8, 0), smtp=False)
    assert await digests.rows() == []


# --- exactly once -----------------------------------------------------------------------------


async def test_two_schedulers_at_once_decide_one_digest_and_one_email_is_sent(
    digests: Digests,
) -> None:
    await digests.subscribe(daily=True, weekly=True)
    digests.clock.set(berlin(2026, 6, 1, 8, 0))  # a Monday: a daily digest and a weekly report
    job = await digests.job(name="busy", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    await digests.seed(job, berlin(2026, 5, 31, 3, 0))
    await digests.seed(job, berlin(2026, 5, 27, 3, 0), ExecutionStatus.FAILED)

    # Two schedulers, each with its own engine (own connections), as two processes would be.
    engines = [db.create_engine(digests.make_scheduler(**digests.smtp).settings) for _ in range(2)]
    try:
        for minute in range(3):
            digests.clock.set(berlin(2026, 6, 1, 8, 0) + timedelta(minutes=2 * minute))
            schedulers = [
                digests.make_scheduler(sessionmaker=db.create_sessionmaker(engine), **digests.smtp)
                for engine in engines
            ]
            await asyncio.gather(*(s.tick() for s in schedulers))
        workers = [
            digests.make_worker(sessionmaker=db.create_sessionmaker(engine), **digests.smtp)
            for engine in engines
        ]
        await asyncio.gather(*(w.run_once() for w in workers))
        await asyncio.gather(*(w.run_once() for w in workers))
    finally:
        for engine in engines:
            await engine.dispose()

    rows = await digests.rows()
    assert sorted((row.kind, row.period) for row in rows) == [
        (AlertKind.DAILY_DIGEST, "2026-05-31"),
        (AlertKind.WEEKLY_REPORT, "2026-W22"),
    ]
    assert sorted(mail.subject for mail in digests.mails) == [
        "[Cron Job Service] Daily digest 2026-05-31: 1 run, 0 failed",
        "[Cron Job Service] Weekly report 2026-W22: 2 runs, 1 failed",
    ]


@pytest.mark.parametrize(
    ("digest_hour", "too_early"),
    [(6, [(5, 59)]), (17, [(8, 0), (16, 59)])],
)
async def test_the_digest_is_decided_at_the_configured_digest_hour(
    digest_hour: int,
    too_early: list[tuple[int, int]],
    digests: Digests,
) -> None:
    await digests.subscribe()
    # Made at the last tick, so no slot of its own is due while the test ticks.
    digests.clock.set(berlin(2026, 6, 2, digest_hour, 0))
    job = await digests.job(name="daily", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    await digests.seed(job, berlin(2026, 6, 1, 3, 0))

    for hour, minute in too_early:
        await digests.tick(berlin(2026, 6, 2, hour, minute), digest_hour=digest_hour)
        assert await digests.rows() == [], f"queued at {hour:02d}:{minute:02d}"
    await digests.tick(berlin(2026, 6, 2, digest_hour, 0), digest_hour=digest_hour)
    [row] = await digests.rows()
    assert (row.kind, row.period) == (AlertKind.DAILY_DIGEST, "2026-06-01")
    assert row.created_at == berlin(2026, 6, 2, digest_hour, 0)


async def test_a_scheduler_down_at_the_hour_sends_later_that_day_and_never_after(
    digests: Digests,
) -> None:
    await digests.subscribe(zone="Asia/Tokyo")

    def tokyo(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
        return local(ZoneInfo("Asia/Tokyo"), year, month, day, hour, minute)

    digests.clock.set(tokyo(2026, 6, 4, 0, 0))
    job = await digests.job(name="daily", cron_expression="0 3 * * *", timezone="Asia/Tokyo")
    await digests.seed(job, tokyo(2026, 6, 1, 3, 0))
    await digests.seed(job, tokyo(2026, 6, 2, 3, 0))

    # No scheduler ran on 2 June: 1 June's digest had that day only, it is never sent.
    await digests.tick(tokyo(2026, 6, 3, 0, 30))
    assert await digests.rows() == []
    # Down at 08:00 on 3 June, back at 23:59: 2 June's digest goes out.
    await digests.tick(tokyo(2026, 6, 3, 23, 59))
    assert [row.period for row in await digests.rows()] == ["2026-06-02"]
    # The next day: 3 June had nothing to report, and 2 June is not decided again.
    await digests.tick(tokyo(2026, 6, 4, 9, 0))
    assert [row.period for row in await digests.rows()] == ["2026-06-02"]


async def test_a_digest_the_smtp_server_turns_away_is_retried_and_sent_once(
    digests: Digests,
) -> None:
    await digests.subscribe()
    digests.clock.set(berlin(2026, 6, 2, 8, 0))
    job = await digests.job(name="daily", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    await digests.seed(job, berlin(2026, 6, 1, 3, 0))
    await digests.tick(berlin(2026, 6, 2, 8, 0))
    worker = digests.make_worker(**digests.smtp, notification_retry_base_seconds=60)
    # A temporary refusal (4xx): the server asks to be tried again later.
    digests.smtp_server.refuse[digests.owner.email] = "451 4.3.0 mailbox busy, try again later"

    assert await worker.run_once() == 1
    [row] = await digests.rows()
    assert (row.kind, row.status, row.attempts) == (
        AlertKind.DAILY_DIGEST,
        DeliveryStatus.PENDING,
        1,
    )
    assert row.next_attempt_at == berlin(2026, 6, 2, 8, 1)
    assert row.last_error is not None
    assert "451" in row.last_error
    assert digests.mails == []

    del digests.smtp_server.refuse[digests.owner.email]
    digests.clock.set(berlin(2026, 6, 2, 8, 1) - timedelta(seconds=1))
    assert await worker.run_once() == 0  # not due before its backoff
    digests.clock.set(berlin(2026, 6, 2, 8, 1))
    assert await worker.run_once() == 1
    # Later passes, of the scheduler and the worker, neither decide nor send it again.
    await digests.tick(berlin(2026, 6, 2, 9, 0))
    assert await worker.run_once() == 0

    [row] = await digests.rows()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    [mail] = digests.mails
    assert mail.recipients == [digests.owner.email]
    assert mail.message["X-Cron-Digest"] == "daily_digest 2026-06-01"


async def test_switching_the_digest_off_before_it_is_sent_means_none(
    digests: Digests,
) -> None:
    await digests.subscribe()
    digests.clock.set(berlin(2026, 6, 3, 0, 0))
    job = await digests.job(name="daily", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    await digests.seed(job, berlin(2026, 6, 1, 3, 0))
    await digests.seed(job, berlin(2026, 6, 2, 3, 0))

    # Switched off in the night, before DIGEST_HOUR: nothing is decided.
    await digests.subscribe(daily=False)
    await digests.tick(berlin(2026, 6, 2, 8, 0))
    assert await digests.rows() == []

    # Decided while on, switched off before the worker sent it: dropped, not sent.
    await digests.subscribe(daily=True)
    await digests.tick(berlin(2026, 6, 3, 8, 0))
    [row] = await digests.rows()
    assert row.period == "2026-06-02"
    await digests.subscribe(daily=False)
    assert await digests.send() == 0
    [row] = await digests.rows()
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error == "not sent: daily_digest was switched off before it was sent"
    assert digests.mails == []


# --- DST: the days of 23 and 25 hours -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours", "period"),
    [
        (date(2026, 3, 29), 23, "2026-03-29 00:00 CET to 2026-03-30 00:00 CEST (23 h)"),
        (date(2026, 10, 25), 25, "2026-10-25 00:00 CEST to 2026-10-26 00:00 CET (25 h)"),
    ],
)
async def test_a_dst_day_covers_its_own_hours(
    day: date,
    hours: int,
    period: str,
    digests: Digests,
) -> None:
    await digests.subscribe()
    next_day = day + timedelta(days=1)
    send_at = berlin(next_day.year, next_day.month, next_day.day, 8, 0)
    digests.clock.set(send_at)
    job = await digests.job(name="hourly", cron_expression="0 * * * *", timezone="Europe/Berlin")
    # Every hourly slot from the day before to the day after, as the scheduler fires them.
    first = berlin(day.year, day.month, day.day, 0, 0) - timedelta(days=1)
    slots = itertools.takewhile(
        lambda slot: slot < send_at - timedelta(hours=8),
        cron.iter_fire_times("0 * * * *", "Europe/Berlin", first - timedelta(seconds=1)),
    )
    async with digests.committing.begin() as session:
        for slot in slots:
            await create_execution(session, job, scheduled_for=slot.astimezone(UTC))

    the_period = Period(AlertKind.DAILY_DIGEST, day, 1, "Europe/Berlin")
    assert (the_period.end - the_period.start) == timedelta(hours=hours)
    await digests.tick(send_at)
    await digests.send()
    [mail] = digests.mails
    text = plain(mail)
    assert f"Period: {period}\n" in text
    assert f"Runs: {hours}\nSucceeded: {hours}\nFailed: 0\n" in text


# --- the weekly report and the admin's scope ---------------------------------------------------


async def test_weekly_report_compares_each_job_with_the_week_before(
    digests: Digests,
) -> None:
    await digests.subscribe(daily=False, weekly=True)
    digests.clock.set(berlin(2026, 6, 1, 8, 0))
    steady = await digests.job(name="steady", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    fresh = await digests.job(name="fresh", cron_expression="0 4 * * *", timezone="Europe/Berlin")
    # The week before: 2 successes of 1 s.
    for day in (18, 24):
        await digests.seed(steady, berlin(2026, 5, day, 3, 0), duration_seconds=1.0)
    # The week reported (Mon 25 May to Sun 31 May): 3 successes, 1 failure, 2 s on average.
    for day, seconds in ((25, 1.0), (27, 2.0), (31, 3.0)):
        await digests.seed(steady, berlin(2026, 5, day, 3, 0), duration_seconds=seconds)
    await digests.seed(
        steady,
        berlin(2026, 5, 28, 3, 0),
        ExecutionStatus.FAILED,
        duration_seconds=2.0,
        error_message="boom",
    )
    await digests.seed(fresh, berlin(2026, 5, 31, 4, 0), duration_seconds=0.5)
    # Monday 1 June itself belongs to the next week.
    await digests.seed(fresh, berlin(2026, 6, 1, 4, 0), ExecutionStatus.FAILED)

    # Not on a Tuesday, and not before the hour.
    await digests.tick(berlin(2026, 6, 1, 7, 0))
    await digests.tick(berlin(2026, 6, 2, 9, 0))
    assert await digests.rows() == []
    await digests.tick(berlin(2026, 6, 1, 8, 0))
    [row] = await digests.rows()
    assert (row.kind, row.period) == (AlertKind.WEEKLY_REPORT, "2026-W22")
    await digests.send()
    [mail] = digests.mails
    assert mail.subject == "[Cron Job Service] Weekly report 2026-W22: 5 runs, 1 failed"
    text = plain(mail)
    assert text.startswith(
        "Your jobs in the week 2026-05-25 to 2026-05-31 (Europe/Berlin): "
        "5 runs, 4 succeeded, 1 failed.\n\n"
        "Period: 2026-05-25 00:00 CEST to 2026-06-01 00:00 CEST (168 h)\n"
    )
    assert (
        "Jobs:\n"
        "- fresh · 1 · 100.0% · new · 0.50 s · new\n"
        "- steady · 4 · 75.0% · -25.0 points · 2.00 s · +1.00 s\n"
    ) in text
    assert "- steady · 1 failed · last 2026-05-28 03:00 CEST · boom\n" in text
    assert "First runs on Monday 2026-06-01:\n" in text


@pytest.mark.parametrize(("scope", "counted"), [("own", 1), ("all", 2)])
async def test_an_admins_digest_covers_own_jobs_or_all_as_configured(
    scope: str,
    counted: int,
    digests: Digests,
) -> None:
    admin = await digests.user("boss", UserRole.ADMIN)
    await digests.subscribe(admin, zone="UTC")
    digests.clock.set(datetime(2026, 6, 2, 8, 0, tzinfo=UTC))
    mine = await digests.job(user=admin, name="mine", cron_expression="0 3 * * *")
    theirs = await digests.job(name="theirs", cron_expression="0 3 * * *")
    await digests.seed(mine, datetime(2026, 6, 1, 3, 0, tzinfo=UTC))
    await digests.seed(theirs, datetime(2026, 6, 1, 3, 0, tzinfo=UTC))

    await digests.tick(datetime(2026, 6, 2, 8, 0, tzinfo=UTC), digest_admin_scope=scope)
    await digests.send()
    [mail] = digests.mails
    assert mail.recipients == ["boss@example.com"]
    assert f"Runs: {counted}\n" in plain(mail)
    whose = "All jobs" if scope == "all" else "Your jobs"
    assert plain(mail).startswith(f"{whose} on Monday 2026-06-01 (UTC)")


async def test_two_transactions_deciding_the_same_digest_write_one_row(
    digests: Digests,
) -> None:
    """Both build the digest before either commits; the unique (user, kind, period) keeps one."""
    settings = digests.make_worker(**digests.smtp).settings
    await digests.subscribe()
    digests.clock.set(berlin(2026, 6, 2, 8, 0))
    job = await digests.job(name="raced", cron_expression="0 3 * * *", timezone="Europe/Berlin")
    await digests.seed(job, berlin(2026, 6, 1, 3, 0))
    other = db.create_engine(settings)
    try:
        async with digests.committing.begin() as first:
            assert (await DigestService(first, settings, digests.clock).queue_due()).queued == 1

            async def second() -> int:
                async with db.create_sessionmaker(other).begin() as session:
                    return (
                        await DigestService(session, settings, digests.clock).queue_due()
                    ).queued

            racing = asyncio.create_task(second())
            # The second has read no row yet (none is committed) and waits on the first's
            # insert (PostgreSQL's unique index; SQLite's write lock) until it commits.
            await asyncio.sleep(0.5)
        assert await racing == 0
    finally:
        await other.dispose()
    assert len(await digests.rows()) == 1

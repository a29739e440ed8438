"""The notification rules, applied where outcomes are recorded: which in-app notifications and
which outbox rows (emails, Slack messages) each outcome writes, in the recording transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import ExecutionStatus, TriggerType
from core.errors import InvalidInput
from integrations.address_guard import AddressGuard
from integrations.outbound import OutboundResult
from models import (
    Job,
    JobExecution,
    Notification,
    NotificationDelivery,
    PicTeam,
    SlackSettings,
    User,
    UserNotificationPreferences,
)
from repositories.slack_settings import SLACK_SETTINGS_ID
from services.execution_lifecycle import (
    INTERRUPTED,
    ExecutionLifecycle,
    Outcome,
    RetryPolicy,
    run_spec,
)
from services.job import JobService
from services.notifications.rules import QUEUED_DELIVERIES, FinishedRun, NotifierService
from services.scheduling import SchedulingService
from tests.support.clock import FrozenClock
from tests.support.execution_factories import create_execution
from tests.support.job_factories import create_job, create_team

SLOT = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
LIST = ["ops@example.com", "Lead@Example.com"]


@pytest.fixture
def notify_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"smtp_host": "smtp.test"})


@pytest.fixture
async def team(session: AsyncSession) -> PicTeam:
    return await create_team(session, name="Data Platform", slack_handle="@data-oncall")


@pytest.fixture
async def job(session: AsyncSession, member: User, team: PicTeam) -> Job:
    return await create_job(
        session,
        owner=member,
        pic_team=team.slug,
        name="nightly-report",
        enable_email_notifications=True,
        notification_emails=LIST,
    )


@pytest.fixture
async def slack_on(session: AsyncSession) -> SlackSettings:
    settings = SlackSettings(
        id=SLACK_SETTINGS_ID,
        is_enabled=True,
        webhook_url="https://hooks.slack.test/services/T0/B0/secret",
        channel="#alerts",
    )
    session.add(settings)
    await session.flush()
    return settings


async def record(
    session: AsyncSession,
    settings: Settings,
    clock: FrozenClock,
    job: Job,
    *,
    status: int | None = 500,
    error: str | None = "HTTP 500",
    final: bool = True,
    execution: JobExecution | None = None,
    trigger_type: TriggerType = TriggerType.SCHEDULED,
) -> JobExecution:
    """Record one outcome of a running execution of `job` (slot: now), as the dispatcher's
    outcome writer does; not `final`: the attempt has a retry left."""
    if execution is None:
        execution = await create_execution(
            session,
            job,
            scheduled_for=clock.now(),
            status=ExecutionStatus.RUNNING,
            trigger_type=trigger_type,
        )
    run = run_spec(job, execution.id, execution.scheduled_for, trigger_type=trigger_type)
    run = replace(run, retry_policy=RetryPolicy(max_retries=0 if final else 1))
    outcome = Outcome(run, OutboundResult(status, "body", error), 0.25)
    await ExecutionLifecycle(session, settings, clock).record_outcomes([outcome])
    await session.refresh(job)
    return execution


async def notifications(session: AsyncSession, job: Job) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.related_job_id == job.id)
        .order_by(Notification.type, Notification.created_at)
    )
    return list(rows)


async def deliveries(session: AsyncSession) -> list[NotificationDelivery]:
    rows = await session.scalars(
        select(NotificationDelivery).order_by(
            NotificationDelivery.kind, NotificationDelivery.channel, NotificationDelivery.recipient
        )
    )
    return list(rows)


def summary(rows: list[NotificationDelivery]) -> list[tuple[str, str, str]]:
    return [(str(row.kind), str(row.channel), row.recipient) for row in rows]


async def set_preferences(session: AsyncSession, user: User, **values: Any) -> None:
    session.add(UserNotificationPreferences(user_id=user.id, **values))
    await session.flush()


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("slack_on")
async def test_a_failed_run_notifies_owner_list_and_slack(
    session: AsyncSession,
    notify_settings: Settings,
    clock: FrozenClock,
    job: Job,
    member: User,
) -> None:
    execution = await record(session, notify_settings, clock, job, error="HTTP 500")

    [note] = await notifications(session, job)
    assert (note.user_id, note.type, note.related_execution_id) == (
        member.id,
        "error",
        execution.id,
    )
    assert note.title == "Job failed: nightly-report"
    assert "2026-06-01 09:00 JST (Asia/Tokyo)" in note.message
    assert "HTTP 500" in note.message
    assert not note.is_read
    rows = await deliveries(session)
    assert summary(rows) == [
        ("failure", "email", "lead@example.com"),
        ("failure", "email", "ops@example.com"),
        ("failure", "email", member.email),
        ("failure", "slack", "#alerts"),
    ]
    assert {(row.status, row.attempts, row.execution_id) for row in rows} == {
        ("pending", 0, execution.id)
    }
    email = rows[0]
    assert email.subject == "[Cron Job Service] Job failed: nightly-report"
    assert "Status code: 500" in email.body_text
    assert "Error: HTTP 500" in email.body_text
    assert email.body_html is not None
    assert "<th" in email.body_html
    assert "nightly-report" in email.body_html
    slack = rows[-1]
    assert slack.body_text.startswith("@data-oncall Job failed: nightly-report\n")
    for expected in ("Schedule slot: 2026-06-01 09:00 JST", "Status code: 500", "Error: HTTP 500"):
        assert expected in slack.body_text
    assert slack.body_html is None
    assert session.info.get(QUEUED_DELIVERIES) is True


async def test_the_owners_failure_email_follows_their_preference(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    await set_preferences(session, member, email_on_job_failure=False)

    await record(session, notify_settings, clock, job)

    assert [n.type for n in await notifications(session, job)] == ["error"]  # in-app regardless
    assert summary(await deliveries(session)) == [
        ("failure", "email", "lead@example.com"),
        ("failure", "email", "ops@example.com"),
    ]


async def test_the_job_list_gets_email_only_when_enabled(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    job.enable_email_notifications = False

    await record(session, notify_settings, clock, job)

    # No preferences row: the column defaults (email_on_job_failure on).
    assert summary(await deliveries(session)) == [("failure", "email", member.email)]


async def test_recipients_are_deduplicated_ignoring_case(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    job.notification_emails = [member.email.upper(), "ops@example.com", "OPS@example.com"]

    await record(session, notify_settings, clock, job)

    assert summary(await deliveries(session)) == sorted(
        [("failure", "email", member.email), ("failure", "email", "ops@example.com")]
    )


async def test_without_smtp_or_slack_only_in_app_notifications_are_written(
    session: AsyncSession, settings: Settings, clock: FrozenClock, job: Job
) -> None:
    assert settings.smtp_host is None

    await record(session, settings, clock, job)

    assert [n.type for n in await notifications(session, job)] == ["error"]
    assert await deliveries(session) == []
    assert QUEUED_DELIVERIES not in session.info


async def test_disabled_slack_gets_nothing(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    session.add(
        SlackSettings(id=SLACK_SETTINGS_ID, is_enabled=False, webhook_url="https://x.test/hook")
    )

    await record(session, notify_settings, clock, job)

    assert "slack" not in {row.channel for row in await deliveries(session)}


async def test_a_retried_attempt_notifies_nothing_until_the_last(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    await record(session, notify_settings, clock, job, final=False)

    assert await notifications(session, job) == []
    assert await deliveries(session) == []
    assert job.consecutive_failures == 0


async def test_a_manual_run_says_so(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    await record(session, notify_settings, clock, job, trigger_type=TriggerType.MANUAL)

    [note] = await notifications(session, job)
    assert "manual run started at 2026-06-01 09:00 JST" in note.message
    assert "Started: 2026-06-01 09:00 JST" in (await deliveries(session))[0].body_text


@pytest.mark.usefixtures("slack_on")
async def test_slack_text_is_plain_and_user_text_cannot_become_markup(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    job.name = "<https://evil.example|click me> & co"

    await record(session, notify_settings, clock, job, status=None, error="<!channel> boom")

    slack = next(row for row in await deliveries(session) if row.channel == "slack")
    assert "<" not in slack.body_text.replace("&lt;", "")
    assert "&lt;https://evil.example|click me&gt; &amp; co" in slack.body_text
    assert "Error: &lt;!channel&gt; boom" in slack.body_text
    assert "Status code: none" in slack.body_text
    email = next(row for row in await deliveries(session) if row.channel == "email")
    assert email.body_html is not None
    assert "&lt;https://evil.example|click me&gt; &amp; co" in email.body_html


# --- successes and recovery --------------------------------------------------------------------


@pytest.mark.usefixtures("slack_on")
async def test_a_success_notifies_nobody_by_default(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    await record(session, notify_settings, clock, job, status=200, error=None)

    assert await notifications(session, job) == []
    assert await deliveries(session) == []


@pytest.mark.usefixtures("slack_on")
async def test_notify_on_success_tells_the_owner_only(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    job.notify_on_success = True

    execution = await record(session, notify_settings, clock, job, status=200, error=None)

    [note] = await notifications(session, job)
    assert (note.type, note.title, note.related_execution_id) == (
        "success",
        "Job succeeded: nightly-report",
        execution.id,
    )
    # email_on_job_success defaults on; neither the job's list nor Slack hear of successes.
    assert summary(await deliveries(session)) == [("success", "email", member.email)]


async def test_success_email_follows_the_owners_preference(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    job.notify_on_success = True
    await set_preferences(session, member, email_on_job_success=False)

    await record(session, notify_settings, clock, job, status=200, error=None)

    assert [n.type for n in await notifications(session, job)] == ["success"]
    assert await deliveries(session) == []


@pytest.mark.usefixtures("slack_on")
async def test_the_first_success_after_failures_is_a_recovery(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    job.consecutive_failures = 3

    await record(session, notify_settings, clock, job, status=200, error=None)

    [note] = await notifications(session, job)
    assert (note.type, note.title) == ("success", "Job recovered: nightly-report")
    assert "after 3 failed runs in a row" in note.message
    assert summary(await deliveries(session)) == [
        ("recovery", "email", "lead@example.com"),
        ("recovery", "email", "ops@example.com"),
        ("recovery", "email", member.email),
        ("recovery", "slack", "#alerts"),
    ]
    assert job.consecutive_failures == 0

    # The next success is an ordinary one again.
    clock.advance(timedelta(minutes=1))
    await record(session, notify_settings, clock, job, status=200, error=None)
    assert len(await notifications(session, job)) == 1


# --- auto-pause --------------------------------------------------------------------------------


@pytest.mark.usefixtures("slack_on")
async def test_n_failures_in_a_row_pause_the_job(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    three = notify_settings.model_copy(update={"auto_pause_after_failures": 3})

    await record(session, three, clock, job)
    clock.advance(timedelta(minutes=1))
    await record(session, three, clock, job)
    assert job.is_active
    clock.advance(timedelta(minutes=1))
    third = await record(session, three, clock, job)

    assert (job.is_active, job.next_run_at, job.consecutive_failures) == (False, None, 3)
    notes = await notifications(session, job)
    assert [n.type for n in notes] == ["error", "error", "error", "warning"]
    warning = notes[-1]
    assert (warning.title, warning.related_execution_id) == ("Job paused: nightly-report", third.id)
    assert "failed 3 times in a row and was paused" in warning.message
    assert "has been paused" in notes[2].message
    # email_on_job_disabled is off by default: the pause goes to Slack only.
    pauses = [row for row in await deliveries(session) if row.kind == "auto_pause"]
    assert summary(pauses) == [("auto_pause", "slack", "#alerts")]


async def test_the_pause_email_follows_email_on_job_disabled(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    await set_preferences(session, member, email_on_job_disabled=True)
    job.consecutive_failures = 1
    two = notify_settings.model_copy(update={"auto_pause_after_failures": 2})

    await record(session, two, clock, job)

    pauses = [row for row in await deliveries(session) if row.kind == "auto_pause"]
    assert summary(pauses) == [("auto_pause", "email", member.email)]
    assert not job.is_active


async def test_auto_pause_is_off_by_default(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    assert notify_settings.auto_pause_after_failures == 0
    job.consecutive_failures = 50

    await record(session, notify_settings, clock, job)

    assert job.is_active
    assert job.consecutive_failures == 51
    assert [n.type for n in await notifications(session, job)] == ["error"]


# --- exactly once ------------------------------------------------------------------------------


async def test_an_outcome_recorded_twice_notifies_once(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    execution = await record(session, notify_settings, clock, job)
    await record(session, notify_settings, clock, job, execution=execution)

    assert len(await notifications(session, job)) == 1
    assert len(await deliveries(session)) == 3
    assert job.consecutive_failures == 1


async def test_two_notifiers_for_one_run_write_each_alert_once(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    """Two processes deciding about the same execution: the unique keys keep one of each."""
    execution = await create_execution(
        session, job, scheduled_for=SLOT, status=ExecutionStatus.FAILED
    )
    run = FinishedRun(execution.id, job.id, SLOT, TriggerType.SCHEDULED, 1, False, 502, "HTTP 502")

    for _ in range(2):
        await NotifierService(session, notify_settings, clock).on_finished([run])

    assert len(await notifications(session, job)) == 1
    assert len(await deliveries(session)) == 3


async def test_a_run_already_reaped_is_not_notified_again(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    execution = await create_execution(
        session, job, scheduled_for=SLOT, status=ExecutionStatus.FAILED, error_message=INTERRUPTED
    )

    await record(session, notify_settings, clock, job, status=200, error=None, execution=execution)

    assert await notifications(session, job) == []
    assert job.consecutive_failures == 0


# --- pauses and interruptions found by the scheduler --------------------------------------------


async def test_a_job_past_its_end_date_is_paused_with_a_warning(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    await set_preferences(session, member, email_on_job_disabled=True)
    job.end_date = date(2026, 5, 31)
    job.next_run_at = None

    paused = await SchedulingService(session, notify_settings, clock).pause_finished_jobs(10)

    assert paused == 1
    assert not job.is_active
    [note] = await notifications(session, job)
    assert (note.type, note.user_id, note.related_execution_id) == ("warning", member.id, None)
    assert "reached its end date (2026-05-31)" in note.message
    assert summary(await deliveries(session)) == [("end_date", "email", member.email)]


async def test_an_interrupted_run_counts_as_a_failure(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job
) -> None:
    execution = await create_execution(
        session,
        job,
        scheduled_for=SLOT,
        status=ExecutionStatus.RUNNING,
        lease_expires_at=SLOT + timedelta(seconds=30),
    )
    clock.set(SLOT + timedelta(minutes=5))

    reaped = await ExecutionLifecycle(session, notify_settings, clock).reap_interrupted()

    assert [run.execution_id for run in reaped] == [execution.id]
    [note] = await notifications(session, job)
    assert (note.type, note.related_execution_id) == ("error", execution.id)
    assert INTERRUPTED in note.message
    await session.refresh(job)
    assert job.consecutive_failures == 1


async def test_an_owner_less_job_still_mails_its_list(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, team: PicTeam
) -> None:
    orphan = await create_job(
        session,
        owner=None,
        pic_team=team.slug,
        enable_email_notifications=True,
        notification_emails=["ops@example.com"],
    )

    await record(session, notify_settings, clock, orphan)

    assert await notifications(session, orphan) == []
    assert summary(await deliveries(session)) == [("failure", "email", "ops@example.com")]


async def test_a_deactivated_owner_gets_in_app_notifications_but_no_email(
    session: AsyncSession, notify_settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    member.is_active = False
    job.enable_email_notifications = False

    await record(session, notify_settings, clock, job)

    assert len(await notifications(session, job)) == 1
    assert await deliveries(session) == []


async def test_a_manual_run_of_an_expired_job_pauses_it_and_tells_the_owner(
    session: AsyncSession, settings: Settings, clock: FrozenClock, job: Job, member: User
) -> None:
    job.end_date = date(2026, 5, 1)
    service = JobService(session, settings, clock, AddressGuard())

    with pytest.raises(InvalidInput, match="has been paused"):
        await service.get_for_manual_run(job.id, member)
    with pytest.raises(InvalidInput):  # already paused: told once
        await service.get_for_manual_run(job.id, member)

    assert not job.is_active
    [note] = await notifications(session, job)
    assert (note.type, note.user_id, note.title) == (
        "warning",
        member.id,
        "Job paused: nightly-report",
    )


async def test_a_notifier_failure_never_costs_the_execution_record(
    session: AsyncSession,
    notify_settings: Settings,
    clock: FrozenClock,
    job: Job,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(self: NotifierService, runs: object) -> None:
        await self.notifications.insert_ignoring_duplicates([{"id": "not even a row"}])

    monkeypatch.setattr(NotifierService, "on_finished", broken)

    execution = await record(session, notify_settings, clock, job)

    await session.refresh(execution)
    assert (execution.status, execution.response_status) == (ExecutionStatus.FAILED, 500)
    assert job.consecutive_failures == 1
    assert f"could not notify about executions {execution.id}" in caplog.text

"""Who hears about what, decided inside the transaction that records what happened.

A run's final outcome, an interrupted run, a job reaching its end date: the rules below turn
each into an in-app notification for the job's owner and into one outbox row
(`notification_delivery`) per email and Slack message, in the caller's transaction. So an alert
exists exactly when its cause is committed, and exists once: notifications and outbox rows are
unique per execution (ON CONFLICT DO NOTHING), whichever scheduler process writes them first.
Sending is `services/notifications/sender.py`'s job, after the commit, off the execution path.

- A failed run: the owner in-app (`error`); email to `notification_emails` when
  `enable_email_notifications`, and to the owner when `email_on_job_failure`; Slack.
- The first success after failures: "recovered" (`success`) to the owner; email and Slack to
  those the failures went to.
- Any other success, only with `notify_on_success`: the owner in-app (`success`), and email
  when `email_on_job_success`.
- AUTO_PAUSE_AFTER_FAILURES failures in a row: the job is paused; the owner in-app
  (`warning`), email when `email_on_job_disabled`; Slack.
- The end date passed (the caller paused the job): the owner in-app (`warning`), email when
  `email_on_job_disabled`.

Preferences a user never saved are the column defaults of `models/user_preferences.py`.
Email is off without SMTP_HOST; Slack only while enabled with a webhook URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from core import cron
from core.clock import Clock
from core.config import APP_NAME, Settings
from core.enums import (
    AlertKind,
    AuditAction,
    AuditResource,
    DeliveryChannel,
    DeliveryStatus,
    ExecutionStatus,
    NotificationType,
    PauseReason,
    TriggerType,
)
from integrations.channels import slack
from models import Job, JobExecution, PicTeam, User, UserNotificationPreferences
from repositories.job import JobRepository
from repositories.notification import NotificationRepository
from repositories.notification_delivery import NotificationDeliveryRepository
from repositories.pic_team import PicTeamRepository
from repositories.slack_settings import SlackSettingsRepository
from repositories.user import UserRepository
from repositories.user_preferences import NotificationPreferencesRepository
from services.audit import AuditService
from services.notifications import emails

# Set in `session.info` when the transaction queued emails or Slack messages, so whoever
# commits it can wake the delivery worker (see DeliveryWorker.wake_on_new_deliveries).
QUEUED_DELIVERIES = "notifier.queued_deliveries"

TITLE_MAX_LENGTH = 255
SLACK_DEFAULT_RECIPIENT = "webhook"

_NOTIFICATION_TYPE = {
    AlertKind.FAILURE: NotificationType.ERROR,
    AlertKind.RECOVERY: NotificationType.SUCCESS,
    AlertKind.SUCCESS: NotificationType.SUCCESS,
    AlertKind.AUTO_PAUSE: NotificationType.WARNING,
    AlertKind.END_DATE: NotificationType.WARNING,
}
# The owner's preference deciding whether they get the email of each kind.
_OWNER_EMAIL_PREFERENCE = {
    AlertKind.FAILURE: "email_on_job_failure",
    AlertKind.RECOVERY: "email_on_job_failure",
    AlertKind.SUCCESS: "email_on_job_success",
    AlertKind.AUTO_PAUSE: "email_on_job_disabled",
    AlertKind.END_DATE: "email_on_job_disabled",
}
_TO_JOB_EMAILS = frozenset({AlertKind.FAILURE, AlertKind.RECOVERY})
_TO_SLACK = frozenset({AlertKind.FAILURE, AlertKind.RECOVERY, AlertKind.AUTO_PAUSE})


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """The final outcome of a run (its last attempt), whatever recorded it."""

    execution_id: uuid.UUID
    job_id: uuid.UUID
    scheduled_for: datetime
    trigger_type: TriggerType
    attempt: int
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_seconds: float | None = None

    @classmethod
    def of_execution(cls, execution: JobExecution) -> FinishedRun:
        return cls(
            execution_id=execution.id,
            job_id=execution.job_id,
            scheduled_for=execution.scheduled_for,
            trigger_type=execution.trigger_type,
            attempt=execution.attempt,
            succeeded=execution.status == ExecutionStatus.SUCCESS,
            status_code=execution.response_status,
            error=execution.error_message,
            duration_seconds=execution.duration_seconds,
        )


@dataclass(frozen=True, slots=True)
class _Alert:
    kind: AlertKind
    job: Job
    run: FinishedRun | None
    title: str
    summary: str
    """One sentence: the in-app message, and the first line of the email and Slack message."""
    details: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Owner:
    user: User
    preferences: UserNotificationPreferences | None

    def wants_email(self, kind: AlertKind) -> bool:
        if not self.user.is_active:
            return False
        name = _OWNER_EMAIL_PREFERENCE[kind]
        if self.preferences is None:
            return preference_default(name)
        return bool(getattr(self.preferences, name))


class NotifierService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.jobs = JobRepository(session)
        self.notifications = NotificationRepository(session)
        self.deliveries = NotificationDeliveryRepository(session)
        self.users = UserRepository(session)
        self.preferences = NotificationPreferencesRepository(session)
        self.teams = PicTeamRepository(session)
        self.slack_settings = SlackSettingsRepository(session)
        self.audit = AuditService(session, clock)

    async def on_finished(self, runs: Sequence[FinishedRun]) -> None:
        """Notify about each run's final outcome, and pause jobs failing too often.

        Call it before the jobs' failure streaks are updated: "recovered" and the auto-pause
        read the streak each job had before these runs. The jobs are locked (in id order) so
        writers in other processes count the same streak one after the other.
        """
        if not runs:
            return
        # Locked with the few columns the rules read; only the jobs an alert is about (a
        # failure, a recovery, a success someone asked to hear of) are then loaded whole.
        states = await self.jobs.lock_streaks({run.job_id for run in runs})
        streaks = {job_id: state.consecutive_failures for job_id, state in states.items()}
        decided: list[tuple[FinishedRun, int]] = []  # with the job's streak before the run
        for run in runs:
            state = states.get(run.job_id)
            if state is None:
                continue  # deleted with its executions
            failures_before = streaks[run.job_id]
            streaks[run.job_id] = 0 if run.succeeded else failures_before + 1
            if not run.succeeded or failures_before or state.notify_on_success:
                decided.append((run, failures_before))
        if not decided:
            return
        jobs = {
            job.id: job for job in await self.jobs.lock_many({run.job_id for run, _ in decided})
        }
        alerts: list[_Alert] = []
        for run, failures_before in decided:
            job = jobs[run.job_id]
            if run.succeeded:
                alerts.append(
                    _recovery(job, run, failures_before) if failures_before else _success(job, run)
                )
                continue
            failures = failures_before + 1
            pause = job.is_active and 0 < self.settings.auto_pause_after_failures <= failures
            if pause:
                job.is_active = False
                job.next_run_at = None
                await self._mark_paused_by_service(job, PauseReason.AUTO_PAUSE)
            alerts.append(_failure(job, run, paused_after=failures if pause else None))
            if pause:
                alerts.append(_auto_pause(job, run, failures))
        await self._notify(alerts)

    async def on_jobs_ended(self, jobs: Sequence[Job]) -> None:
        """`jobs` have just been paused because their end date has passed."""
        for job in jobs:
            await self._mark_paused_by_service(job, PauseReason.END_DATE)
        await self._notify([_end_date(job) for job in jobs])

    async def _mark_paused_by_service(self, job: Job, reason: PauseReason) -> None:
        """Remembered for the digests' "paused by the service" list, and audited as the
        service's doing (an entry without an actor)."""
        job.paused_by_service_at = self.clock.now()
        job.pause_reason = reason
        await self.audit.record(
            AuditAction.JOB_PAUSED, AuditResource.JOB, job.id, details={"by_service": reason.value}
        )

    # --- writing ---------------------------------------------------------------------------

    async def _notify(self, alerts: Sequence[_Alert]) -> None:
        if not alerts:
            return
        now = self.clock.now()
        owners = await self._owners({alert.job.created_by for alert in alerts})
        slack_recipient = None
        handles: dict[str, str] = {}
        if any(alert.kind in _TO_SLACK for alert in alerts):
            slack_recipient = await self._slack_recipient()
        if slack_recipient is not None:
            handles = await self._team_handles({alert.job.pic_team for alert in alerts})
        notifications: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        for alert in alerts:
            owner = owners.get(alert.job.created_by) if alert.job.created_by else None
            if owner is not None:
                notifications.append(_notification_row(alert, owner.user.id, now))
            recipients = _email_recipients(alert, owner)
            if recipients and self.settings.smtp_host is not None:
                text, body_html = _email_text(alert), _email_html(alert)
                deliveries += [
                    _delivery_row(
                        alert, DeliveryChannel.EMAIL, address, text, now, body_html=body_html
                    )
                    for address in recipients
                ]
            if slack_recipient is not None and alert.kind in _TO_SLACK:
                text = _slack_text(alert, handles.get(alert.job.pic_team))
                deliveries.append(
                    _delivery_row(alert, DeliveryChannel.SLACK, slack_recipient, text, now)
                )
        await self.notifications.insert_ignoring_duplicates(notifications)
        if await self.deliveries.insert_ignoring_duplicates(deliveries):
            self.session.info[QUEUED_DELIVERIES] = True
        await self.session.flush()

    async def _owners(self, user_ids: Collection[uuid.UUID | None]) -> dict[uuid.UUID, _Owner]:
        ids = {user_id for user_id in user_ids if user_id is not None}
        if not ids:
            return {}
        users = await self.users.get_multi(User.id.in_(ids))
        preferences = {
            row.user_id: row
            for row in await self.preferences.get_multi(
                UserNotificationPreferences.user_id.in_(ids)
            )
        }
        return {user.id: _Owner(user, preferences.get(user.id)) for user in users}

    async def _slack_recipient(self) -> str | None:
        """Who Slack messages go to (their channel), or None while Slack is off."""
        settings = await self.slack_settings.get_enabled()
        if settings is None:
            return None
        return settings.channel or SLACK_DEFAULT_RECIPIENT

    async def _team_handles(self, slugs: Collection[str]) -> dict[str, str]:
        teams = await self.teams.get_multi(PicTeam.slug.in_(slugs))
        return {team.slug: team.slack_handle for team in teams}


def preference_default(name: str) -> bool:
    """The value of preference `name` for a user who never saved their preferences."""
    default = inspect(UserNotificationPreferences).columns[name].default
    assert isinstance(default, ScalarElementColumnDefault)
    return bool(default.arg)


def _email_recipients(alert: _Alert, owner: _Owner | None) -> list[str]:
    """Addresses in order, each once (case-insensitively)."""
    addresses: list[str] = []
    if alert.kind in _TO_JOB_EMAILS and alert.job.enable_email_notifications:
        addresses += alert.job.notification_emails
    if owner is not None and owner.wants_email(alert.kind):
        addresses.append(owner.user.email)
    return list(dict.fromkeys(address.strip().lower() for address in addresses if address.strip()))


def _notification_row(alert: _Alert, user_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "title": alert.title,
        "message": alert.summary,
        "type": _NOTIFICATION_TYPE[alert.kind],
        "related_job_id": alert.job.id,
        "related_execution_id": alert.run.execution_id if alert.run else None,
        "is_read": False,
        "read_at": None,
        "created_at": now,
        "updated_at": now,
    }


def _delivery_row(
    alert: _Alert,
    channel: DeliveryChannel,
    recipient: str,
    text: str,
    now: datetime,
    *,
    body_html: str | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "channel": channel,
        "kind": alert.kind,
        "recipient": recipient,
        "subject": _clip(f"[{APP_NAME}] {alert.title}"),
        "body_text": text,
        "body_html": body_html,
        "execution_id": alert.run.execution_id if alert.run else None,
        "job_id": alert.job.id,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }


# --- what each alert says ------------------------------------------------------------------


def _failure(job: Job, run: FinishedRun, *, paused_after: int | None) -> _Alert:
    summary = f"The {_run_phrase(job, run)} of '{job.name}' failed: {_reason(run)}."
    if paused_after is not None:
        summary += f" It has failed {paused_after} times in a row and has been paused."
    return _Alert(
        AlertKind.FAILURE, job, run, _clip(f"Job failed: {job.name}"), summary, _details(job, run)
    )


def _recovery(job: Job, run: FinishedRun, failures_before: int) -> _Alert:
    runs = "run" if failures_before == 1 else "runs"
    summary = (
        f"'{job.name}' works again: the {_run_phrase(job, run)} succeeded "
        f"after {failures_before} failed {runs} in a row."
    )
    return _Alert(
        AlertKind.RECOVERY,
        job,
        run,
        _clip(f"Job recovered: {job.name}"),
        summary,
        _details(job, run),
    )


def _success(job: Job, run: FinishedRun) -> _Alert:
    summary = f"The {_run_phrase(job, run)} of '{job.name}' succeeded."
    return _Alert(
        AlertKind.SUCCESS,
        job,
        run,
        _clip(f"Job succeeded: {job.name}"),
        summary,
        _details(job, run),
    )


def _auto_pause(job: Job, run: FinishedRun, failures: int) -> _Alert:
    summary = (
        f"'{job.name}' failed {failures} times in a row and was paused. "
        "Fix what makes it fail, then resume it."
    )
    details = (
        ("Job", job.name),
        ("Failed runs in a row", str(failures)),
        ("Last error", _reason(run)),
        ("Team", job.pic_team),
        ("Execution", str(run.execution_id)),
    )
    return _Alert(
        AlertKind.AUTO_PAUSE, job, run, _clip(f"Job paused: {job.name}"), summary, details
    )


def _end_date(job: Job) -> _Alert:
    summary = (
        f"'{job.name}' reached its end date ({job.end_date.isoformat()}) and was paused. "
        "Extend the end date and resume it to run it again."
    )
    details = (("Job", job.name), ("End date", job.end_date.isoformat()), ("Team", job.pic_team))
    return _Alert(AlertKind.END_DATE, job, None, _clip(f"Job paused: {job.name}"), summary, details)


def _run_phrase(job: Job, run: FinishedRun) -> str:
    when = _local_time(job, run.scheduled_for)
    if run.trigger_type == TriggerType.MANUAL:
        return f"manual run started at {when}"
    return f"run scheduled for {when}"


def _reason(run: FinishedRun) -> str:
    if run.error:
        return run.error
    return f"HTTP {run.status_code}" if run.status_code is not None else "no answer"


def _details(job: Job, run: FinishedRun) -> tuple[tuple[str, str], ...]:
    slot_label = "Started" if run.trigger_type == TriggerType.MANUAL else "Schedule slot"
    details = [
        ("Job", job.name),
        (slot_label, _local_time(job, run.scheduled_for)),
        ("Status code", str(run.status_code) if run.status_code is not None else "none"),
    ]
    if not run.succeeded:
        details.append(("Error", _reason(run)))
    if run.duration_seconds is not None:
        details.append(("Duration", f"{run.duration_seconds:.3g} s"))
    details += [
        ("Attempt", str(run.attempt)),
        ("Team", job.pic_team),
        ("Execution", str(run.execution_id)),
    ]
    return tuple(details)


def _local_time(job: Job, instant: datetime) -> str:
    """The instant in the job's time zone: `2026-06-01 09:00 JST (Asia/Tokyo)`."""
    local = instant.astimezone(cron.zone(job.timezone))
    abbreviation = local.tzname() or ""
    shown = f"{local:%Y-%m-%d %H:%M} {abbreviation}".rstrip()
    return shown if abbreviation == job.timezone else f"{shown} ({job.timezone})"


def _clip(text: str, limit: int = TITLE_MAX_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _email_text(alert: _Alert) -> str:
    return emails.render_text(alert.summary, alert.details)


def _email_html(alert: _Alert) -> str:
    return emails.render_html(alert.summary, alert.details)


def _slack_text(alert: _Alert, handle: str | None) -> str:
    """Plain text with the team mentioned: no links, user text escaped."""
    heading = slack.escape(alert.title)
    if handle:
        heading = f"{slack.mention(handle)} {heading}"
    lines = [heading, slack.escape(alert.summary)]
    lines += [f"{label}: {slack.escape(value)}" for label, value in alert.details]
    return "\n".join(lines)

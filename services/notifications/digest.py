"""Daily digests and weekly reports: decided by the scheduler loop, sent by the delivery worker.

- A user with `daily_digest` on gets, once DIGEST_HOUR has come in their own time zone, one
  email about the previous local day; with `weekly_report` on, on Mondays, one about the
  previous local week (Monday to Sunday) with per-job figures against the week before.
- A period runs from a local midnight to the next, converted to UTC: a day is 23 or 25 hours
  long when the clocks change in the user's zone.
- It covers the jobs the user owns; admins' cover every job with DIGEST_ADMIN_SCOPE=all.
- Exactly once: each digest is an outbox row unique per (user, kind, period), inserted with ON
  CONFLICT DO NOTHING, so any number of schedulers decide it once. A scheduler that was down
  at DIGEST_HOUR decides it when it comes back, until the user's day ends; a later day has a
  later period. The delivery worker sends it with its retries, and drops it if the user
  switched the digest off (or was deactivated) before it went out.
- Nothing to report (no run, no missed or skipped slot, no job paused by the service) means no
  email. Email is off without SMTP_HOST: no digest rows are written.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from core import cron
from core.clock import Clock
from core.config import APP_NAME, Settings
from core.enums import (
    AlertKind,
    DeliveryChannel,
    DeliveryStatus,
    ExecutionStatus,
    PauseReason,
    UserRole,
)
from models import Job, User
from repositories.job import JobRepository
from repositories.job_execution import JobExecutionRepository, JobOutcomes, LastFailure
from repositories.notification_delivery import NotificationDeliveryRepository
from repositories.user_preferences import NotificationPreferencesRepository
from services.notifications import emails
from services.notifications.rules import QUEUED_DELIVERIES
from services.scheduling import next_slot

LISTED_NEXT_RUNS = 10

DigestKey = tuple[uuid.UUID, AlertKind, str]


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local days `[first_day, first_day + days)` in `zone_name`."""

    kind: AlertKind
    first_day: date
    days: int
    zone_name: str

    @property
    def zone(self) -> ZoneInfo:
        return cron.zone(self.zone_name)

    @property
    def key(self) -> str:
        if self.kind == AlertKind.WEEKLY_REPORT:
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return self.first_day.isoformat()

    @property
    def day_after(self) -> date:
        return self.first_day + timedelta(days=self.days)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.day_after, self.zone)

    def before(self) -> Period:
        """The period of the same length just before this one (the week before)."""
        return Period(
            self.kind, self.first_day - timedelta(days=self.days), self.days, self.zone_name
        )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` starts in `zone`, in UTC (where midnight is skipped, the first
    instant after it)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def due_periods(
    zone_name: str, now: datetime, digest_hour: int, *, daily: bool, weekly: bool
) -> list[Period]:
    """The periods whose digest is due at `now` for a user of `zone_name`: from DIGEST_HOUR
    until the end of the local day after the period (the day the digest belongs to)."""
    local = now.astimezone(cron.zone(zone_name))
    if local.hour < digest_hour:
        return []
    today = local.date()
    periods = []
    if daily:
        periods.append(Period(AlertKind.DAILY_DIGEST, today - timedelta(days=1), 1, zone_name))
    if weekly and today.weekday() == 0:
        periods.append(Period(AlertKind.WEEKLY_REPORT, today - timedelta(days=7), 7, zone_name))
    return periods


@dataclass(frozen=True, slots=True)
class Totals:
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    missed: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, outcomes: Sequence[JobOutcomes]) -> Totals:
        def count(status: ExecutionStatus) -> int:
            return sum(outcome.by_status.get(status, 0) for outcome in outcomes)

        return cls(
            runs=count(ExecutionStatus.SUCCESS) + count(ExecutionStatus.FAILED),
            succeeded=count(ExecutionStatus.SUCCESS),
            failed=count(ExecutionStatus.FAILED),
            missed=count(ExecutionStatus.MISSED),
            skipped=count(ExecutionStatus.SKIPPED),
        )

    @property
    def success_rate(self) -> float | None:
        """Successes as a percentage of the runs that finished (missed and skipped slots are
        counted apart)."""
        return 100 * self.succeeded / self.runs if self.runs else None


@dataclass(frozen=True, slots=True)
class NextRun:
    at: datetime
    job: Job


@dataclass(frozen=True, slots=True)
class Report:
    user: User
    period: Period
    everything: bool
    """True for an admin's report on every job (DIGEST_ADMIN_SCOPE=all)."""
    outcomes: Sequence[JobOutcomes]
    previous: dict[uuid.UUID, JobOutcomes]
    failures: Sequence[LastFailure]
    paused: Sequence[Job]
    next_runs: Sequence[NextRun]
    totals: Totals = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", Totals.of(self.outcomes))

    @property
    def is_empty(self) -> bool:
        totals = self.totals
        return not (totals.runs or totals.missed or totals.skipped or self.paused)


@dataclass(frozen=True, slots=True)
class DigestPass:
    queued: int
    due: set[DigestKey]
    """Every digest due now, queued before or not."""
    empty: set[DigestKey]
    """Digests found to have nothing to report: the caller need not look at them again."""


class DigestService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.jobs = JobRepository(session)
        self.executions = JobExecutionRepository(session)
        self.deliveries = NotificationDeliveryRepository(session)
        self.preferences = NotificationPreferencesRepository(session)

    async def queue_due(self, known_empty: Collection[DigestKey] = ()) -> DigestPass:
        """Write the outbox row of every digest due now that no scheduler has written yet."""
        if self.settings.smtp_host is None:
            return DigestPass(0, set(), set())
        now = self.clock.now()
        due: list[tuple[User, Period]] = []
        for user, preferences in await self.preferences.digest_subscribers():
            due += [
                (user, period)
                for period in due_periods(
                    user.timezone,
                    now,
                    self.settings.digest_hour,
                    daily=preferences.daily_digest,
                    weekly=preferences.weekly_report,
                )
            ]
        keys = {(user.id, period.kind, period.key) for user, period in due}
        decided = await self.deliveries.digests_decided(keys)
        rows: list[dict[str, Any]] = []
        empty: set[DigestKey] = set()
        for user, period in due:
            key = (user.id, period.kind, period.key)
            if key in decided or key in known_empty:
                continue
            report = await self.report(user, period)
            if report.is_empty:
                empty.add(key)
                continue
            rows.append(_delivery_row(report, now))
        inserted = await self.deliveries.insert_ignoring_duplicates(rows)
        if inserted:
            self.session.info[QUEUED_DELIVERIES] = True
        await self.session.flush()
        return DigestPass(len(inserted), keys, empty)

    async def report(self, user: User, period: Period) -> Report:
        everything = user.role == UserRole.ADMIN and self.settings.digest_admin_scope == "all"
        jobs: ColumnElement[bool] = true() if everything else Job.created_by == user.id
        outcomes = await self.executions.final_outcomes(jobs, period.start, period.end)
        previous: dict[uuid.UUID, JobOutcomes] = {}
        if period.kind == AlertKind.WEEKLY_REPORT:
            before = period.before()
            previous = {
                outcome.job_id: outcome
                for outcome in await self.executions.final_outcomes(jobs, before.start, before.end)
            }
        paused = await self.jobs.get_multi(
            jobs,
            Job.paused_by_service_at >= period.start,
            Job.paused_by_service_at < period.end,
            order_by=(Job.name,),
        )
        return Report(
            user=user,
            period=period,
            everything=everything,
            outcomes=outcomes,
            previous=previous,
            failures=await self.executions.last_failures(jobs, period.start, period.end),
            paused=paused,
            next_runs=await self._first_runs(jobs, period),
        )

    async def _first_runs(self, jobs: ColumnElement[bool], period: Period) -> list[NextRun]:
        """Each active job's first slot on the local day after the period, earliest first."""
        day_start = period.end
        day_end = local_midnight(period.day_after + timedelta(days=1), period.zone)
        runs = []
        for job in await self.jobs.get_multi(jobs, Job.is_active.is_(True), order_by=(Job.name,)):
            slot = next_slot(job, day_start - timedelta(microseconds=1))
            if slot is not None and slot < day_end:
                runs.append(NextRun(slot, job))
        runs.sort(key=lambda run: (run.at, run.job.name))
        return runs[:LISTED_NEXT_RUNS]


# --- what a digest says ----------------------------------------------------------------------


def _delivery_row(report: Report, now: datetime) -> dict[str, Any]:
    subject, text, body_html = render(report)
    return {
        "id": uuid.uuid4(),
        "channel": DeliveryChannel.EMAIL,
        "kind": report.period.kind,
        "recipient": report.user.email,
        "subject": subject,
        "body_text": text,
        "body_html": body_html,
        "execution_id": None,
        "job_id": None,
        "user_id": report.user.id,
        "period": report.period.key,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }


def render(report: Report) -> tuple[str, str, str]:
    """The subject, plain text and HTML of a digest."""
    period, totals = report.period, report.totals
    whose = "All jobs" if report.everything else "Your jobs"
    if period.kind == AlertKind.WEEKLY_REPORT:
        last_day = period.day_after - timedelta(days=1)
        name = f"Weekly report {period.key}"
        when = f"in the week {period.first_day.isoformat()} to {last_day.isoformat()}"
    else:
        name = f"Daily digest {period.key}"
        when = f"on {period.first_day:%A} {period.first_day.isoformat()}"
    counts = f"{_plural(totals.runs, 'run')}, {totals.succeeded} succeeded, {totals.failed} failed"
    summary = f"{whose} {when} ({period.zone_name}): {counts}."
    hours = round((period.end - period.start) / timedelta(hours=1))
    details = [
        ("Period", f"{_local(period.start, period)} to {_local(period.end, period)} ({hours} h)"),
        ("Runs", str(totals.runs)),
        ("Succeeded", str(totals.succeeded)),
        ("Failed", str(totals.failed)),
        ("Missed slots", str(totals.missed)),
        ("Skipped slots", str(totals.skipped)),
    ]
    details.append(("Success rate", _percent(totals.success_rate)))
    sections = []
    if report.failures:
        failed = {outcome.job_id: outcome.by_status for outcome in report.outcomes}
        sections.append(
            emails.Section(
                "Failing jobs",
                [
                    (
                        failure.job_name,
                        f"{failed[failure.job_id].get(ExecutionStatus.FAILED, 0)} failed",
                        f"last {_local(failure.scheduled_for, period)}",
                        _reason(failure),
                    )
                    for failure in report.failures
                ],
                header=("Job", "Failed runs", "Last failure", "Last error"),
            )
        )
    if report.paused:
        sections.append(
            emails.Section(
                "Paused by the service",
                [
                    (
                        job.name,
                        _PAUSE_REASONS.get(job.pause_reason, "paused"),
                        _local(job.paused_by_service_at, period)
                        if job.paused_by_service_at
                        else "",
                    )
                    for job in report.paused
                ],
                header=("Job", "Why", "When"),
            )
        )
    if period.kind == AlertKind.WEEKLY_REPORT and report.outcomes:
        sections.append(
            emails.Section(
                "Jobs",
                [
                    _job_row(outcome, report.previous.get(outcome.job_id))
                    for outcome in report.outcomes
                ],
                header=("Job", "Runs", "Success rate", "Change", "Average duration", "Change"),
            )
        )
    if report.next_runs:
        sections.append(
            emails.Section(
                f"First runs on {period.day_after:%A} {period.day_after.isoformat()}",
                [(_local(run.at, period), run.job.name) for run in report.next_runs],
                header=("When", "Job"),
            )
        )
    subject = f"[{APP_NAME}] {name}: {_plural(totals.runs, 'run')}, {totals.failed} failed"
    return (
        subject,
        emails.render_text(summary, details, sections),
        emails.render_html(summary, details, sections),
    )


_PAUSE_REASONS: dict[PauseReason | None, str] = {
    PauseReason.END_DATE: "past its end date",
    PauseReason.AUTO_PAUSE: "failed too many times in a row",
}


def _job_row(outcome: JobOutcomes, before: JobOutcomes | None) -> tuple[str, ...]:
    totals = Totals.of([outcome])
    rate, duration = totals.success_rate, outcome.average_duration_seconds
    if before is None:
        rate_change = duration_change = "new"
    else:
        before_rate = Totals.of([before]).success_rate
        before_duration = before.average_duration_seconds
        rate_change = (
            "n/a" if rate is None or before_rate is None else f"{rate - before_rate:+.1f} points"
        )
        duration_change = (
            "n/a"
            if duration is None or before_duration is None
            else f"{duration - before_duration:+.2f} s"
        )
    return (
        outcome.job_name,
        str(totals.runs),
        _percent(rate),
        rate_change,
        "n/a" if duration is None else f"{duration:.2f} s",
        duration_change,
    )


def _local(instant: datetime, period: Period) -> str:
    local = instant.astimezone(period.zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _reason(failure: LastFailure) -> str:
    if failure.error_message:
        return failure.error_message
    if failure.response_status is not None:
        return f"HTTP {failure.response_status}"
    return "no answer"

"""An execution's life cycle, in one place (as procrastinate's job manager owns a job's).

    slot due, or manual trigger ─▶ RUNNING ─▶ SUCCESS                        (final)
                                          ─▶ FAILED                         (final)
                                          ─▶ FAILED, next_attempt_at set ─▶ (due: claimed by any
                                               scheduler) ─▶ next attempt RUNNING ─▶ …
                                          ─▶ FAILED "interrupted"           (lease lapsed: final)
                                          ─▶ CANCELLED (by a person: final, no alert; the
                                               process holding the call abandons it)
    slot not fired by its catch-up policy ─▶ MISSED
    slot due while the job's previous run still runs (concurrency_policy forbid) ─▶ SKIPPED

Every execution row is built here, every transition is made here, inside the caller's
transaction; the scheduler loop and the dispatcher only decide when. A retry is state in the
database, not in a process: due at a stored time and claimed like a due slot (FOR UPDATE SKIP
LOCKED), so a scheduler killed or cut from the database during the backoff cuts no chain. Each
slot's chain ends in one final outcome, and only that one counts in the job's failure streak
and notifies (services/notifications/rules.py).

The run metrics (core/metrics.py: fires, retries, outcomes, interrupted runs, lateness) are
counted here too, once the transaction that made each transition commits.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics
from core.clock import Clock
from core.config import Settings
from core.enums import AuditAction, AuditResource, ExecutionStatus, ExecutionType, TriggerType
from core.errors import Conflict, NotFound
from core.secrets import SecretBox, secret_box
from integrations.outbound import OutboundResult, Phases
from models import Job, JobExecution, User
from models.job_execution import TARGET_MAX_LENGTH
from repositories.job import JobRepository
from repositories.job_execution import JobExecutionRepository, NamedExecution
from services import authz, job_secrets
from services.audit import REDACTED, AuditService
from services.notifications.rules import FinishedRun, NotifierService

logger = logging.getLogger("services.execution_lifecycle")

INTERRUPTED = "interrupted"
# Set in `session.info` when the transaction scheduled a retry, so whoever commits it can wake
# the scheduler loop for it (see Scheduler.wake_on_new_work).
RETRIES_SCHEDULED = "execution_lifecycle.retries_scheduled"
# Set in `session.info` to the ids of the runs the transaction cancelled, so whoever commits it
# can abandon their calls at once in this process (see Dispatcher.abandon_on_cancel); other
# processes learn it from the database (the lease keeper's poll).
RUNS_CANCELLED = "execution_lifecycle.runs_cancelled"
# 4xx other than these mean the request itself is wrong: repeating it cannot help.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Backoff:
    """A retry policy's backoff bounds, with the global settings filled in."""

    min_seconds: float
    max_seconds: float
    max_doublings: int


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A job's retry policy as stored (Cloud Scheduler's shape); a null backoff bound is the
    global setting's (RETRY_BACKOFF_BASE_SECONDS / RETRY_BACKOFF_MAX_SECONDS)."""

    max_retries: int = 0
    min_backoff_seconds: float | None = None
    max_backoff_seconds: float | None = None
    max_doublings: int = 5
    # 0: unlimited; else no retry starts later than this after the slot.
    max_retry_duration_seconds: int = 0

    @classmethod
    def of(cls, job: Job) -> RetryPolicy:
        return cls(
            max_retries=job.max_retries,
            min_backoff_seconds=job.min_backoff_seconds,
            max_backoff_seconds=job.max_backoff_seconds,
            max_doublings=job.max_doublings,
            max_retry_duration_seconds=job.max_retry_duration_seconds,
        )

    def backoff(self, settings: Settings) -> Backoff:
        low = settings.retry_backoff_base_seconds
        high = settings.retry_backoff_max_seconds
        return Backoff(
            low if self.min_backoff_seconds is None else self.min_backoff_seconds,
            high if self.max_backoff_seconds is None else self.max_backoff_seconds,
            self.max_doublings,
        )


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One attempt to perform, detached from the session: the dispatcher's unit of work."""

    execution_id: uuid.UUID
    job_id: uuid.UUID
    job_name: str
    scheduled_for: datetime
    attempt: int
    trigger_type: TriggerType
    execution_type: ExecutionType
    target: str
    http_method: str
    metadata: dict[str, Any]
    github_owner: str | None
    github_repo: str | None
    github_workflow_name: str | None
    timeout_seconds: int
    retry_policy: RetryPolicy
    # A manual run's one-off token: never stored, so such a run has no later attempts.
    github_token: str | None = field(default=None, repr=False)
    # The job's headers and signing secrets as stored (secret values encrypted): decrypted
    # only when the call is made (services/job_secrets.py).
    headers: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    previous_signing_secret: str | None = field(default=None, repr=False)
    signing_secret_rotated_at: datetime | None = None
    # When this attempt was due (its lateness is measured from it): a retry's due time; the
    # slot (or the manual trigger) when None.
    due_at: datetime | None = None

    @property
    def max_retries(self) -> int:
        return self.retry_policy.max_retries

    @property
    def log_fields(self) -> dict[str, str]:
        return {
            "job_id": str(self.job_id),
            "execution_id": str(self.execution_id),
            "attempt": str(self.attempt),
        }


@dataclass(frozen=True, slots=True)
class UnfiredSlot:
    """A due slot the job's policies say not to call: recorded complete, with why."""

    job: Job
    slot: datetime
    status: ExecutionStatus  # MISSED or SKIPPED
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt's target answered, as the dispatcher hands it back."""

    run: RunSpec
    result: OutboundResult
    duration_seconds: float
    # When the call started (the injected clock's time); lateness is this minus the due time.
    call_started_at: datetime | None = None

    @property
    def lateness_ms(self) -> int | None:
        if self.call_started_at is None:
            return None
        due = self.run.due_at or self.run.scheduled_for
        return max(0, round((self.call_started_at - due) / timedelta(milliseconds=1)))


def execution_type_of(job: Job) -> ExecutionType:
    return ExecutionType.WEBHOOK if job.target_url else ExecutionType.GITHUB_ACTIONS


def target_of(job: Job) -> str:
    if job.target_url:
        return job.target_url
    return f"{job.github_owner}/{job.github_repo}:{job.github_workflow_name}"


def run_spec(
    job: Job,
    execution_id: uuid.UUID,
    scheduled_for: datetime,
    *,
    attempt: int = 1,
    trigger_type: TriggerType = TriggerType.SCHEDULED,
    metadata: dict[str, Any] | None = None,
    github_token: str | None = None,
    due_at: datetime | None = None,
) -> RunSpec:
    """The attempt of execution `execution_id` of `job`; `metadata` (a manual run's override)
    is merged over the job's."""
    return RunSpec(
        execution_id=execution_id,
        job_id=job.id,
        job_name=job.name,
        scheduled_for=scheduled_for,
        attempt=attempt,
        trigger_type=trigger_type,
        execution_type=execution_type_of(job),
        target=target_of(job),
        http_method=str(job.http_method),
        metadata=merged_metadata(job.job_metadata, metadata),
        github_owner=job.github_owner,
        github_repo=job.github_repo,
        github_workflow_name=job.github_workflow_name,
        timeout_seconds=job.timeout_seconds,
        retry_policy=RetryPolicy.of(job),
        github_token=github_token,
        headers=tuple(dict(header) for header in job.headers or ()),
        signing_secret=job.signing_secret,
        previous_signing_secret=job.previous_signing_secret,
        signing_secret_rotated_at=job.signing_secret_rotated_at,
        due_at=due_at,
    )


def merged_metadata(stored: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any]:
    """A manual run's `metadata` over the job's, top level only: an override key wins, an
    override key set to null removes the key."""
    merged = dict(stored)
    for key, value in (override or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def is_retryable(result: OutboundResult) -> bool:
    if result.status_code is None:
        return result.retryable
    return result.status_code >= 500 or result.status_code in RETRYABLE_CLIENT_ERRORS


def backoff_seconds(backoff: Backoff, attempt: int, retry_after: float | None) -> float:
    """After attempt `attempt` fails: full jitter under
    min(max_backoff, min_backoff × 2^min(attempt - 1, max_doublings)); a target's Retry-After
    wins, within max_backoff."""
    cap = backoff.max_seconds
    if retry_after is not None:
        return min(retry_after, cap)
    ceiling = min(cap, backoff.min_seconds * 2 ** min(attempt - 1, backoff.max_doublings))
    return random.uniform(0, ceiling)


def retry_delay(settings: Settings, outcome: Outcome, now: datetime) -> float | None:
    """Seconds until the next attempt of the outcome's slot, or None when this was the last:
    no retry left, not worth repeating, or it would start after max_retry_duration_seconds
    (counted from the slot)."""
    run, result = outcome.run, outcome.result
    policy = run.retry_policy
    if result.ok or not is_retryable(result) or run.attempt > policy.max_retries:
        return None
    if run.github_token is not None:
        return None
    delay = backoff_seconds(policy.backoff(settings), run.attempt, result.retry_after_seconds)
    limit = policy.max_retry_duration_seconds
    if limit and now + timedelta(seconds=delay) > run.scheduled_for + timedelta(seconds=limit):
        return None
    return delay


class ExecutionLifecycle:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        *,
        audit: AuditService | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.audit = audit or AuditService(session, clock)
        self.box = secret_box(settings)
        self.executions = JobExecutionRepository(session)
        self.jobs = JobRepository(session)

    # --- creation --------------------------------------------------------------------------

    async def start_scheduled(
        self, fired: Sequence[tuple[Job, datetime]], unfired: Sequence[UnfiredSlot] = ()
    ) -> list[RunSpec]:
        """Record `fired` slots as running and `unfired` ones as complete at once (`missed`
        by the catch-up policy, `skipped` by the overlap policy), each with its reason. A slot
        another scheduler recorded first is left alone: only the runs returned here are this
        caller's to perform."""
        running = [self._row(job, slot=slot, status=ExecutionStatus.RUNNING) for job, slot in fired]
        rows = running + [
            self._row(slot.job, slot=slot.slot, status=slot.status, error_message=slot.reason)
            for slot in unfired
        ]
        inserted = set(await self.executions.insert_ignoring_duplicates(rows))
        runs = [
            _run_of(job, row, self.box)
            for (job, _), row in zip(fired, running, strict=True)
            if row["id"] in inserted
        ]
        now = self.clock.now()
        unfired_statuses = [row["status"] for row in rows[len(running) :] if row["id"] in inserted]
        lateness = [(now - run.scheduled_for).total_seconds() for run in runs]

        def count() -> None:
            metrics.RUN_FIRES.labels(TriggerType.SCHEDULED).inc(len(runs))
            for status in unfired_statuses:
                metrics.RUN_OUTCOMES.labels(status).inc()
            for seconds in lateness:
                metrics.RUN_LATENESS.observe(seconds)

        metrics.on_commit(self.session, count)
        return runs

    async def start_manual(
        self, job: Job, *, metadata: dict[str, Any] | None, github_token: str | None
    ) -> tuple[JobExecution, RunSpec]:
        """A running execution for a manual trigger; overrides apply to this run only (the
        `metadata` override is merged over the job's at each attempt)."""
        row = self._row(
            job,
            slot=self.clock.now(),
            status=ExecutionStatus.RUNNING,
            trigger_type=TriggerType.MANUAL,
            metadata_override=metadata,
        )
        execution = await self.executions.create(row)
        job.last_execution_at = row["started_at"]
        run = _run_of(job, row, self.box, github_token=github_token)
        metrics.on_commit(self.session, metrics.RUN_FIRES.labels(TriggerType.MANUAL).inc)
        await self.audit.record(
            AuditAction.JOB_RUN,
            AuditResource.JOB,
            job.id,
            details={
                "execution_id": execution.id,
                "metadata_override": metadata is not None,
                "github_token": REDACTED if github_token is not None else None,
            },
        )
        return execution, run

    # --- transitions -----------------------------------------------------------------------

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Close attempts with what their targets answered, in a few statements.

        A failed attempt worth repeating gets its next attempt's due time; any other outcome
        is its slot's final one. An execution that is no longer running (reaped as
        interrupted, or deleted with its job) is left as it is. Final outcomes update their
        job's failure streak and notify, in this same transaction.
        """
        now = self.clock.now()
        delays = {
            outcome.run.execution_id: retry_delay(self.settings, outcome, now)
            for outcome in outcomes
        }
        # Locked first: a reaper closing one of them meanwhile waits, then leaves it alone.
        running = await self.executions.lock_running(list(delays))
        closing = {execution_id for execution_id in running if delays[execution_id] is None}
        finished = [
            _finished_run(outcome) for outcome in outcomes if outcome.run.execution_id in closing
        ]
        # Before the streaks change: recovery and auto-pause read the streak runs ended with.
        # In a savepoint: whatever goes wrong there costs the alerts, never the records.
        try:
            async with self.session.begin_nested():
                await NotifierService(self.session, self.settings, self.clock).on_finished(finished)
        except Exception:
            logger.exception(
                "could not notify about executions %s",
                ", ".join(str(run.execution_id) for run in finished),
                extra={
                    "action": "notify.failed",
                    "execution_ids": ",".join(str(run.execution_id) for run in finished),
                },
            )
        closed = [outcome for outcome in outcomes if outcome.run.execution_id in running]
        await self.executions.close_running(
            [_closing_row(outcome, now, delays[outcome.run.execution_id]) for outcome in closed],
            now,
        )
        await self.jobs.record_streaks([(run.job_id, run.succeeded) for run in finished])
        if any(delay is not None for delay in delays.values()):
            self.session.info[RETRIES_SCHEDULED] = True
        statuses = [_outcome_label(outcome, delays[outcome.run.execution_id]) for outcome in closed]

        def count() -> None:
            for status in statuses:
                metrics.RUN_OUTCOMES.labels(status).inc()

        metrics.on_commit(self.session, count)

    async def claim_due_retries(self, limit: int) -> list[RunSpec]:
        """Lock up to `limit` failed attempts whose retry is due and start their next attempts
        (same slot, so the same idempotency key). Rows another scheduler holds are skipped."""
        due = await self.executions.lock_due_retries(self.clock.now(), limit)
        rows = []
        due_at: dict[uuid.UUID, datetime | None] = {}
        for execution, job in due:
            due_at[execution.id] = execution.next_attempt_at
            execution.next_attempt_at = None
            rows.append(
                self._row(
                    job,
                    slot=execution.scheduled_for,
                    status=ExecutionStatus.RUNNING,
                    trigger_type=execution.trigger_type,
                    attempt=execution.attempt + 1,
                    metadata_override=execution.metadata_override,
                )
            )
        await self.session.flush()
        inserted = set(await self.executions.insert_ignoring_duplicates(rows))
        runs = [
            _run_of(job, row, self.box, due_at=due_at[execution.id])
            for (execution, job), row in zip(due, rows, strict=True)
            if row["id"] in inserted
        ]

        def count() -> None:
            for run in runs:
                metrics.RUN_RETRIES.labels(run.trigger_type).inc()

        metrics.on_commit(self.session, count)
        return runs

    async def reap_interrupted(self) -> list[FinishedRun]:
        """Close runs whose scheduler died (lease lapsed) as failed: "interrupted". Such a run
        is final (its target may have acted on it): it counts in its job's failure streak and
        notifies."""
        ids = await self.executions.fail_lapsed_leases(self.clock.now(), INTERRUPTED)
        if not ids:
            return []
        reaped = await self.executions.get_multi(JobExecution.id.in_(ids))
        runs = [FinishedRun.of_execution(execution) for execution in reaped]
        await NotifierService(self.session, self.settings, self.clock).on_finished(runs)
        await self.jobs.record_streaks([(run.job_id, False) for run in runs])
        metrics.on_commit(self.session, lambda: metrics.RUN_INTERRUPTED.inc(len(runs)))
        return runs

    async def cancel(self, execution_id: uuid.UUID, actor: User) -> NamedExecution:
        """Cancel a run for its job's owner or an admin: a running attempt, or a failed one
        waiting for its retry. The row becomes `cancelled` at once and is final: an outcome
        arriving later is dropped (only running rows are closed), no further attempt is made,
        nothing notifies and the failure streak stays as it was. The call in flight is
        abandoned by whichever process holds it, once it learns of the change (at once on
        PostgreSQL: a trigger notifies every process, scheduler/wakeup.py). Audited on the job."""
        found = await self.executions.lock_with_job(execution_id)
        if found is None:
            raise NotFound("Execution not found")
        execution, job = found
        authz.require_job_change(actor, job)
        now = self.clock.now()
        by = f"cancelled by {actor.username}"
        if execution.status == ExecutionStatus.RUNNING:
            execution.error_message = by
            if execution.started_at is not None:
                execution.duration_seconds = round(
                    (now - execution.started_at) / timedelta(seconds=1), 3
                )
        elif execution.status == ExecutionStatus.FAILED and execution.next_attempt_at:
            execution.error_message = (
                f"{by} while waiting for attempt {execution.attempt + 1}; attempt "
                f"{execution.attempt} had failed: {execution.error_message}"
            )
        else:
            raise Conflict(
                f"Execution {execution.id} is {execution.status.value}: only a running "
                "execution, or one waiting for its retry, can be cancelled.",
                title="Execution not running",
            )
        was = execution.status
        execution.status = ExecutionStatus.CANCELLED
        execution.completed_at = now
        execution.lease_expires_at = None
        execution.next_attempt_at = None
        await self.session.flush()
        await self.audit.record(
            AuditAction.JOB_RUN_CANCELLED,
            AuditResource.JOB,
            job.id,
            details={
                "execution_id": execution.id,
                "attempt": execution.attempt,
                "status_before": was.value,
            },
        )
        self.session.info.setdefault(RUNS_CANCELLED, set()).add(execution.id)
        metrics.on_commit(
            self.session, lambda: metrics.RUN_OUTCOMES.labels(ExecutionStatus.CANCELLED).inc()
        )
        return NamedExecution(execution, job.name)

    async def renew_leases(self, execution_ids: Sequence[uuid.UUID]) -> None:
        await self.executions.renew_leases(execution_ids, self._lease_until())

    async def cancelled_among(self, execution_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await self.executions.cancelled_among(execution_ids)

    async def earliest_retry(self) -> datetime | None:
        return await self.executions.earliest_retry()

    # --- rows ------------------------------------------------------------------------------

    def _row(
        self,
        job: Job,
        *,
        slot: datetime,
        status: ExecutionStatus,
        trigger_type: TriggerType = TriggerType.SCHEDULED,
        attempt: int = 1,
        metadata_override: dict[str, Any] | None = None,
        error_message: str | None = None,
    ) -> dict[str, Any]:
        """The one place an execution row is made: running rows hold a lease from now, missed
        and skipped ones are complete at once."""
        now = self.clock.now()
        running = status == ExecutionStatus.RUNNING
        return {
            "id": uuid.uuid4(),
            "job_id": job.id,
            "status": status,
            "trigger_type": trigger_type,
            "execution_type": execution_type_of(job),
            "target": target_of(job)[:TARGET_MAX_LENGTH],
            "scheduled_for": slot,
            "attempt": attempt,
            "started_at": now if running else None,
            "completed_at": None if running else now,
            "error_message": error_message,
            "lease_expires_at": self._lease_until() if running else None,
            "metadata_override": metadata_override,
            "created_at": now,
            "updated_at": now,
        }

    def _lease_until(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.settings.execution_lease_seconds)


def _run_of(
    job: Job,
    row: dict[str, Any],
    box: SecretBox,
    *,
    github_token: str | None = None,
    due_at: datetime | None = None,
) -> RunSpec:
    job_secrets.ensure_signing_secret(job, box)
    return run_spec(
        job,
        row["id"],
        row["scheduled_for"],
        attempt=row["attempt"],
        trigger_type=row["trigger_type"],
        metadata=row["metadata_override"],
        github_token=github_token,
        due_at=due_at,
    )


def _closing_row(outcome: Outcome, now: datetime, retry_in: float | None) -> dict[str, Any]:
    result = outcome.result
    webhook = outcome.run.execution_type == ExecutionType.WEBHOOK
    phases = result.phases if webhook else Phases()
    return {
        "id": outcome.run.execution_id,
        "job_id": outcome.run.job_id,
        "scheduled_for": outcome.run.scheduled_for,
        "status": ExecutionStatus.SUCCESS if result.ok else ExecutionStatus.FAILED,
        "completed_at": now,
        "lateness_ms": outcome.lateness_ms,
        "duration_seconds": round(outcome.duration_seconds, 3),
        "response_status": result.status_code,
        "output": result.output,
        "error_message": result.error,
        "next_attempt_at": None if retry_in is None else now + timedelta(seconds=retry_in),
        "dns_ms": phases.dns_ms,
        "connect_ms": phases.connect_ms,
        "tls_ms": phases.tls_ms,
        "first_byte_ms": phases.first_byte_ms,
    }


def _outcome_label(outcome: Outcome, retry_in: float | None) -> str:
    if outcome.result.ok:
        return ExecutionStatus.SUCCESS
    return ExecutionStatus.FAILED if retry_in is None else "retrying"


def _finished_run(outcome: Outcome) -> FinishedRun:
    return FinishedRun(
        execution_id=outcome.run.execution_id,
        job_id=outcome.run.job_id,
        scheduled_for=outcome.run.scheduled_for,
        trigger_type=outcome.run.trigger_type,
        attempt=outcome.run.attempt,
        succeeded=outcome.result.ok,
        status_code=outcome.result.status_code,
        error=outcome.result.error,
        duration_seconds=round(outcome.duration_seconds, 3),
    )

"""What the scheduler does with jobs inside one transaction: claim due slots, pause finished
jobs. The caller (scheduler/loop.py) owns the transaction and dispatches the returned runs
only after it commits; the executions themselves are services/execution_lifecycle.py's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import cron
from core.clock import Clock
from core.config import Settings
from core.enums import CatchupPolicy, ConcurrencyPolicy, ExecutionStatus
from models import Job
from repositories.job import JobAdvance, JobRepository
from repositories.job_execution import JobExecutionRepository
from services.execution_lifecycle import ExecutionLifecycle, RunSpec, UnfiredSlot
from services.notifications.rules import NotifierService

# catchup=all fires at most this many missed slots per job and recovery; one `missed` row
# says how many more there were.
CATCHUP_ALL_LIMIT = 100


def slot_is_within_end_date(job: Job, slot: datetime) -> bool:
    return slot.astimezone(cron.zone(job.timezone)).date() <= job.end_date


def next_slot(job: Job, after: datetime) -> datetime | None:
    """The job's next slot after `after` (UTC), or None when it would fall past the end date."""
    slot = cron.next_fire_time(job.cron_expression, job.timezone, after)
    return slot if slot_is_within_end_date(job, slot) else None


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim's runs to perform, and how many due rows it took: a batch whose slots were
    all missed or skipped performs nothing, yet there may be more due work behind it."""

    runs: list[RunSpec]
    claimed: int


@dataclass
class SlotPlan:
    """What one claim does with a job's due slots."""

    fire: list[datetime] = field(default_factory=list)
    missed: list[tuple[datetime, str]] = field(default_factory=list)
    next_run_at: datetime | None = None


def misfire_grace(job: Job, settings: Settings) -> timedelta:
    seconds = job.misfire_grace_seconds or settings.misfire_grace_seconds
    return timedelta(seconds=seconds)


def plan_slots(job: Job, now: datetime, grace: timedelta) -> SlotPlan:
    """The job's due slots (from `next_run_at` up to `now`) under its catch-up policy.

    A slot at least `grace` late was missed outright: such slots are coalesced into one
    `missed` row (never enumerated: an outage may hold thousands). Slots within the grace
    window are the catch-up candidates: `latest` fires the newest and coalesces the others
    into one `missed` row, `all` fires each (oldest first, at most CATCHUP_ALL_LIMIT; one
    `missed` row counts the rest), `none` fires a slot only when it is the only one due and
    none was missed outright; otherwise every due slot is missed.
    """
    plan = SlotPlan()
    slot: datetime | None = job.next_run_at
    assert slot is not None  # only jobs with a next run are due
    if not slot_is_within_end_date(job, slot):
        return plan
    window_start = now - grace
    outright: datetime | None = None
    if slot <= window_start:
        outright = slot
        slot = next_slot(job, window_start)
    candidates: list[datetime] = []
    while slot is not None and slot <= now:
        candidates.append(slot)
        slot = next_slot(job, slot)
    plan.next_run_at = slot
    if outright is not None:
        plan.missed.append(
            (
                outright,
                f"no scheduler fired it in time; slots from {outright.isoformat()} until "
                f"{window_start.isoformat()} (more than {_seconds(grace)} s late) were not fired",
            )
        )
    if job.catchup == CatchupPolicy.ALL:
        plan.fire = candidates[:CATCHUP_ALL_LIMIT]
        rest = candidates[CATCHUP_ALL_LIMIT:]
        if rest:
            plan.missed.append(
                (
                    rest[0],
                    f"catchup all fires at most {CATCHUP_ALL_LIMIT} missed slots; {len(rest)} "
                    f"more, from {rest[0].isoformat()} to {rest[-1].isoformat()}, were not fired",
                )
            )
    elif job.catchup == CatchupPolicy.NONE and (outright is not None or len(candidates) > 1):
        if candidates:
            plan.missed.append(
                (
                    candidates[0],
                    f"catchup none: {len(candidates)} slots from {candidates[0].isoformat()} "
                    f"to {candidates[-1].isoformat()} came due together after a gap; none fired",
                )
            )
    else:
        plan.fire = candidates[-1:]
        if len(candidates) > 1 and outright is None:
            plan.missed.append(
                (
                    candidates[0],
                    f"catchup latest: {len(candidates) - 1} older slots from "
                    f"{candidates[0].isoformat()} to {candidates[-2].isoformat()} were coalesced; "
                    f"{candidates[-1].isoformat()} fired",
                )
            )
    return plan


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


class SchedulingService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.jobs = JobRepository(session)
        self.executions = JobExecutionRepository(session)
        self.lifecycle = ExecutionLifecycle(session, settings, clock)
        self.notifier = NotifierService(session, settings, clock)

    async def claim_due(self, limit: int) -> Claim:
        """Lock up to `limit` due jobs, record their due slots and advance them.

        Which due slots fire is the job's catch-up policy (`plan_slots`), so an outage never
        bursts beyond what the job asked for. A job with `concurrency_policy` forbid whose
        previous run (any attempt, scheduled or manual, including one waiting for its retry)
        is still going fires nothing: its due slots are recorded `skipped`; of several slots
        due at once only the oldest fires, the others are skipped behind it.
        """
        now = self.clock.now()
        fired: list[tuple[Job, datetime]] = []
        unfired: list[UnfiredSlot] = []
        ended: list[Job] = []
        moves: list[JobAdvance] = []
        jobs = await self.jobs.lock_due(now, limit)
        busy = await self.executions.running_of(
            [job.id for job in jobs if job.concurrency_policy == ConcurrencyPolicy.FORBID]
        )
        for job in jobs:
            plan = plan_slots(job, now, misfire_grace(job, self.settings))
            unfired.extend(
                UnfiredSlot(job, slot, ExecutionStatus.MISSED, reason)
                for slot, reason in plan.missed
            )
            to_fire = plan.fire
            if job.concurrency_policy == ConcurrencyPolicy.FORBID and to_fire:
                running = busy.get(job.id)
                if running is None:
                    to_fire, behind = to_fire[:1], to_fire[1:]
                    reason = f"concurrency_policy forbid: the run of slot {to_fire[0].isoformat()}"
                else:
                    behind = to_fire
                    to_fire = []
                    reason = f"concurrency_policy forbid: execution {running}"
                unfired.extend(
                    UnfiredSlot(job, slot, ExecutionStatus.SKIPPED, f"{reason} was still running")
                    for slot in behind
                )
            fired.extend((job, slot) for slot in to_fire)
            moves.append(JobAdvance(job.id, plan.next_run_at, now if to_fire else None))
            if plan.next_run_at is None:
                ended.append(job)
        await self.jobs.advance(moves)
        await self._pause_finished(ended)
        runs = await self.lifecycle.start_scheduled(fired, unfired)
        await self.session.flush()
        return Claim(runs, len(jobs))

    async def pause_finished_jobs(self, limit: int) -> int:
        """Pause active jobs that have no slot left (their end date has passed)."""
        jobs = await self.jobs.lock_finished(limit)
        await self._pause_finished(jobs)
        await self.session.flush()
        return len(jobs)

    async def earliest_due(self) -> datetime | None:
        """The earliest instant there is work: a job's next slot or a retry."""
        dues = [await self.jobs.earliest_due(), await self.lifecycle.earliest_retry()]
        return min((due for due in dues if due is not None), default=None)

    async def _pause_finished(self, jobs: Sequence[Job]) -> None:
        """Pause jobs with no slot left before their end date, and tell their owners."""
        for job in jobs:
            job.is_active = False
            job.next_run_at = None
        await self.notifier.on_jobs_ended(jobs)

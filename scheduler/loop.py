"""The due-job loop. PostgreSQL coordinates: any number of these may run against one database
(FOR UPDATE SKIP LOCKED shares the jobs, the unique slot index forbids a second fire).

Each pass: reap interrupted runs, pause finished jobs, then claim due slots and due retries in
batches no larger than the dispatcher has room for (a busy process leaves due work to the
others), each batch committed before its runs are handed to the dispatcher; then, at most once a
minute, queue the daily digests and weekly reports that have come due
(services/notifications/digest.py). Between passes it
sleeps until the earliest next slot or retry (at most SCHEDULER_POLL_SECONDS, at least
PASS_GAP_SECONDS), or until a job changes or a retry is scheduled in this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.clock import Clock
from core.config import Settings
from core.supervision import SupervisedTask, wait_until_set
from models import Job
from scheduler.dispatcher import Dispatcher
from services.execution_lifecycle import RETRIES_SCHEDULED, ExecutionLifecycle
from services.notifications.digest import DigestKey, DigestService
from services.scheduling import Claim, SchedulingService

logger = logging.getLogger("scheduler")

_JOBS_CHANGED = "jobs_changed"
# How often (by the clock) a scheduler looks for digests that have come due.
DIGEST_CHECK_SECONDS = 60
# The least time between passes (a job change still wakes the loop at once). A pass costs
# about ten round trips whatever it claims, as much as the runs of dozens of slots: when slots
# come due one after the other, passes this far apart fire them a few dozen at a time, each
# up to this much later, instead of one pass per slot.
PASS_GAP_SECONDS = 0.02


class Scheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        dispatcher: Dispatcher,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.dispatcher = dispatcher
        self._wake = asyncio.Event()
        self._supervised = SupervisedTask("scheduler loop", self._run_forever)
        self._next_digest_check: datetime | None = None
        self._empty_digests: set[DigestKey] = set()

    @property
    def is_running(self) -> bool:
        return self._supervised.is_running

    def start(self) -> None:
        self._supervised.start()

    async def stop(self) -> None:
        """Stop claiming; runs already handed over belong to the dispatcher."""
        await self._supervised.stop()

    def wake(self) -> None:
        self._wake.set()

    def wake_on_new_work(self, sync_session_class: type[Session]) -> None:
        """Wake this scheduler when a session of `sync_session_class` commits a job change or
        schedules a retry."""

        def note_job_changes(session: Session, _context: object, _instances: object) -> None:
            changed = (*session.new, *session.dirty, *session.deleted)
            if any(isinstance(instance, Job) for instance in changed):
                session.info[_JOBS_CHANGED] = True

        def wake_after_commit(session: Session) -> None:
            jobs_changed = session.info.pop(_JOBS_CHANGED, False)
            if session.info.pop(RETRIES_SCHEDULED, False) or jobs_changed:
                self.wake()

        event.listen(sync_session_class, "before_flush", note_job_changes)
        event.listen(sync_session_class, "after_commit", wake_after_commit)

    async def tick(self) -> int:
        """One pass; returns how many runs it handed to the dispatcher."""
        batch_size = self.settings.scheduler_batch_size
        async with self.sessionmaker.begin() as session:
            interrupted = await ExecutionLifecycle(
                session, self.settings, self.clock
            ).reap_interrupted()
            paused = await SchedulingService(
                session, self.settings, self.clock
            ).pause_finished_jobs(batch_size)
        for run in interrupted:
            logger.warning(
                "run %s of job %s (attempt %d) was interrupted: its scheduler stopped renewing "
                "its lease",
                run.execution_id,
                run.job_id,
                run.attempt,
                extra={
                    "action": "run.interrupted",
                    "job_id": str(run.job_id),
                    "execution_id": str(run.execution_id),
                },
            )
        if paused:
            logger.info(
                "paused %d jobs past their end date", paused, extra={"action": "jobs.ended"}
            )
        slots = await self._dispatch_claimed(
            lambda session, limit: SchedulingService(session, self.settings, self.clock).claim_due(
                limit
            )
        )
        retries = await self._dispatch_claimed(self._claim_retries)
        now = self.clock.now()
        if self._next_digest_check is None or now >= self._next_digest_check:
            # After the claims, so slots missed while no scheduler ran are in the digest; a
            # pass that fails is tried again a minute later, not on every pass.
            self._next_digest_check = now + timedelta(seconds=DIGEST_CHECK_SECONDS)
            await self.queue_digests()
        return slots + retries

    async def queue_digests(self) -> int:
        """Queue the digests due now that no scheduler has queued yet; returns how many."""
        async with self.sessionmaker.begin() as session:
            result = await DigestService(session, self.settings, self.clock).queue_due(
                self._empty_digests
            )
        # Periods with nothing to report are not looked at again while they are due.
        self._empty_digests = (self._empty_digests & result.due) | result.empty
        if result.queued:
            logger.info("queued %d digests", result.queued, extra={"action": "digests.queued"})
        return result.queued

    async def _claim_retries(self, session: AsyncSession, limit: int) -> Claim:
        runs = await ExecutionLifecycle(session, self.settings, self.clock).claim_due_retries(limit)
        return Claim(runs, len(runs))

    async def _dispatch_claimed(
        self, claim: Callable[[AsyncSession, int], Awaitable[Claim]]
    ) -> int:
        """Claim in batches, each committed before its runs go to the dispatcher, and each no
        larger than the dispatcher has room for. When it is full for a whole poll interval the
        pass goes on (the rest is claimed by the next pass, or by another process)."""
        dispatched = 0
        while True:
            if not await self.dispatcher.wait_for_room(self.settings.scheduler_poll_seconds):
                return dispatched
            limit = min(self.settings.scheduler_batch_size, self.dispatcher.room)
            async with self.sessionmaker.begin() as session:
                claimed = await claim(session, limit)
            for run in claimed.runs:
                self.dispatcher.submit(run)
            dispatched += len(claimed.runs)
            if claimed.claimed < limit:
                return dispatched

    async def seconds_until_due(self) -> float:
        poll = self.settings.scheduler_poll_seconds
        async with self.sessionmaker() as session:
            earliest = await SchedulingService(session, self.settings, self.clock).earliest_due()
        if earliest is None:
            return poll
        wait = (earliest - self.clock.now()) / timedelta(seconds=1)
        return min(max(wait, 0.0), poll)

    async def _run_forever(self) -> None:
        logger.info("scheduler started", extra={"action": "scheduler.started"})
        while True:
            delay = self.settings.scheduler_poll_seconds
            # Cleared before the pass: a job changed during the pass still wakes the next one.
            self._wake.clear()
            try:
                await self.tick()
                delay = max(await self.seconds_until_due(), PASS_GAP_SECONDS)
            except Exception:  # the database may be away; keep trying at the poll interval
                logger.exception("scheduler pass failed", extra={"action": "scheduler.pass_failed"})
            await wait_until_set(self._wake, delay)

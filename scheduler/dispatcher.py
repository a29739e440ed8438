"""Performs attempts: calls the target and hands the outcome to the execution life cycle.

Each attempt is its own task and a semaphore caps how many call out at once. Database writes
are shared: outcomes finishing together are written in one transaction by the outcome writer,
and one lease keeper renews the leases of every run this process holds, so the database sees a
few statements per batch of runs rather than several per run. Both side tasks start with the
dispatcher (`start`) and run supervised (scheduler/supervision.py).

Whatever happens, an attempt's task ends with its outcome recorded, or with the run left to
its lease (a live scheduler closes it as interrupted once the lease lapses), or abandoned
because a person cancelled it: nothing escapes it. A cancellation made in this process
abandons the call as soon as it commits (`abandon_on_cancel`); one made in another process is
announced by PostgreSQL (scheduler/wakeup.py calls `abandon`), and the lease keeper, which
looks at the rows of the runs it holds every SCHEDULER_POLL_SECONDS, finds any announcement
that was lost. A failed attempt worth repeating is not slept on here: its retry is a
due time in the database, claimed by whichever scheduler is live when it comes
(services/execution_lifecycle.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.clock import Clock
from core.config import Settings
from core.enums import ExecutionType
from core.secrets import SecretUnreadable, secret_box
from core.supervision import supervise
from integrations import targets, webhook
from integrations.address_guard import AddressGuard
from integrations.outbound import HttpClient, OutboundResult
from services import job_secrets
from services.execution_lifecycle import RUNS_CANCELLED, ExecutionLifecycle, Outcome, RunSpec

logger = logging.getLogger("scheduler.dispatcher")

Sleep = Callable[[float], Awaitable[None]]
OUTCOME_BATCH_LIMIT = 500
OUTCOME_WRITE_FIRST_DELAY_SECONDS = 0.5
OUTCOME_WRITE_MAX_DELAY_SECONDS = 5.0


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        http_client: HttpClient,
        guard: AddressGuard,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.http_client = http_client
        self.guard = guard
        self.sleep = sleep
        self._slots = asyncio.Semaphore(settings.scheduler_max_concurrency)
        # Every call slot busy and one claim's batch waiting for one: the most runs it holds.
        self._capacity = settings.scheduler_max_concurrency + settings.scheduler_batch_size
        self._has_room = asyncio.Event()
        self._has_room.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._task_of: dict[uuid.UUID, asyncio.Task[None]] = {}
        # Runs this process holds, from hand-over until their outcome is written or given up.
        self._held: set[uuid.UUID] = set()
        self._outcomes: asyncio.Queue[tuple[Outcome, asyncio.Future[None]]] = asyncio.Queue()
        self._side_tasks: list[asyncio.Task[None]] = []
        # Held by the lease keeper while it renews or looks for cancelled runs (so `drain` can
        # wait for that to end).
        self._renewing = asyncio.Lock()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def is_running(self) -> bool:
        return bool(self._side_tasks) and not any(task.done() for task in self._side_tasks)

    @property
    def room(self) -> int:
        """How many more runs it takes now. The scheduler claims no more than this: work this
        process could not start soon stays in the database, for another process to claim, and
        not in this one's memory, where it would wait behind the calls and hold a lease."""
        return max(0, self._capacity - len(self._tasks))

    async def wait_for_room(self, timeout_seconds: float) -> bool:
        """Wait until `room` is not 0 (True), or at most `timeout_seconds` (False)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_seconds):
                while not self.room:
                    self._has_room.clear()
                    await self._has_room.wait()
        return self.room > 0

    def start(self) -> None:
        """Start the outcome writer and the lease keeper; attempts can be submitted after."""
        if self._side_tasks:
            raise RuntimeError("the dispatcher is already started")
        self._side_tasks = [
            supervise("outcome writer", self._write_outcomes),
            supervise("lease keeper", self._keep_leases),
        ]

    def submit(self, run: RunSpec) -> asyncio.Task[None]:
        if not self._side_tasks:
            raise RuntimeError("the dispatcher is not started: nothing would record the outcome")
        self._held.add(run.execution_id)
        task = asyncio.create_task(self.perform(run), name=f"run-{run.execution_id}")
        self._tasks.add(task)
        self._task_of[run.execution_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if self._task_of.get(run.execution_id) is done:
                del self._task_of[run.execution_id]
            if len(self._tasks) < self._capacity:
                self._has_room.set()

        task.add_done_callback(forget)
        return task

    def abandon(self, execution_ids: set[uuid.UUID]) -> int:
        """Stop the calls of these runs (cancelled: their rows are final already); returns how
        many this process was making."""
        abandoned = 0
        for execution_id in execution_ids:
            task = self._task_of.get(execution_id)
            if task is None or task.done():
                continue
            task.cancel()
            abandoned += 1
            logger.info(
                "abandoned the call of run %s: it was cancelled",
                execution_id,
                extra={"action": "run.cancelled", "execution_id": str(execution_id)},
            )
        return abandoned

    def abandon_on_cancel(self, sync_session_class: type[Session]) -> None:
        """Abandon a run's call as soon as a session of `sync_session_class` commits its
        cancellation (the API process's own runs, with no wait for the lease keeper)."""

        def after_commit(session: Session) -> None:
            cancelled = session.info.pop(RUNS_CANCELLED, None)
            if cancelled:
                self.abandon(cancelled)

        event.listen(sync_session_class, "after_commit", after_commit)

    async def drain(self, grace_seconds: float) -> None:
        """Wait for attempts in flight; those still running after `grace_seconds` are cancelled
        and left to lease expiry (a live scheduler closes them as interrupted).

        A lease renewal under way may still be writing for the runs just drained: it is waited
        for too (within the same grace), so that once `drain` returns nothing is being written
        for them.
        """
        deadline = asyncio.get_running_loop().time() + grace_seconds
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline), self._renewing:
                pass

    async def close(self, grace_seconds: float = 10) -> None:
        await self.drain(grace_seconds)
        for task in self._side_tasks:
            task.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)
        self._side_tasks = []

    async def perform(self, run: RunSpec) -> None:
        """Make one attempt of `run` and record its outcome; never raises (but is cancellable)."""
        fields = run.log_fields
        try:
            result, duration, call_started_at = await self._attempt(run)
            await self._record(Outcome(run, result, duration, call_started_at))
        except Exception:
            logger.exception(
                "the outcome of run %s of job %s (attempt %d) could not be recorded; "
                "it is left to its lease",
                run.execution_id,
                run.job_id,
                run.attempt,
                extra={"action": "run.unrecorded", **fields},
            )
            return
        finally:
            self._held.discard(run.execution_id)
        if result.ok:
            logger.debug(
                "run %s of job %s succeeded",
                run.execution_id,
                run.job_id,
                extra={"action": "run.succeeded", **fields},
            )
        else:
            logger.warning(
                "run %s of job %s attempt %d failed: %s",
                run.execution_id,
                run.job_id,
                run.attempt,
                result.error,
                extra={"action": "run.failed", **fields},
            )

    async def _attempt(self, run: RunSpec) -> tuple[OutboundResult, float, datetime]:
        async with self._slots:
            call_started_at = self.clock.now()
            started = time.perf_counter()
            try:
                result = await self._call(run)
            except Exception as exc:  # a bug here, not the target's answer: a failure all the same
                logger.exception(
                    "run %s of job %s crashed while calling its target",
                    run.execution_id,
                    run.job_id,
                    extra={"action": "run.crashed", **run.log_fields},
                )
                result = OutboundResult(None, None, f"the call crashed: {type(exc).__name__}")
            return result, time.perf_counter() - started, call_started_at

    async def _call(self, run: RunSpec) -> OutboundResult:
        box = secret_box(self.settings)
        try:
            job_headers = job_secrets.call_headers(run.headers, box)
            secrets = job_secrets.signing_secrets(
                run.signing_secret,
                run.previous_signing_secret,
                run.signing_secret_rotated_at,
                box=box,
                settings=self.settings,
                now=self.clock.now(),
            )
        except SecretUnreadable as exc:
            return OutboundResult(None, None, f"{exc} (was a key removed?); the call was not made")
        result = await targets.call(
            self.http_client,
            self.guard,
            self.settings,
            targets.Target(
                execution_type=run.execution_type,
                url=run.target if run.execution_type == ExecutionType.WEBHOOK else None,
                http_method=run.http_method,
                github_owner=run.github_owner,
                github_repo=run.github_repo,
                github_workflow_name=run.github_workflow_name,
            ),
            metadata=run.metadata,
            headers=webhook.run_headers(run.job_id, run.scheduled_for, run.attempt),
            timeout_seconds=run.timeout_seconds,
            github_token=run.github_token,
            job_headers=job_headers,
            signing=webhook.Signing(
                msg_id=webhook.idempotency_key(run.job_id, run.scheduled_for),
                timestamp=int(self.clock.now().timestamp()),
                secrets=secrets,
            ),
        )
        hidden = job_secrets.secret_values(run.headers, job_headers)
        if not hidden:
            return result
        return replace(
            result,
            output=job_secrets.redact(result.output, hidden),
            error=job_secrets.redact(result.error, hidden),
        )

    async def _record(self, outcome: Outcome) -> None:
        """Queue the outcome for the writer and wait until it is committed."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._outcomes.put((outcome, written))
        await written

    async def _write_outcomes(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            while not self._outcomes.empty() and len(batch) < OUTCOME_BATCH_LIMIT:
                batch.append(self._outcomes.get_nowait())
            try:
                error = await self._write_batch([outcome for outcome, _ in batch])
            except BaseException as exc:
                # The writer dies (its supervisor restarts it); its batch's runs must not wait.
                _settle(batch, exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                raise
            _settle(batch, error)

    async def _write_batch(self, outcomes: list[Outcome]) -> Exception | None:
        """Write one batch, trying again while the database is away for up to a lease's time
        (the leases of these runs are still renewed meanwhile); the error if it stays away
        longer (the runs are then closed as interrupted once their leases lapse)."""
        delay, waited = OUTCOME_WRITE_FIRST_DELAY_SECONDS, 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.sessionmaker.begin() as session:
                    await ExecutionLifecycle(session, self.settings, self.clock).record_outcomes(
                        outcomes
                    )
                return None
            except Exception as exc:
                if waited >= self.settings.execution_lease_seconds:
                    return exc
                logger.warning(
                    "could not record %d outcomes (attempt %d): %s",
                    len(outcomes),
                    attempt,
                    exc,
                    extra={
                        "action": "outcomes.write_failed",
                        "execution_ids": ",".join(str(o.run.execution_id) for o in outcomes),
                    },
                )
                await self.sleep(delay)
                waited += delay
                delay = min(delay * 2, OUTCOME_WRITE_MAX_DELAY_SECONDS)

    async def _keep_leases(self) -> None:
        """Renew the leases of held runs every third of a lease, and look for held runs that
        were cancelled (by any process) every poll interval."""
        renew_every = self.settings.execution_lease_seconds / 3
        look_every = min(self.settings.scheduler_poll_seconds, renew_every)
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(look_every)
            await self._abandon_cancelled()
            if time.monotonic() - renewed >= renew_every:
                renewed = time.monotonic()
                await self._renew_leases()

    async def _abandon_cancelled(self) -> None:
        # Under the lease keeper's lock and in a transaction of its own, like a renewal: `drain`
        # waits for it, and it takes its turn with the outcome writer on a shared connection.
        async with self._renewing:
            held = list(self._held)
            if not held:
                return
            try:
                async with self.sessionmaker.begin() as session:
                    cancelled = await ExecutionLifecycle(
                        session, self.settings, self.clock
                    ).cancelled_among(held)
            except Exception as exc:  # looked for again next interval
                logger.warning(
                    "could not look for cancelled runs: %s",
                    exc,
                    extra={"action": "runs.cancel_check_failed", "count": str(len(held))},
                )
                return
        self.abandon(cancelled)

    async def _renew_leases(self) -> None:
        async with self._renewing:
            held = list(self._held)
            if not held:
                return
            try:
                async with self.sessionmaker.begin() as session:
                    lifecycle = ExecutionLifecycle(session, self.settings, self.clock)
                    await lifecycle.renew_leases(held)
            except Exception as exc:  # retried next interval; a lease outlasts two missed renewals
                logger.warning(
                    "could not renew the leases of %d runs: %s",
                    len(held),
                    exc,
                    extra={"action": "leases.renew_failed", "count": str(len(held))},
                )


def _settle(batch: list[tuple[Outcome, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, written in batch:
        if written.done():
            continue
        if error is None:
            written.set_result(None)
        else:
            written.set_exception(error)

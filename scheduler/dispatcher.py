"""Performs runs: calls the target, records the outcome, retries with backoff.

Each run is its own task and a semaphore caps how many call out at once. Database writes are
shared: outcomes finishing together are written in one transaction, and one keeper renews
the leases of every run in flight, so the database sees a few statements per batch of runs
rather than several per run.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import Settings
from core.enums import ExecutionType
from integrations import targets, webhook
from integrations.address_guard import AddressGuard
from integrations.outbound import HttpClients, OutboundResult
from services.execution import ExecutionService, Outcome
from services.scheduling import RunSpec, SchedulingService

logger = logging.getLogger("scheduler.dispatcher")

Sleep = Callable[[float], Awaitable[None]]
# 4xx other than these mean the request itself is wrong: repeating it cannot help.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})
OUTCOME_BATCH_LIMIT = 500
OUTCOME_WRITE_ATTEMPTS = 4


def is_retryable(result: OutboundResult) -> bool:
    if result.status_code is None:
        return result.retryable
    return result.status_code >= 500 or result.status_code in RETRYABLE_CLIENT_ERRORS


def backoff_seconds(settings: Settings, attempt: int, retry_after: float | None) -> float:
    """Full jitter over an exponential ceiling; a target's Retry-After wins (within the cap)."""
    cap = settings.retry_backoff_max_seconds
    if retry_after is not None:
        return min(retry_after, cap)
    ceiling = min(cap, settings.retry_backoff_base_seconds * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        http_clients: HttpClients,
        guard: AddressGuard,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.http_clients = http_clients
        self.guard = guard
        self.sleep = sleep
        self._slots = asyncio.Semaphore(settings.scheduler_max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._calling: set[uuid.UUID] = set()
        self._outcomes: asyncio.Queue[tuple[Outcome, asyncio.Future[None]]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def submit(self, run: RunSpec) -> asyncio.Task[None]:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._write_outcomes(), name="outcome-writer"),
                asyncio.create_task(self._keep_leases(), name="lease-keeper"),
            ]
        task = asyncio.create_task(self.perform(run), name=f"run-{run.execution_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, grace_seconds: float) -> None:
        """Wait for runs in flight; those still running after `grace_seconds` are cancelled and
        left to lease expiry (a live scheduler closes them as interrupted)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def close(self, grace_seconds: float = 10) -> None:
        await self.drain(grace_seconds)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def perform(self, run: RunSpec) -> None:
        """Run every attempt of `run` until one succeeds or retrying stops making sense."""
        current: RunSpec | None = run
        while current is not None:
            try:
                result, duration = await self._attempt(current)
                retry = (
                    not result.ok
                    and is_retryable(result)
                    and current.attempt <= current.max_retries
                )
                await self._record(Outcome(current, result, duration, final=not retry))
            except Exception:
                logger.exception("run %s of job %s crashed", current.execution_id, current.job_id)
                return
            if result.ok:
                logger.debug("run %s of job %s succeeded", current.execution_id, current.job_id)
            else:
                logger.warning(
                    "run %s of job %s attempt %d failed: %s",
                    current.execution_id,
                    current.job_id,
                    current.attempt,
                    result.error,
                )
            if not retry:
                return
            await self.sleep(
                backoff_seconds(self.settings, current.attempt, result.retry_after_seconds)
            )
            async with self.sessionmaker.begin() as session:
                service = ExecutionService(session, self.settings, self.clock)
                current = await service.start_retry(current)

    async def _attempt(self, run: RunSpec) -> tuple[OutboundResult, float]:
        async with self._slots:
            self._calling.add(run.execution_id)
            started = time.perf_counter()
            try:
                result = await self._call(run)
            finally:
                self._calling.discard(run.execution_id)
            return result, time.perf_counter() - started

    async def _call(self, run: RunSpec) -> OutboundResult:
        return await targets.call(
            self.http_clients,
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
            error = await self._write_batch([outcome for outcome, _ in batch])
            for _, written in batch:
                if written.done():
                    continue
                if error is None:
                    written.set_result(None)
                else:
                    written.set_exception(error)

    async def _write_batch(self, outcomes: list[Outcome]) -> Exception | None:
        """Write one batch, trying again while the database is briefly away; the error if it
        stays away (the runs are then closed as interrupted when their leases lapse)."""
        delay = 0.5
        for attempt in range(1, OUTCOME_WRITE_ATTEMPTS + 1):
            try:
                async with self.sessionmaker.begin() as session:
                    await ExecutionService(session, self.settings, self.clock).record_outcomes(
                        outcomes
                    )
                return None
            except Exception as exc:
                if attempt == OUTCOME_WRITE_ATTEMPTS:
                    return exc
                logger.warning(
                    "could not record %d outcomes (attempt %d): %s", len(outcomes), attempt, exc
                )
                await self.sleep(delay)
                delay *= 2
        return None

    async def _keep_leases(self) -> None:
        interval = self.settings.execution_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            if not self._calling:
                continue
            try:
                async with self.sessionmaker.begin() as session:
                    await SchedulingService(session, self.settings, self.clock).renew_leases(
                        list(self._calling)
                    )
            except Exception:  # retried next interval; a lease outlasts two missed renewals
                logger.warning("could not renew the leases of %d runs", len(self._calling))

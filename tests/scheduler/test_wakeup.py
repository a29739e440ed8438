"""Cross-process wake-up (PostgreSQL LISTEN/NOTIFY): a change committed by one process reaches
a scheduler in another within 100 ms; the poll takes over while the listener's connection is
lost, and the listener comes back by itself."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from models import Job, JobExecution
from scheduler.wakeup import WakeupListener, listener_dsn
from tests.scheduler.conftest import JobMaker, SchedulerMaker, executions_of
from tests.support.clock import FrozenClock
from tests.support.http_target import HttpTarget
from tests.support.scheduler_process import SchedulerProcess
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres_only

# Run in another process: move the job's next run one hour earlier, commit, print when.
NOTIFIER = """
import asyncio, sys, time, asyncpg

async def main(dsn, job_id):
    connection = await asyncpg.connect(dsn)
    for _ in range(int(sys.argv[3])):
        await connection.execute(
            "UPDATE job SET next_run_at = next_run_at - interval '1 hour' WHERE id = $1", job_id
        )
        print(time.time(), flush=True)
        await asyncio.sleep(0.3)
    await connection.close()

import uuid
asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2])))
"""


class Wakes:
    """A wake callback that notes when it was called (wall clock, to compare across processes)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.arrived = asyncio.Event()

    def __call__(self) -> None:
        self.times.append(time.time())
        self.arrived.set()

    async def after(self, change: Awaitable[object], within_seconds: float) -> bool:
        """Whether a wake came within `within_seconds` of making `change`."""
        seen = len(self.times)
        await change
        try:
            async with asyncio.timeout(within_seconds):
                while len(self.times) == seen:
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            return False
        return True


@pytest.fixture
async def listening(settings: Settings) -> AsyncIterator[tuple[WakeupListener, Wakes]]:
    wakes = Wakes()
    listener = WakeupListener(settings, wakes)
    listener.start()
    await asyncio.wait_for(listener.connected.wait(), 10)
    await asyncio.sleep(0.1)  # the wake-up every (re)connection makes
    yield listener, wakes
    await listener.stop()


async def until(condition: Callable[[], bool], within_seconds: float) -> None:
    async with asyncio.timeout(within_seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


def far_future_job(**fields: object) -> dict[str, object]:
    return {"cron_expression": "0 0 1 1 *", "end_date": date(2099, 1, 1), **fields}


async def test_a_change_committed_in_another_process_wakes_within_100_ms(
    listening: tuple[WakeupListener, Wakes], make_job: JobMaker, database_url: str
) -> None:
    _, wakes = listening
    made: list[Job] = []

    async def make() -> None:
        made.append(await make_job(**far_future_job()))

    assert await wakes.after(make(), within_seconds=5)  # the insert's own notification
    [job] = made
    wakes.times.clear()
    notifier = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        NOTIFIER,
        listener_dsn(database_url),
        str(job.id),
        "5",
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(notifier.communicate(), 30)
    committed = [float(line) for line in output.decode().split()]
    await asyncio.sleep(0.3)

    assert len(committed) == 5
    assert len(wakes.times) == 5, wakes.times
    delays = [woken - sent for sent, woken in zip(committed, wakes.times, strict=True)]
    assert all(delay < 1.0 for delay in delays), delays
    assert statistics.median(delays) < 0.1, delays


async def test_only_work_made_earlier_notifies(
    listening: tuple[WakeupListener, Wakes],
    make_job: JobMaker,
    committing: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """Inserting an active job, activating one, moving a run earlier, scheduling a retry: each
    wakes. A run moved later (what every claim does) or an inactive job does not."""
    _, wakes = listening

    async def change(*statements: Any) -> None:
        async with committing.begin() as session:
            for statement in statements:
                await session.execute(statement)

    made: list[Job] = []

    async def make(**fields: object) -> None:
        made.append(await make_job(**far_future_job(**fields)))

    assert await wakes.after(make(), within_seconds=5)
    job = made[0]
    assert job.next_run_at is not None
    of_job = update(Job).where(Job.id == job.id)
    later = of_job.values(next_run_at=job.next_run_at + timedelta(days=1))
    assert not await wakes.after(change(later), within_seconds=0.5)
    assert not await wakes.after(change(of_job.values(is_active=False)), within_seconds=0.5)
    assert not await wakes.after(make(is_active=False), within_seconds=0.5)
    assert await wakes.after(change(of_job.values(is_active=True)), within_seconds=5)
    assert await wakes.after(change(of_job.values(next_run_at=clock.now())), within_seconds=5)

    async def schedule_retry() -> None:
        async with committing.begin() as session:
            session.add(
                JobExecution(
                    job_id=job.id,
                    status="failed",
                    trigger_type="scheduled",
                    execution_type="webhook",
                    scheduled_for=clock.now(),
                    attempt=1,
                    next_attempt_at=clock.now() + timedelta(seconds=5),
                )
            )

    assert await wakes.after(schedule_retry(), within_seconds=5)


async def test_a_scheduler_process_fires_a_job_another_process_made_due_at_once(
    make_job: JobMaker,
    committing: async_sessionmaker[AsyncSession],
    http_target: HttpTarget,
    database_url: str,
    tmp_path: Path,
) -> None:
    """The scheduler polls every 60 s; the job made due by this process fires within a second."""
    process = SchedulerProcess(
        {
            "DATABASE_URL": database_url,
            "ALLOW_PRIVATE_TARGETS": "true",
            "SCHEDULER_POLL_SECONDS": "60",
            "LOG_LEVEL": "INFO",
        },
        tmp_path / "scheduler.log",
    )
    job = await make_job(**far_future_job(target_url=http_target.url))
    await process.start()
    try:
        await until(lambda: "listening for wake-ups" in process.log(), within_seconds=30)
        await asyncio.sleep(0.5)  # past the pass every (re)connection starts
        async with committing.begin() as session:
            await session.execute(
                update(Job).where(Job.id == job.id).values(next_run_at=datetime.now(UTC))
            )
        committed = time.monotonic()
        await http_target.wait_for_requests(1, within_seconds=10)
        took = time.monotonic() - committed
    finally:
        await process.stop()

    assert took < 1.5, f"{took:.3f} s; log:\n{process.log()}"
    [execution] = await executions_of(committing, job.id)
    assert execution.status == "success"


async def test_the_poll_takes_over_while_the_listener_is_cut_and_it_comes_back(
    make_scheduler: SchedulerMaker,
    make_job: JobMaker,
    committing: async_sessionmaker[AsyncSession],
    http_target: HttpTarget,
    settings: Settings,
    database_url: str,
    clock: FrozenClock,
) -> None:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    # The scheduler's own sessions go straight to the database; only the listener is proxied.
    scheduler = make_scheduler(scheduler_poll_seconds=1.0)
    wakes = Wakes()

    def wake() -> None:
        wakes()
        scheduler.wake()

    listener = WakeupListener(
        settings.model_copy(
            update={"database_url": url.set(port=proxy.port).render_as_string(hide_password=False)}
        ),
        wake,
    )
    listener.start()
    scheduler.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        await proxy.stop()  # the notification connection is lost
        await until(lambda: not listener.connected.is_set(), within_seconds=10)
        wakes.times.clear()

        job = await make_job(target_url=http_target.url, **far_future_job())
        async with committing.begin() as session:
            await session.execute(
                update(Job).where(Job.id == job.id).values(next_run_at=clock.now())
            )
        await http_target.wait_for_requests(1, within_seconds=5)  # by the 1 s poll
        assert wakes.times == []  # no notification could have arrived
        assert not listener.connected.is_set()

        # Back: the listener connects again (and wakes once to catch up), then hears changes.
        assert await wakes.after(proxy.start(), within_seconds=30)
        assert listener.connected.is_set()
        assert await wakes.after(make_job(**far_future_job()), within_seconds=5)
    finally:
        await listener.stop()
        await scheduler.stop()
        await proxy.stop()

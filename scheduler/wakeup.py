"""Cross-process wake-up on PostgreSQL: LISTEN for what the database's triggers NOTIFY.

Triggers (migration 0008) send `cronjob_wakeup` in the transaction that makes work due earlier
than a scheduler may think: a job inserted or activated, its next run moved earlier, a retry
scheduled. Any process may make the change (an API process, the CLI, psql); every scheduler
listening hears it as the change commits and starts a pass. The listener holds a connection of
its own (outside the pool). When that connection is lost, the scheduler keeps its poll
(`SCHEDULER_POLL_SECONDS`) meanwhile and the listener connects again, waking the scheduler once
it is back (what was notified in between is not replayed). SQLite has one scheduler, woken in
its own process (Scheduler.wake_on_new_work).

The same connection listens for `cronjob_cancel` (migration 0012): a run cancelled anywhere is
announced with its id, and the process making its call abandons it at once. Every process
with a dispatcher listens (an API process makes manual runs); a notification lost while the
connection is away is covered by the lease keeper's look at the rows it holds.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import make_url

from core.config import Settings
from core.supervision import SupervisedTask, wait_until_set

logger = logging.getLogger("scheduler.wakeup")

CHANNEL = "cronjob_wakeup"
CANCEL_CHANNEL = "cronjob_cancel"
APPLICATION_NAME = "cronjob-wakeup-listener"
# A cut that never closes the socket (a frozen server, a dropped route) is found by a ping.
PING_INTERVAL_SECONDS = 5.0
RECONNECT_FIRST_DELAY_SECONDS = 0.5
RECONNECT_MAX_DELAY_SECONDS = 10.0


def listener_dsn(database_url: str) -> str:
    """The libpq-style DSN asyncpg takes, from the service's SQLAlchemy URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class WakeupListener:
    """Calls `wake` for every wake-up notification, and once after each (re)connection;
    `on_cancel` with the ids of cancelled runs."""

    def __init__(
        self,
        settings: Settings,
        wake: Callable[[], None],
        on_cancel: Callable[[set[uuid.UUID]], object] | None = None,
    ) -> None:
        self.settings = settings
        self.wake = wake
        self.on_cancel = on_cancel
        self.connected = asyncio.Event()
        self._supervised = SupervisedTask("wake-up listener", self._listen_forever)

    @property
    def is_running(self) -> bool:
        return self._supervised.is_running

    def start(self) -> None:
        self._supervised.start()

    async def stop(self) -> None:
        await self._supervised.stop()

    async def _listen_forever(self) -> None:
        delay = RECONNECT_FIRST_DELAY_SECONDS
        while True:
            try:
                await self._listen_once()
                delay = RECONNECT_FIRST_DELAY_SECONDS
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                logger.warning(
                    "the wake-up listener has no connection (%s); polling every %g s until it "
                    "is back",
                    exc or type(exc).__name__,
                    self.settings.scheduler_poll_seconds,
                    extra={"action": "wakeup.disconnected"},
                )
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_DELAY_SECONDS)

    async def _listen_once(self) -> None:
        """Listen until the connection is lost (returns) or fails (raises)."""
        connection: Any = await asyncpg.connect(
            listener_dsn(self.settings.database_url),
            timeout=self.settings.db_connect_timeout_seconds,
            server_settings={"application_name": APPLICATION_NAME},
        )
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(CHANNEL, self._on_notification)
            if self.on_cancel is not None:
                await connection.add_listener(CANCEL_CHANNEL, self._on_cancel_notification)
            self.connected.set()
            logger.info("listening for wake-ups", extra={"action": "wakeup.listening"})
            self.wake()  # whatever changed while there was no connection
            while not lost.is_set():
                if not await wait_until_set(lost, PING_INTERVAL_SECONDS):
                    await connection.execute(
                        "SELECT 1", timeout=self.settings.db_command_timeout_seconds
                    )
            raise ConnectionResetError("the server closed the connection")
        finally:
            self.connected.clear()
            connection.terminate()

    def _on_notification(self, *_args: object) -> None:
        self.wake()

    def _on_cancel_notification(
        self, _connection: object, _pid: int, _channel: str, payload: str
    ) -> None:
        try:
            execution_id = uuid.UUID(payload)
        except ValueError:  # not ours (anyone may NOTIFY): nothing to abandon
            return
        if self.on_cancel is not None:
            self.on_cancel({execution_id})

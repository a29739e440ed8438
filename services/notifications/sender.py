"""Sends the emails and Slack messages the notifier queued (the `notification_delivery` outbox).

Off the execution path: runs are recorded, and their alerts queued, before anything here
starts. Each pass claims due deliveries per channel in a short transaction (FOR UPDATE SKIP
LOCKED, so any number of workers share them without sending one twice), sends them
concurrently with no transaction open, each within NOTIFICATION_TIMEOUT_SECONDS, and records
each result in a transaction of its own. Channels have separate caps
(NOTIFICATION_CONCURRENCY each): an SMTP server that hangs never holds up Slack, and one slow
message never holds up the others. Failures are logged with the execution id and retried with
backoff up to NOTIFICATION_MAX_ATTEMPTS. Each recorded result is counted in
`cronjobs_notification_deliveries` (core/metrics.py) once its transaction has committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from core import metrics
from core.clock import Clock
from core.config import Settings
from core.enums import DeliveryChannel, DeliveryStatus
from core.supervision import SupervisedTask, wait_until_set
from integrations.channels import DeliveryFailed, email, slack
from integrations.outbound import HttpClient
from services.notifications.outbox import Claim, Delivery, DeliveryService, Settled, SlackTarget
from services.notifications.rules import QUEUED_DELIVERIES

logger = logging.getLogger("services.notifications.sender")

T = TypeVar("T")


class DeliveryWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        http_client: HttpClient,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.http_client = http_client
        self.smtp = email.SmtpServer.from_settings(settings)
        self._in_flight: dict[DeliveryChannel, set[asyncio.Task[None]]] = {
            channel: set() for channel in DeliveryChannel
        }
        self._wake = asyncio.Event()
        self._supervised = SupervisedTask("delivery worker", self._run_forever)

    @property
    def is_running(self) -> bool:
        return self._supervised.is_running

    def start(self) -> None:
        self._supervised.start()

    async def stop(self, grace_seconds: float = 10) -> None:
        """Stop claiming; sends in flight get `grace_seconds` to finish. A send cut short is
        taken up again by a worker once its claim lapses."""
        await self._supervised.stop()
        in_flight = {task for tasks in self._in_flight.values() for task in tasks}
        if in_flight:
            _, pending = await asyncio.wait(in_flight, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    def wake_on_new_deliveries(self, sync_session_class: type[Session]) -> None:
        """Send at once what a session of `sync_session_class` queued, once it commits."""

        def wake_after_commit(session: Session) -> None:
            if session.info.pop(QUEUED_DELIVERIES, False):
                self.wake()

        def forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
            if transaction.parent is None:  # the whole transaction, not a savepoint
                session.info.pop(QUEUED_DELIVERIES, None)

        event.listen(sync_session_class, "after_commit", wake_after_commit)
        event.listen(sync_session_class, "after_soft_rollback", forget_after_rollback)

    async def run_once(self) -> int:
        """Claim what is due and there is room for, send it, and wait for every result;
        returns how many sends were tried."""
        started = await self._start_due()
        await asyncio.gather(*started)
        return len(started)

    async def _run_forever(self) -> None:
        logger.info("delivery worker started", extra={"action": "deliveries.started"})
        while True:
            # Cleared before the pass: an alert queued during the pass still wakes the next one.
            self._wake.clear()
            await self._start_due()
            await wait_until_set(self._wake, self.settings.notification_poll_seconds)

    async def _start_due(self) -> list[asyncio.Task[None]]:
        # Every channel is claimed before any send starts: no result is written while a
        # claim transaction is open (SQLite has one writer).
        claims: list[Claim] = []
        for channel in DeliveryChannel:
            room = self.settings.notification_concurrency - len(self._in_flight[channel])
            if room <= 0:
                continue
            try:
                async with self.sessionmaker.begin() as session:
                    service = DeliveryService(session, self.settings, self.clock)
                    claim = await service.claim(channel, room)
                claims.append(claim)
                if claim.dropped:
                    metrics.DELIVERIES.labels(channel, "dropped").inc(claim.dropped)
            except Exception:  # the database may be away: the next pass tries again
                logger.exception(
                    "could not claim %s deliveries",
                    channel,
                    extra={"action": "deliveries.claim_failed", "channel": str(channel)},
                )
        started: list[asyncio.Task[None]] = []
        for claim in claims:
            if claim.dropped:
                logger.warning(
                    "%d deliveries given up unsent: their channel is off",
                    claim.dropped,
                    extra={"action": "deliveries.dropped"},
                )
            for delivery in claim.deliveries:
                task = asyncio.create_task(
                    self._deliver(delivery, claim.slack), name=f"delivery-{delivery.id}"
                )
                self._in_flight[delivery.channel].add(task)
                task.add_done_callback(self._on_done)
                started.append(task)
        return started

    def _on_done(self, task: asyncio.Task[None]) -> None:
        for tasks in self._in_flight.values():
            tasks.discard(task)
        self._wake.set()  # room for more: a backlog drains without waiting for the poll

    async def _deliver(self, delivery: Delivery, slack_target: SlackTarget | None) -> None:
        try:
            await self._send(delivery, slack_target)
        except DeliveryFailed as exc:
            await self._record_failure(delivery, exc)
        except Exception as exc:  # a bug, not the channel: logged whole, retried the same way
            logger.exception(
                "delivery %s crashed", delivery.id, extra=_log_fields(delivery, "delivery.crashed")
            )
            await self._record_failure(delivery, DeliveryFailed(repr(exc), retryable=True))
        else:
            _count(delivery, await self._record(lambda s: s.record_sent(delivery), delivery))
            logger.info(
                "%s %s for %s sent to %s",
                delivery.channel,
                delivery.kind,
                _cause(delivery),
                delivery.recipient,
                extra=_log_fields(delivery, "delivery.sent"),
            )

    async def _send(self, delivery: Delivery, slack_target: SlackTarget | None) -> None:
        timeout = self.settings.notification_timeout_seconds
        if delivery.channel == DeliveryChannel.EMAIL:
            if self.smtp is None:
                raise DeliveryFailed("email is off: SMTP_HOST is not set", retryable=False)
            headers = {}
            if delivery.job_id is not None:
                headers["X-Cron-Job-Id"] = str(delivery.job_id)
            if delivery.period is not None:
                headers["X-Cron-Digest"] = f"{delivery.kind} {delivery.period}"
            if delivery.execution_id is not None:
                headers["X-Cron-Execution-Id"] = str(delivery.execution_id)
            message = email.build_message(
                sender=self.smtp.sender,
                recipient=delivery.recipient,
                subject=delivery.subject,
                text=delivery.body_text,
                html=delivery.body_html,
                headers=headers,
            )
            await email.send(self.smtp, message, timeout_seconds=timeout)
            return
        if slack_target is None:
            raise DeliveryFailed("Slack is off", retryable=False)
        await slack.post_message(
            self.http_client,
            slack_target.webhook_url,
            delivery.body_text,
            channel=slack_target.channel,
            timeout_seconds=timeout,
        )

    async def _record_failure(self, delivery: Delivery, failure: DeliveryFailed) -> None:
        settled = await self._record(
            lambda service: service.record_failure(
                delivery, failure.reason, retryable=failure.retryable
            ),
            delivery,
        )
        _count(delivery, settled)
        fields = _log_fields(delivery, "delivery.failed")
        description = (
            f"{delivery.channel} {delivery.kind} for {_cause(delivery)} to {delivery.recipient} "
            f"failed (attempt {delivery.attempt} of {self.settings.notification_max_attempts}): "
            f"{failure.reason}"
        )
        if settled is None:
            logger.warning("%s; tried again once its claim lapses", description, extra=fields)
        elif settled.status == DeliveryStatus.PENDING:
            logger.warning("%s; retrying at %s", description, settled.next_attempt_at, extra=fields)
        else:
            logger.error("%s; giving up", description, extra=fields)

    async def _record(
        self, write: Callable[[DeliveryService], Awaitable[T]], delivery: Delivery
    ) -> T | None:
        """Write an attempt's result; if the database is away, the claim lapses and the
        delivery is tried again later (at least once, rather than never)."""
        try:
            async with self.sessionmaker.begin() as session:
                return await write(DeliveryService(session, self.settings, self.clock))
        except Exception:
            logger.exception(
                "could not record the result of delivery %s",
                delivery.id,
                extra=_log_fields(delivery, "delivery.unrecorded"),
            )
            return None


_OUTCOMES = {
    DeliveryStatus.SENT: "sent",
    DeliveryStatus.PENDING: "retry",
    DeliveryStatus.FAILED: "failed",
}


def _count(delivery: Delivery, settled: Settled | None) -> None:
    """Count a recorded result (None: nothing was recorded, the delivery is tried again)."""
    if settled is not None:
        metrics.DELIVERIES.labels(delivery.channel, _OUTCOMES[settled.status]).inc()


def _cause(delivery: Delivery) -> str:
    if delivery.execution_id is not None:
        return f"execution {delivery.execution_id}"
    if delivery.period is not None:
        return f"period {delivery.period}"
    return f"job {delivery.job_id}"


def _log_fields(delivery: Delivery, action: str) -> dict[str, str]:
    return {
        "action": action,
        "job_id": str(delivery.job_id),
        "delivery_id": str(delivery.id),
        "execution_id": str(delivery.execution_id),
        "channel": str(delivery.channel),
    }

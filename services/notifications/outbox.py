"""The outbox's side of sending emails and Slack messages: claiming due deliveries and
recording what each attempt gave, in short transactions of their own (`sender`
does the sending in between, with no transaction open)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, days_ago
from core.config import Settings
from core.enums import DIGEST_KINDS, AlertKind, DeliveryChannel, DeliveryStatus
from models.notification_delivery import NotificationDelivery
from repositories.notification_delivery import NotificationDeliveryRepository
from repositories.slack_settings import SlackSettingsRepository
from repositories.user_preferences import NotificationPreferencesRepository

# The longest wait between two attempts of one delivery.
RETRY_DELAY_CAP_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Delivery:
    """One claimed attempt at sending a message, detached from the session."""

    id: uuid.UUID
    channel: DeliveryChannel
    kind: AlertKind
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    execution_id: uuid.UUID | None
    job_id: uuid.UUID | None
    attempt: int
    period: str | None = None

    @classmethod
    def of(cls, row: NotificationDelivery) -> Delivery:
        return cls(
            id=row.id,
            channel=row.channel,
            kind=row.kind,
            recipient=row.recipient,
            subject=row.subject,
            body_text=row.body_text,
            body_html=row.body_html,
            execution_id=row.execution_id,
            job_id=row.job_id,
            attempt=row.attempts,
            period=row.period,
        )


@dataclass(frozen=True, slots=True)
class SlackTarget:
    webhook_url: str = field(repr=False)  # a credential
    channel: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    deliveries: list[Delivery]
    slack: SlackTarget | None = None
    dropped: int = 0
    """Deliveries marked failed instead: their channel was turned off after they were queued."""


@dataclass(frozen=True, slots=True)
class Settled:
    status: DeliveryStatus
    next_attempt_at: datetime | None = None


class DeliveryService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.deliveries = NotificationDeliveryRepository(session)
        self.slack_settings = SlackSettingsRepository(session)
        self.preferences = NotificationPreferencesRepository(session)

    async def claim(self, channel: DeliveryChannel, limit: int) -> Claim:
        """Take up to `limit` due deliveries of `channel` for one attempt each.

        Claimed rows count the attempt and are held until the claim lapses (well after the
        send's deadline): another worker skips them meanwhile, and takes them over if this
        one dies before recording the result.
        """
        now = self.clock.now()
        rows = await self.deliveries.lock_due(channel, now, limit)
        if not rows:
            return Claim([])
        slack = await self._slack_target() if channel == DeliveryChannel.SLACK else None
        off = self._channel_off(channel, slack)
        lease_until = now + timedelta(seconds=2 * self.settings.notification_timeout_seconds + 30)
        unwanted = await self._digests_switched_off(rows)
        claimed: list[Delivery] = []
        dropped = 0
        for row in rows:
            if row.id in unwanted:
                # Its user switched the digest off (or was deactivated) before it went out.
                row.status = DeliveryStatus.FAILED
                row.last_error = f"not sent: {row.kind} was switched off before it was sent"
                row.updated_at = now
                dropped += 1
                continue
            if off is not None or row.attempts >= self.settings.notification_max_attempts:
                # Off, or its worker died during the last attempt: nothing more to try.
                row.status = DeliveryStatus.FAILED
                row.last_error = off or row.last_error or "no attempt left"
                row.updated_at = now  # when it settled: retention counts from here
                dropped += 1
                continue
            row.attempts += 1
            row.next_attempt_at = lease_until
            claimed.append(Delivery.of(row))
        await self.session.flush()
        return Claim(claimed, slack, dropped)

    async def record_sent(self, delivery: Delivery) -> Settled | None:
        """Mark the delivery sent; None when another worker has taken it over meanwhile."""
        now = self.clock.now()
        written = await self.deliveries.settle(
            delivery.id,
            delivery.attempt,
            {"status": DeliveryStatus.SENT, "sent_at": now, "last_error": None, "updated_at": now},
        )
        return Settled(DeliveryStatus.SENT) if written else None

    async def record_failure(
        self, delivery: Delivery, reason: str, *, retryable: bool
    ) -> Settled | None:
        """Schedule the next attempt (backoff doubling from NOTIFICATION_RETRY_BASE_SECONDS),
        or give up: the channel refused for good, or NOTIFICATION_MAX_ATTEMPTS are spent. None
        when another worker has taken the delivery over meanwhile (nothing written)."""
        now = self.clock.now()
        values: dict[str, object] = {"last_error": reason[:2000], "updated_at": now}
        if retryable and delivery.attempt < self.settings.notification_max_attempts:
            delay = min(
                self.settings.notification_retry_base_seconds * 2 ** (delivery.attempt - 1),
                RETRY_DELAY_CAP_SECONDS,
            )
            settled = Settled(DeliveryStatus.PENDING, now + timedelta(seconds=delay))
            values["next_attempt_at"] = settled.next_attempt_at
        else:
            settled = Settled(DeliveryStatus.FAILED)
            values["status"] = DeliveryStatus.FAILED
        written = await self.deliveries.settle(delivery.id, delivery.attempt, values)
        return settled if written else None

    async def purge_batch(self, retention_days: int, batch_size: int) -> int:
        """Delete up to `batch_size` deliveries sent or given up more than `retention_days`
        ago; pending ones are never purged. A digest's row is its "already decided" mark only
        while its period is due (the day after it), well within the shortest retention."""
        return await self.deliveries.purge_batch(days_ago(self.clock, retention_days), batch_size)

    async def _digests_switched_off(self, rows: Sequence[NotificationDelivery]) -> set[uuid.UUID]:
        """The digests among `rows` whose user no longer wants them."""
        digests = [row for row in rows if row.kind in DIGEST_KINDS and row.user_id is not None]
        if not digests:
            return set()
        wanted = await self.preferences.wanted_digests(
            {(row.user_id, row.kind) for row in digests if row.user_id is not None}
        )
        return {row.id for row in digests if (row.user_id, row.kind) not in wanted}

    async def _slack_target(self) -> SlackTarget | None:
        settings = await self.slack_settings.get_enabled()
        if settings is None or settings.webhook_url is None:
            return None
        return SlackTarget(settings.webhook_url, settings.channel)

    def _channel_off(self, channel: DeliveryChannel, slack: SlackTarget | None) -> str | None:
        if channel == DeliveryChannel.EMAIL and self.settings.smtp_host is None:
            return "email is off: SMTP_HOST is not set"
        if channel == DeliveryChannel.SLACK and slack is None:
            return "Slack was turned off before the message was sent"
        return None

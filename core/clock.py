"""Injectable time source: the scheduler and every rule that depends on "now" read it from here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def days_ago(clock: Clock, days: int) -> datetime:
    """The instant `days` days before the clock's now: a retention window's start."""
    return clock.now() - timedelta(days=days)

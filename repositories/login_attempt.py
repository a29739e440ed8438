from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from models.login_attempt import LoginAttempt
from repositories.base import BaseRepository


class LoginAttemptRepository(BaseRepository[LoginAttempt]):
    """Failed logins, counted per account and per client address."""

    model = LoginAttempt

    async def nth_latest_for_account(
        self, account: str, n: int, since: datetime
    ) -> datetime | None:
        return await self._nth_latest_since(LoginAttempt.account, account, n, since)

    async def nth_latest_from_address(
        self, client_address: str, n: int, since: datetime
    ) -> datetime | None:
        return await self._nth_latest_since(LoginAttempt.client_address, client_address, n, since)

    async def _nth_latest_since(
        self, column: InstrumentedAttribute[str], value: str, n: int, since: datetime
    ) -> datetime | None:
        """When the `n`-th most recent failure with `column == value` after `since` happened,
        or None when there were fewer than `n`. Once that failure leaves the window fewer than
        `n` remain, so it answers both "is the limit reached" and "when does it lift"."""
        statement = (
            select(LoginAttempt.attempted_at)
            .where(column == value, LoginAttempt.attempted_at > since)
            .order_by(LoginAttempt.attempted_at.desc())
            .offset(n - 1)
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def clear_account(self, account: str) -> int:
        return await self.delete_where(LoginAttempt.account == account)

    async def purge_before(self, cutoff: datetime) -> int:
        return await self.delete_where(LoginAttempt.attempted_at <= cutoff)

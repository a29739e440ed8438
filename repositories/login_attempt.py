from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from models.login_attempt import LoginAttempt
from repositories.base import BaseRepository


class LoginAttemptRepository(BaseRepository[LoginAttempt]):
    """Failed logins, counted per account and per client address."""

    model = LoginAttempt

    async def lock_counts(self, account: str, client_address: str) -> None:
        """Hold, until the transaction ends, the right to count and add failures of `account`
        and of `client_address`: across processes, a transaction that counts, then adds, sees
        every failure added before it.

        PostgreSQL: transaction-level advisory locks, the account's first and the address's
        second in every transaction, so two of them never wait on each other in a cycle.
        SQLite needs none: every transaction there holds the one write lock (core/db.py).
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for namespace, value in ((_ACCOUNT_LOCKS, account), (_ADDRESS_LOCKS, client_address)):
            await self.session.execute(select(func.pg_advisory_xact_lock(namespace, _key(value))))

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


# The two-key advisory locks of each kind live in a namespace of their own.
_ACCOUNT_LOCKS = 0x4C4F4731  # "LOG1"
_ADDRESS_LOCKS = 0x4C4F4732  # "LOG2"


def _key(value: str) -> int:
    """A stable signed 32-bit key for `value` (a collision only makes two names wait on each
    other)."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=4).digest(), signed=True)

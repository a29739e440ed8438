from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.user import User
from repositories.refresh_token import RefreshTokenRepository
from tests.support.clock import FrozenClock


async def _issue(repository: RefreshTokenRepository, user: User, clock: FrozenClock) -> uuid.UUID:
    jti = uuid.uuid4()
    await repository.create(
        {
            "jti": jti,
            "user_id": user.id,
            "issued_at": clock.now(),
            "expires_at": clock.now() + timedelta(days=7),
        }
    )
    return jti


async def test_a_refresh_token_is_consumed_once(
    session: AsyncSession, member: User, clock: FrozenClock
) -> None:
    repository = RefreshTokenRepository(session)
    jti = await _issue(repository, member, clock)

    assert await repository.consume(jti) is True
    assert await repository.consume(jti) is False


async def test_revoke_all_and_purge_touch_only_their_rows(
    session: AsyncSession, member: User, viewer: User, clock: FrozenClock
) -> None:
    repository = RefreshTokenRepository(session)
    mine = [await _issue(repository, member, clock) for _ in range(2)]
    theirs = await _issue(repository, viewer, clock)

    assert await repository.revoke_all(member.id) == 2
    assert await repository.purge_expired(clock.now() + timedelta(days=6)) == 0
    assert await repository.purge_expired(clock.now() + timedelta(days=7)) == 1
    assert not any([await repository.consume(jti) for jti in (*mine, theirs)])

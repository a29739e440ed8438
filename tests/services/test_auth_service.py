from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import TokenType
from core.errors import Unauthorized
from core.security import TokenClaims, create_access_token, decode_token
from models.user import User
from services.auth import AuthService
from tests.support.clock import FrozenClock


def _claims(settings: Settings, clock: FrozenClock, user: User) -> TokenClaims:
    token = create_access_token(user.id, settings, clock.now()).token
    return decode_token(token, TokenType.ACCESS, settings, clock.now())


async def test_a_second_logout_with_the_same_token_is_refused(
    session: AsyncSession, settings: Settings, clock: FrozenClock, member: User
) -> None:
    # Two logouts racing with one token: the second finds the revocation row already there.
    claims = _claims(settings, clock, member)
    service = AuthService(session, settings, clock)
    await service.logout(member, claims, None)

    with pytest.raises(Unauthorized) as raised:
        await service.logout(member, claims, None)
    assert raised.value.title == "Token revoked"


async def test_a_revoked_access_token_no_longer_finds_its_user(
    session: AsyncSession, settings: Settings, clock: FrozenClock, member: User
) -> None:
    claims = _claims(settings, clock, member)
    service = AuthService(session, settings, clock)
    assert await service.current_user(claims) is member

    await service.logout(member, claims, None)

    with pytest.raises(Unauthorized):
        await service.current_user(claims)

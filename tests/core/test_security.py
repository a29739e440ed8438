from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from jose import jwt
from passlib.hash import pbkdf2_sha256

from core.config import Settings
from core.enums import TokenType
from core.errors import Unauthorized
from core.security import (
    create_access_token,
    create_refresh_token,
    decode_token,
    hash_password,
    verify_password,
)
from tests.support.clock import FrozenClock

PASSWORD = "correct-horse-9"


# --- passwords ---------------------------------------------------------------------------------


async def test_new_hashes_are_argon2_and_verify() -> None:
    password_hash = await hash_password(PASSWORD)

    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert await verify_password(PASSWORD, password_hash) == (True, None)
    assert await verify_password("wrong-horse-9", password_hash) == (False, None)


async def test_pbkdf2_hashes_verify_and_come_back_as_argon2() -> None:
    legacy = pbkdf2_sha256.hash(PASSWORD)

    matches, new_hash = await verify_password(PASSWORD, legacy)

    assert matches
    assert new_hash is not None
    assert new_hash.startswith("$argon2id$")
    assert await verify_password(PASSWORD, new_hash) == (True, None)
    # A wrong password never earns a re-hash.
    assert await verify_password("wrong-horse-9", legacy) == (False, None)


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$garbage"])
async def test_an_unusable_stored_hash_matches_nothing(stored: str) -> None:
    assert await verify_password(PASSWORD, stored) == (False, None)


async def test_hashing_leaves_the_event_loop_free() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.002)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await hash_password(PASSWORD)  # argon2 at production cost: tens of milliseconds
    finally:
        ticker.cancel()

    # On the loop, the hash would have blocked the ticker for its whole duration.
    assert ticks >= 3


# --- tokens ------------------------------------------------------------------------------------


def _claims(token: str, settings: Settings) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, settings.jwt_secret_key, algorithms=["HS256"], options={"verify_exp": False}
    )
    return claims


def test_access_token_claims(settings: Settings, clock: FrozenClock) -> None:
    user_id = uuid.uuid4()

    issued = create_access_token(user_id, settings, clock.now())

    claims = _claims(issued.token, settings)
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"
    assert claims["sub"] == str(user_id)
    assert claims["type"] == "access"
    assert claims["jti"] == str(issued.jti)
    assert claims["iat"] == int(clock.now().timestamp())
    assert claims["exp"] - claims["iat"] == settings.access_token_expire_minutes * 60 == 30 * 60
    assert issued.expires_at == clock.now() + timedelta(minutes=30)


def test_refresh_token_lives_seven_days(settings: Settings, clock: FrozenClock) -> None:
    issued = create_refresh_token(uuid.uuid4(), settings, clock.now())

    claims = _claims(issued.token, settings)
    assert claims["type"] == "refresh"
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600


def test_lifetimes_follow_the_settings(settings: Settings, clock: FrozenClock) -> None:
    custom = settings.model_copy(
        update={"access_token_expire_minutes": 5, "refresh_token_expire_days": 1}
    )

    access = _claims(create_access_token(uuid.uuid4(), custom, clock.now()).token, custom)
    refresh = _claims(create_refresh_token(uuid.uuid4(), custom, clock.now()).token, custom)

    assert access["exp"] - access["iat"] == 300
    assert refresh["exp"] - refresh["iat"] == 86400


def test_every_token_has_its_own_jti(settings: Settings, clock: FrozenClock) -> None:
    user_id = uuid.uuid4()

    first = create_access_token(user_id, settings, clock.now())
    second = create_access_token(user_id, settings, clock.now())

    assert first.jti != second.jti
    assert first.token != second.token


def test_decode_returns_the_claims(settings: Settings, clock: FrozenClock) -> None:
    user_id = uuid.uuid4()
    issued = create_refresh_token(user_id, settings, clock.now())

    claims = decode_token(issued.token, TokenType.REFRESH, settings, clock.now())

    assert claims.user_id == user_id
    assert claims.jti == issued.jti
    assert claims.token_type is TokenType.REFRESH
    assert claims.issued_at == clock.now()
    assert claims.expires_at == issued.expires_at


def test_expiry_is_judged_by_the_given_clock(settings: Settings, clock: FrozenClock) -> None:
    issued = create_access_token(uuid.uuid4(), settings, clock.now())

    just_before = clock.now() + timedelta(minutes=30) - timedelta(seconds=1)
    assert decode_token(issued.token, TokenType.ACCESS, settings, just_before).jti == issued.jti
    with pytest.raises(Unauthorized) as raised:
        decode_token(issued.token, TokenType.ACCESS, settings, clock.now() + timedelta(minutes=30))
    assert raised.value.title == "Token expired"


def test_tokens_are_refused_where_the_other_type_is_expected(
    settings: Settings, clock: FrozenClock
) -> None:
    access = create_access_token(uuid.uuid4(), settings, clock.now())
    refresh = create_refresh_token(uuid.uuid4(), settings, clock.now())

    with pytest.raises(Unauthorized):
        decode_token(access.token, TokenType.REFRESH, settings, clock.now())
    with pytest.raises(Unauthorized):
        decode_token(refresh.token, TokenType.ACCESS, settings, clock.now())


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _good_claims(clock: FrozenClock) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    return {
        "sub": str(uuid.uuid4()),
        "type": "access",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
    }


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda s, c: _unsigned({"alg": "none", "typ": "JWT"}, c), id="alg-none"),
        pytest.param(lambda s, c: jwt.encode(c, "some-other-secret"), id="wrong-signature"),
        pytest.param(
            lambda s, c: jwt.encode(c, s.jwt_secret_key, algorithm="HS512"), id="other-algorithm"
        ),
        pytest.param(
            lambda s, c: jwt.encode({k: v for k, v in c.items() if k != "exp"}, s.jwt_secret_key),
            id="missing-exp",
        ),
        pytest.param(
            lambda s, c: jwt.encode({**c, "exp": "tomorrow"}, s.jwt_secret_key), id="text-exp"
        ),
        pytest.param(
            lambda s, c: jwt.encode({k: v for k, v in c.items() if k != "jti"}, s.jwt_secret_key),
            id="missing-jti",
        ),
        pytest.param(
            lambda s, c: jwt.encode({**c, "sub": "admin"}, s.jwt_secret_key), id="sub-not-an-id"
        ),
        pytest.param(
            lambda s, c: jwt.encode({**c, "type": "god"}, s.jwt_secret_key), id="unknown-type"
        ),
        pytest.param(lambda s, c: "not.a.token", id="garbage"),
    ],
)
def test_forged_and_malformed_tokens_are_refused(
    forge: Any, settings: Settings, clock: FrozenClock
) -> None:
    token = forge(settings, _good_claims(clock))

    with pytest.raises(Unauthorized) as raised:
        decode_token(token, TokenType.ACCESS, settings, clock.now())
    assert raised.value.title == "Invalid token"


def test_a_well_formed_token_passes_the_forgery_checks(
    settings: Settings, clock: FrozenClock
) -> None:
    # The control for the test above: the same claims, correctly signed, are accepted.
    claims = _good_claims(clock)

    decoded = decode_token(
        jwt.encode(claims, settings.jwt_secret_key), TokenType.ACCESS, settings, clock.now()
    )

    assert str(decoded.jti) == claims["jti"]

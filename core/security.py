"""Passwords and tokens. The only module that knows about passlib and python-jose, so either can
be swapped here alone.

Hashing is CPU- and memory-bound (argon2), so it always runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from jose import JWTError, jwt
from passlib.context import CryptContext

from core.config import Settings
from core.enums import TokenType
from core.errors import Unauthorized

# Pinned: the algorithm named in a token's header is never trusted (no `none`, no key confusion).
JWT_ALGORITHM = "HS256"

# argon2 for every new hash; pbkdf2_sha256 hashes (the Flask service's) still verify and are
# replaced on the next successful login.
_passwords = CryptContext(schemes=["argon2", "pbkdf2_sha256"], deprecated="auto")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_passwords.hash, password)


async def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a fresh hash when the stored one is outdated
    (older scheme or weaker parameters)."""
    try:
        return await asyncio.to_thread(_passwords.verify_and_update, password, password_hash)
    except ValueError:  # an unknown or malformed stored hash matches nothing
        return False, None


async def dummy_verify() -> None:
    """Spend the time of one verification, so an unknown username answers as slowly as a known
    one with a wrong password."""
    await asyncio.to_thread(_passwords.dummy_verify)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    token_type: TokenType
    jti: uuid.UUID
    issued_at: datetime
    expires_at: datetime


def create_access_token(user_id: uuid.UUID, settings: Settings, now: datetime) -> IssuedToken:
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    return _create_token(user_id, TokenType.ACCESS, lifetime, settings, now)


def create_refresh_token(user_id: uuid.UUID, settings: Settings, now: datetime) -> IssuedToken:
    lifetime = timedelta(days=settings.refresh_token_expire_days)
    return _create_token(user_id, TokenType.REFRESH, lifetime, settings, now)


def _create_token(
    user_id: uuid.UUID,
    token_type: TokenType,
    lifetime: timedelta,
    settings: Settings,
    now: datetime,
) -> IssuedToken:
    issued_at = int(now.timestamp())
    expires_at = issued_at + int(lifetime.total_seconds())
    jti = uuid.uuid4()
    claims = {
        "sub": str(user_id),
        "type": token_type.value,
        "jti": str(jti),
        "iat": issued_at,
        "exp": expires_at,
    }
    token = jwt.encode(claims, settings.jwt_secret_key, algorithm=JWT_ALGORITHM)
    return IssuedToken(token=token, jti=jti, expires_at=datetime.fromtimestamp(expires_at, UTC))


def decode_token(
    token: str, expected_type: TokenType, settings: Settings, now: datetime
) -> TokenClaims:
    """Verify the signature and every claim, with expiry judged by the caller's clock.

    Raises `Unauthorized` for anything short of a well-formed, unexpired token of
    `expected_type`: an access token is never accepted as a refresh token, nor the reverse.
    """
    decoded = _verified_claims(token, settings.jwt_secret_key)
    if decoded.token_type is not expected_type:
        raise _invalid_token()
    if decoded.expires_at <= now:
        raise Unauthorized("The token has expired.", title="Token expired")
    return decoded


@lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str) -> TokenClaims:
    """The claims of a token whose signature verifies under `secret`, remembered per token:
    every request presents the same access token again and again, and verifying it (jose's
    HMAC and JSON) cost about 50 µs of CPU each time. What depends on the request (the
    type wanted, expiry against the caller's clock) is checked by the caller every time; a
    token that fails raises, and failures are not remembered."""
    try:
        # jose would judge `exp` by the system clock; decode_token checks it against `now`.
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"verify_exp": False}
        )
    except JWTError as exc:
        raise _invalid_token() from exc
    try:
        return TokenClaims(
            user_id=uuid.UUID(claims["sub"]),
            token_type=TokenType(claims["type"]),
            jti=uuid.UUID(claims["jti"]),
            issued_at=_timestamp(claims["iat"]),
            expires_at=_timestamp(claims["exp"]),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise _invalid_token() from exc


def _timestamp(value: object) -> datetime:
    # bool is an int subclass; a JSON `true` is not a time.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("a NumericDate claim must be an integer")
    return datetime.fromtimestamp(value, UTC)


def _invalid_token() -> Unauthorized:
    return Unauthorized("The token is invalid.", title="Invalid token")


# --- API keys ------------------------------------------------------------------------------------

API_KEY_PREFIX = "cj_"
# "cj_" and the first 8 characters of the random part: enough to tell keys apart in a listing,
# far too little to help guess the remaining 235 bits.
API_KEY_SHOWN_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8


def generate_api_key() -> str:
    """`cj_` and 32 random bytes, URL-safe base64 (43 characters, no padding)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """SHA-256 of the key, hex. Deliberately a fast hash, not argon2 like passwords: a slow
    hash protects secrets people choose (few bits, guessable), while an API key carries 256
    random bits, so no dictionary or brute-force search over its hash is feasible however fast
    the hash is. A fast, deterministic hash lets every request find its key by an indexed
    equality lookup (no per-request argon2 costing ~50 ms of CPU, no scan over candidate rows,
    no timing difference from comparing strings in Python). Unkeyed, so rotating
    JWT_SECRET_KEY does not invalidate every key."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)

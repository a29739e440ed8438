"""Login, the login throttle, token rotation and revocation, and who the caller is.

Every decision is taken against the database, so it holds across processes: issued refresh
tokens, revoked access tokens and failed logins are rows.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.config import Settings
from core.enums import AuditAction, AuditResource, TokenType
from core.errors import Forbidden, TooManyRequests, Unauthorized
from core.security import (
    IssuedToken,
    TokenClaims,
    create_access_token,
    create_refresh_token,
    decode_token,
    dummy_verify,
    hash_api_key,
    looks_like_api_key,
    verify_password,
)
from models.api_key import ApiKey
from models.login_attempt import LoginAttempt
from models.user import User
from repositories.api_key import ApiKeyRepository
from repositories.base import UniqueViolation
from repositories.login_attempt import LoginAttemptRepository
from repositories.refresh_token import RefreshTokenRepository
from repositories.revoked_token import RevokedTokenRepository
from repositories.user import UserRepository
from services.audit import AuditService

logger = logging.getLogger("services.auth")


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user, and either the access token's claims or the API key used."""

    user: User
    claims: TokenClaims | None = None
    api_key: ApiKey | None = None


# `last_used_at` of a key is written at most this often (no write per request).
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User
    tokens: TokenPair


class AuthService:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        *,
        audit: AuditService | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.audit = audit or AuditService(session, clock)
        self.users = UserRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.revoked_tokens = RevokedTokenRepository(session)
        self.attempts = LoginAttemptRepository(session)
        self.api_keys = ApiKeyRepository(session)

    # --- login ---------------------------------------------------------------------------------

    async def login(self, login: str, password: str, client_address: str) -> LoginResult:
        """Check the credentials and issue an access and a refresh token."""
        user = await self._check_credentials(login, password, client_address)
        return LoginResult(user=user, tokens=await self._issue_pair(user))

    async def login_for_access_token(
        self, login: str, password: str, client_address: str
    ) -> IssuedToken:
        """The OAuth2 password flow (Swagger's Authorize button): an access token only."""
        user = await self._check_credentials(login, password, client_address)
        return create_access_token(user.id, self.settings, self.clock.now())

    async def _check_credentials(self, login: str, password: str, client_address: str) -> User:
        """The throttle holds under any concurrency, across processes: a password is checked
        only after its attempt is stored as a failure, in a transaction that counted the
        failures before it under a lock (`_reserve_attempt`). So at most LOGIN_MAX_FAILURES
        (per account) and LOGIN_MAX_FAILURES_PER_ADDRESS checks run within the window, however
        many requests arrive at once; a correct password then takes the failure back.

        The reservation commits before the check, so no transaction (no lock, and on SQLite not
        the database's one write lock) is held during the deliberately slow argon2 check:
        locking the count through the check instead would queue every login from one address
        (an office behind NAT) behind each other's hashing. Committing here is this service's
        own decision, not the request's: the attempt must count even if the request fails.
        """
        now = self.clock.now()
        user = await self.users.get_by_login(login)
        # Failures count per account, whichever of its names was typed; unknown names count
        # too, so throttling does not reveal which accounts exist.
        account = str(user.id) if user is not None else login.lower()
        try:
            attempt = await self._reserve_attempt(account, client_address, now)
        except TooManyRequests as exc:
            await self.audit.record(
                AuditAction.LOGIN_THROTTLED,
                AuditResource.USER,
                user.id if user is not None else None,
                details={"login": login},
            )
            # The refusal's audit entry stands although the request fails.
            raise TooManyRequests(
                exc.message,
                retry_after_seconds=exc.retry_after_seconds,
                title=exc.title,
                keep_changes=True,
            ) from None
        await self.session.commit()

        if user is None:
            await dummy_verify()
            matches, new_hash = False, None
        else:
            matches, new_hash = await verify_password(password, user.password_hash)
        if user is None or not matches:
            logger.info(
                "login failed from %s",
                client_address,
                extra={"user_id": str(user.id) if user is not None else None},
            )
            # The reserved attempt, already committed, is the failure that counts.
            raise Unauthorized("Invalid email/username or password", title="Invalid credentials")
        if not user.is_active:
            await self.attempts.delete(attempt)
            raise Forbidden(
                "This account is deactivated.", title="Account inactive", keep_changes=True
            )

        if new_hash is not None:
            await self.users.update(user, {"password_hash": new_hash})
        await self.attempts.clear_account(account)
        await self._purge_expired(now)
        await self.audit.record(
            AuditAction.LOGIN_SUCCEEDED, AuditResource.USER, user.id, actor_user_id=user.id
        )
        logger.info("login succeeded for user %s", user.id, extra={"user_id": str(user.id)})
        return user

    async def _reserve_attempt(
        self, account: str, client_address: str, now: datetime
    ) -> LoginAttempt:
        """Refuse when the account or the address is at its limit; else store this attempt as
        a failure. Count and insert are one step for every concurrent login of the account or
        address (`lock_counts`)."""
        await self.attempts.lock_counts(account, client_address)
        window = timedelta(seconds=self.settings.login_window_seconds)
        since = now - window
        limit_reached_at = await self.attempts.nth_latest_for_account(
            account, self.settings.login_max_failures, since
        ) or await self.attempts.nth_latest_from_address(
            client_address, self.settings.login_max_failures_per_address, since
        )
        if limit_reached_at is not None:
            raise _throttled(limit_reached_at + window - now)
        return await self.attempts.create(
            {"account": account, "client_address": client_address, "attempted_at": now}
        )

    # --- tokens --------------------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair; the one presented stops working (rotation).

        A refresh token presented a second time was copied: every refresh token of its user is
        revoked, so whoever holds a copy has to log in again; the error keeps that revocation
        (`keep_changes`).
        """
        claims = decode_token(refresh_token, TokenType.REFRESH, self.settings, self.clock.now())
        user = await self.users.get(claims.user_id)
        if user is None or not user.is_active:
            raise _unknown_or_inactive_user()
        if not await self.refresh_tokens.consume(claims.jti):
            revoked = await self.refresh_tokens.revoke_all(user.id)
            logger.warning(
                "refresh token reused for user %s; revoked its %d other refresh tokens",
                user.id,
                revoked,
                extra={"user_id": str(user.id)},
            )
            raise Unauthorized(
                "The refresh token has been revoked.",
                title="Token revoked",
                keep_changes=True,  # the revocation of every copy must stand
            )
        return await self._issue_pair(user)

    async def authenticate(self, credential: str, client_address: str) -> Principal:
        """The caller behind an `Authorization: Bearer` credential: an access token (JWT) or
        an API key (`cj_…`)."""
        if looks_like_api_key(credential):
            return await self._authenticate_api_key(credential, client_address)
        claims = decode_token(credential, TokenType.ACCESS, self.settings, self.clock.now())
        return Principal(user=await self.current_user(claims), claims=claims)

    async def _authenticate_api_key(self, key: str, client_address: str) -> Principal:
        """A key acts as its user, loaded now with the key (one query): a revoked key (its row
        is gone), an expired one, or one whose user is deactivated or deleted stops at once.

        A key that matches nothing counts as a failed login from the address, so guessing keys
        runs into the same per-address throttle as guessing passwords (a 429 once the address
        is at LOGIN_MAX_FAILURES_PER_ADDRESS). Valid keys are not counted and not refused, so
        the happy path costs no throttle query.
        """
        now = self.clock.now()
        found = await self.api_keys.find_with_user(hash_api_key(key))
        if found is None or (found[0].expires_at is not None and found[0].expires_at <= now):
            await self._count_failed_key(client_address, now)
            raise Unauthorized(
                "The API key is invalid, revoked or expired.",
                title="Invalid API key",
                keep_changes=True,  # the failure counts towards the address throttle
            )
        api_key, user = found
        if not user.is_active:
            raise _unknown_or_inactive_user()
        if api_key.last_used_at is None or api_key.last_used_at <= now - API_KEY_TOUCH_INTERVAL:
            await self.api_keys.touch(api_key.id, now, now - API_KEY_TOUCH_INTERVAL)
            api_key.last_used_at = now
        return Principal(user=user, api_key=api_key)

    async def _count_failed_key(self, client_address: str, now: datetime) -> None:
        await self.attempts.lock_counts(_API_KEY_ACCOUNT, client_address)
        window = timedelta(seconds=self.settings.login_window_seconds)
        limit_reached_at = await self.attempts.nth_latest_from_address(
            client_address, self.settings.login_max_failures_per_address, now - window
        )
        if limit_reached_at is not None:
            raise _throttled(limit_reached_at + window - now)
        await self.attempts.create(
            {"account": _API_KEY_ACCOUNT, "client_address": client_address, "attempted_at": now}
        )

    async def current_user(self, claims: TokenClaims) -> User:
        """The user an access token speaks for, loaded now: deactivation, deletion and role
        changes apply to the very next request."""
        user = await self.users.get_unless_revoked(claims.user_id, claims.jti)
        if user is None or not user.is_active:
            raise _unknown_or_inactive_user()
        return user

    async def logout(self, user: User, access: TokenClaims, refresh_token: str | None) -> None:
        """Revoke the access token in use and, when given, the user's refresh token.

        A refresh token that does not verify, or is someone else's, is ignored: it already works
        nowhere, or is not the caller's to revoke.
        """
        now = self.clock.now()
        try:
            await self.revoked_tokens.create(
                {
                    "jti": access.jti,
                    "user_id": user.id,
                    "token_type": TokenType.ACCESS,
                    "expires_at": access.expires_at,
                    "revoked_at": now,
                }
            )
        except UniqueViolation as exc:  # a concurrent logout with the same token won
            raise Unauthorized("The token has been revoked.", title="Token revoked") from exc
        if refresh_token is not None:
            try:
                refresh = decode_token(refresh_token, TokenType.REFRESH, self.settings, now)
            except Unauthorized:
                refresh = None
            if refresh is not None and refresh.user_id == user.id:
                await self.refresh_tokens.consume(refresh.jti)
        await self._purge_expired(now)
        logger.info("user %s logged out", user.id, extra={"user_id": str(user.id)})

    async def _issue_pair(self, user: User) -> TokenPair:
        now = self.clock.now()
        access = create_access_token(user.id, self.settings, now)
        refresh = create_refresh_token(user.id, self.settings, now)
        await self.refresh_tokens.create(
            {
                "jti": refresh.jti,
                "user_id": user.id,
                "issued_at": now,
                "expires_at": refresh.expires_at,
            }
        )
        return TokenPair(access=access, refresh=refresh)

    async def _purge_expired(self, now: datetime) -> None:
        """Drop rows that can no longer matter. Done on successful logins and logouts, which
        are frequent enough to keep the tables small and rare enough to cost nothing."""
        await self.revoked_tokens.purge_expired(now)
        await self.refresh_tokens.purge_expired(now)
        await self.attempts.purge_before(
            now - timedelta(seconds=self.settings.login_window_seconds)
        )


def _unknown_or_inactive_user() -> Unauthorized:
    return Unauthorized(
        "The token has been revoked, or its user no longer exists or is deactivated.",
        title="Invalid token",
    )


# The account under which failed API-key lookups are stored: they count per address only.
_API_KEY_ACCOUNT = "api-key"


def _throttled(wait: timedelta) -> TooManyRequests:
    retry_after = math.ceil(wait.total_seconds())
    return TooManyRequests(
        f"Too many failed logins; try again in {retry_after} seconds.",
        retry_after_seconds=retry_after,
        title="Too many login attempts",
    )

"""API keys: create (the key is returned once), list, revoke."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.enums import AuditAction, AuditResource
from core.errors import NotFound
from core.security import API_KEY_SHOWN_PREFIX_LENGTH, generate_api_key, hash_api_key
from models.api_key import ApiKey
from models.user import User
from repositories.api_key import ApiKeyRepository
from schemas.api_key import ApiKeyCreate
from services import authz
from services.audit import AuditService

logger = logging.getLogger("services.api_key")


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    api_key: ApiKey
    key: str  # the only time the key exists outside its holder


class ApiKeyService:
    def __init__(
        self, session: AsyncSession, clock: Clock, *, audit: AuditService | None = None
    ) -> None:
        self.clock = clock
        self.api_keys = ApiKeyRepository(session)
        self.audit = audit or AuditService(session, clock)

    async def create(
        self, actor: User, data: ApiKeyCreate, *, used_key: ApiKey | None
    ) -> CreatedApiKey:
        """`used_key`: the key the request came with, if any; keys cannot make keys."""
        authz.refuse_api_key(used_key, "create API keys")
        now = self.clock.now()
        key = generate_api_key()
        expires_at = (
            now + timedelta(days=data.expires_in_days) if data.expires_in_days is not None else None
        )
        api_key = await self.api_keys.create(
            {
                "user_id": actor.id,
                "name": data.name,
                "scope": data.scope,
                "prefix": key[:API_KEY_SHOWN_PREFIX_LENGTH],
                "key_hash": hash_api_key(key),
                "created_at": now,
                "expires_at": expires_at,
                "last_used_at": None,
            }
        )
        await self.audit.record(
            AuditAction.API_KEY_CREATED,
            AuditResource.API_KEY,
            api_key.id,
            details=_described(api_key),
        )
        logger.info(
            "API key %s (%s) created for user %s",
            api_key.id,
            api_key.scope,
            actor.id,
            extra={"user_id": str(actor.id)},
        )
        return CreatedApiKey(api_key=api_key, key=key)

    async def list(self, actor: User, *, all_users: bool) -> Sequence[ApiKey]:
        if all_users:
            authz.require_role(actor, authz.ADMINS)
        return await self.api_keys.list_for(None if all_users else actor.id)

    async def revoke(self, actor: User, key_id: uuid.UUID) -> ApiKey:
        """Delete the key: the next request with it is a 401."""
        api_key = await self.api_keys.get(key_id)
        if api_key is None:
            raise NotFound("API key not found.", title="API key not found")
        authz.require_own_api_key(actor, api_key)
        await self.api_keys.delete(api_key)
        await self.audit.record(
            AuditAction.API_KEY_REVOKED,
            AuditResource.API_KEY,
            api_key.id,
            details=_described(api_key),
        )
        logger.info(
            "API key %s revoked by %s", api_key.id, actor.id, extra={"user_id": str(actor.id)}
        )
        return api_key


def _described(api_key: ApiKey) -> dict[str, object]:
    """What an audit entry says of a key: never the key or its hash."""
    return {
        "name": api_key.name,
        "scope": api_key.scope,
        "prefix": api_key.prefix,
        "owner_id": api_key.user_id,
        "expires_at": api_key.expires_at,
    }

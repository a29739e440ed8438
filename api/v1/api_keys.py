"""API keys for scripts and CI: `Authorization: Bearer cj_…` on every endpoint."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from api.deps import ApiKeyServiceDep, CurrentPrincipal, CurrentUser
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyListQuery, ApiKeyRead
from schemas.common import MessageResponse

router = ApiRouter(prefix="/auth/api-keys", tags=["api-keys"])


@router.post(
    "",
    summary="Create an API key (the key is shown once)",
    description=(
        "The answer carries the key (`cj_` and 32 random bytes, URL-safe); only its SHA-256 "
        "is stored, so it can never be shown again. The key acts as its user, with the user's "
        "current role: a role change, a deactivation or a deletion applies to its next request. "
        "A `read` key may only use GET, HEAD and OPTIONS (anything else is a 403 naming the "
        "scope). No key may create keys, change a password or log out sessions: this call "
        "needs a signed-in session (an access token)."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(401, 403, descriptions={403: "Called with an API key"}),
)
async def create_api_key(
    body: ApiKeyCreate, principal: CurrentPrincipal, service: ApiKeyServiceDep
) -> ApiKeyCreated:
    created = await service.create(principal.user, body, used_key=principal.api_key)
    return ApiKeyCreated(
        message="API key created; store it now, it is not shown again",
        key=created.key,
        api_key=ApiKeyRead.model_validate(created.api_key),
    )


@router.get(
    "",
    summary="List my API keys (admins: everyone's with all_users=true)",
    description="Newest first; never the key or its hash.",
    response_model=ApiKeyList,
    responses=error_responses(401, 403, descriptions={403: "`all_users` sent by a non-admin"}),
)
async def list_api_keys(
    query: Annotated[ApiKeyListQuery, Query()], user: CurrentUser, service: ApiKeyServiceDep
) -> ApiKeyList:
    keys = await service.list(user, all_users=query.all_users)
    return ApiKeyList(api_keys=[ApiKeyRead.model_validate(key) for key in keys])


@router.delete(
    "/{key_id:uuid}",
    summary="Revoke an API key (one's own; admins: anyone's)",
    description="The key stops working at once: its next request is a 401.",
    response_model=MessageResponse,
    responses=error_responses(401, 403, 404, descriptions={403: "Another user's key"}),
)
async def revoke_api_key(
    key_id: uuid.UUID, user: CurrentUser, service: ApiKeyServiceDep
) -> MessageResponse:
    await service.revoke(user, key_id)
    return MessageResponse(message="API key revoked")

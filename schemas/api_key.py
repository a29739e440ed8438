"""API keys: created with a name and a scope; the key itself is in the creation answer only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core.enums import ApiKeyScope
from schemas.common import ORMModel, RequestModel, example
from schemas.text import storable_text

MAX_EXPIRY_DAYS = 3650


class ApiKeyCreate(RequestModel):
    model_config = example({"name": "CI deploys", "scope": "write", "expires_in_days": 90})

    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
        AfterValidator(storable_text),
    ] = Field(description="What the key is for, to recognise it in the list.")
    scope: ApiKeyScope = Field(
        description="`read`: GET, HEAD and OPTIONS only; `write`: anything its user may do."
    )
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EXPIRY_DAYS,
        strict=True,
        description=f"Days until the key stops working (1–{MAX_EXPIRY_DAYS}); absent: never.",
    )


class ApiKeyRead(ORMModel):
    """A key as listed: never the key, never its hash."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    scope: ApiKeyScope
    prefix: str = Field(description="The key's first characters (`cj_` and 8 more).")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When the key was last used, to the minute (written at most once a minute)."
    )


class ApiKeyCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"description": "The key is shown in this answer only; store it now."}
    )

    message: str
    key: str = Field(description="`cj_` and 43 URL-safe characters. Never shown again.")
    api_key: ApiKeyRead


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyRead]


class ApiKeyListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all_users: bool = Field(
        default=False, description="Admins only: everyone's keys instead of one's own."
    )

"""The audit log's listings and entries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from core.enums import AuditAction, AuditResource
from schemas.common import ORMModel, Page
from schemas.date_range import DateRangeRead, RangeQuery
from schemas.pagination import PageResponse


class JobAuditListQuery(RangeQuery):
    """`from`/`to` filter on when the change happened."""

    page: Page = 1
    per_page: int = Field(default=50, ge=1, le=200)
    action: AuditAction | None = None


class AuditListQuery(JobAuditListQuery):
    actor: uuid.UUID | None = Field(default=None, description="The acting user's id.")
    resource_type: AuditResource | None = None
    resource_id: uuid.UUID | None = None


class AuditEntryRead(ORMModel):
    id: uuid.UUID
    occurred_at: datetime
    action: str
    resource_type: str
    resource_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None = Field(description="null: the service itself (CLI, start-up).")
    actor_api_key_id: uuid.UUID | None = Field(description="The API key used, if any.")
    request_id: str | None
    client_address: str | None
    changes: dict[str, Any] | None = Field(
        description='`{field: {"before", "after"}}`; secret values are "[redacted]".'
    )
    details: dict[str, Any] | None


class AuditPage(PageResponse[AuditEntryRead]):
    items: list[AuditEntryRead] = Field(serialization_alias="entries")
    range: DateRangeRead

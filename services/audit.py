"""The audit log: who changed what, when, from where.

`AuditService.record` is the one way an entry is written. Services call it (never routers)
right after the change they make, with the same session, so an entry is part of the change's
transaction: a request that rolls back leaves no entry, one that commits always leaves its
entries. The request's identity (user, API key, request id, client address) comes from the
`AuditContext` the API fills in for each request; work outside a request (the CLI, start-up
bootstrap) records with an empty context, that is as the system.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, SystemClock, days_ago
from core.date_range import DateRange, parse_date_range
from core.enums import AuditAction, AuditResource
from core.errors import NotFound
from models.audit_entry import AuditEntry
from models.user import User
from repositories.audit_entry import AuditEntryRepository, AuditFilters
from repositories.base import Page
from repositories.job import JobRepository
from schemas.audit import AuditListQuery, JobAuditListQuery
from services import authz

logger = logging.getLogger("services.audit")

REDACTED = "[redacted]"


@dataclass(slots=True)
class AuditContext:
    """Who is acting in this request, and where it came from. The API makes one per request
    (`api/deps.get_audit_context`); authentication fills in the actor."""

    request_id: str | None = None
    client_address: str | None = None
    actor_user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None


def field_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    secret: Collection[str] = (),
    masks: Mapping[str, Callable[[Any], Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """`{field: {"before": …, "after": …}}` for each field of `after` whose value differs from
    `before`, as JSON values. A `secret` field says only that it changed: both sides are
    "[redacted]" (or null when there was, or is, no value). A field with a mask is compared as
    stored and shown through its mask (a header list shows its secret values as "[redacted]")."""
    changes: dict[str, dict[str, Any]] = {}
    for field, new in after.items():
        old = before.get(field)
        if old == new:
            continue
        if field in secret:
            changes[field] = {"before": _redacted(old), "after": _redacted(new)}
            continue
        mask = (masks or {}).get(field)
        if mask is not None:
            old, new = mask(old), mask(new)
        changes[field] = {"before": to_jsonable_python(old), "after": to_jsonable_python(new)}
    return changes


def _redacted(value: Any) -> str | None:
    return None if value is None else REDACTED


class AuditService:
    def __init__(
        self, session: AsyncSession, clock: Clock | None = None, context: AuditContext | None = None
    ) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.context = context or AuditContext()
        self.entries = AuditEntryRepository(session)

    async def record(
        self,
        action: AuditAction,
        resource_type: AuditResource,
        resource_id: uuid.UUID | None,
        *,
        changes: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
        actor_user_id: uuid.UUID | None = None,
    ) -> AuditEntry:
        """Add one entry to the current transaction. `actor_user_id` names the actor when the
        request has none (a login); otherwise the context's user is the actor."""
        return await self.entries.create(
            {
                "occurred_at": self.clock.now(),
                "action": action.value,
                "resource_type": resource_type.value,
                "resource_id": resource_id,
                "actor_user_id": actor_user_id or self.context.actor_user_id,
                "actor_api_key_id": self.context.api_key_id,
                "request_id": self.context.request_id,
                "client_address": self.context.client_address,
                "changes": to_jsonable_python(dict(changes)) if changes else None,
                "details": to_jsonable_python(dict(details)) if details else None,
            }
        )

    # --- reads ---------------------------------------------------------------------------------

    async def list(self, actor: User, query: AuditListQuery) -> tuple[Page[AuditEntry], DateRange]:
        authz.require_role(actor, authz.ADMINS)
        window = parse_date_range(query.from_, query.to)
        filters = AuditFilters(
            actor_user_id=query.actor,
            action=query.action,
            resource_type=query.resource_type,
            resource_id=query.resource_id,
            window=window,
        )
        page = await self.entries.list_page(filters, page=query.page, per_page=query.per_page)
        return page, window

    async def list_for_job(
        self, actor: User, job_id: uuid.UUID, query: JobAuditListQuery
    ) -> tuple[Page[AuditEntry], DateRange]:
        """A job's entries, for its owner and admins. Entries of a deleted job stay readable
        to admins through `list`."""
        job = await JobRepository(self.session).get(job_id)
        if job is None:
            raise NotFound(f"No job found with ID: {job_id}")
        authz.require_job_owner_or_admin(actor, job)
        window = parse_date_range(query.from_, query.to)
        filters = AuditFilters(
            action=query.action, resource_type=AuditResource.JOB, resource_id=job_id, window=window
        )
        page = await self.entries.list_page(filters, page=query.page, per_page=query.per_page)
        return page, window

    # --- retention -----------------------------------------------------------------------------

    async def purge_batch(self, retention_days: int, batch_size: int) -> int:
        """Delete up to `batch_size` entries older than `retention_days`; how many went."""
        return await self.entries.purge_batch(days_ago(self.clock, retention_days), batch_size)

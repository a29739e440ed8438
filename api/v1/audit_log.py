"""The audit log: every change that matters, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from api.deps import AdminUser, AuditServiceDep, CurrentUser
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.audit import AuditListQuery, AuditPage, JobAuditListQuery
from schemas.date_range import DateRangeRead

router = ApiRouter(tags=["audit"])

_ABOUT = (
    "Each entry is written in the transaction of its change (a request that fails leaves "
    "none): who (`actor_user_id`, and `actor_api_key_id` when an API key was used), when, the "
    "request id (`X-Request-ID`) and the client address. Updates list the fields changed, "
    'before → after; secret values are "[redacted]". Newest first; `from`/`to` filter on '
    "`occurred_at` (`from` inclusive, `to` exclusive, a date-only `to` covers that day). "
    "Entries older than `AUDIT_RETENTION_DAYS` are purged."
)


@router.get(
    "/audit-log",
    summary="The audit log (admin)",
    description=_ABOUT,
    response_model=AuditPage,
    responses=error_responses(400, 401, 403),
)
async def list_audit_log(
    query: Annotated[AuditListQuery, Query()], admin: AdminUser, service: AuditServiceDep
) -> AuditPage:
    page, window = await service.list(admin, query)
    return AuditPage.of(page, range=DateRangeRead.of(window))


@router.get(
    "/jobs/{job_id:uuid}/audit-log",
    summary="A job's audit log (its owner, or an admin)",
    description=_ABOUT,
    response_model=AuditPage,
    responses=error_responses(
        400, 401, 403, 404, descriptions={403: "Not the job's owner, nor an admin"}
    ),
)
async def list_job_audit_log(
    job_id: uuid.UUID,
    query: Annotated[JobAuditListQuery, Query()],
    user: CurrentUser,
    service: AuditServiceDep,
) -> AuditPage:
    page, window = await service.list_for_job(user, job_id, query)
    return AuditPage.of(page, range=DateRangeRead.of(window))

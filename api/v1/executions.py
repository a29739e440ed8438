from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from api.deps import CurrentUser, ExecutionLifecycleDep, ExecutionServiceDep
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.execution import (
    EXECUTION_RETENTION,
    CancelResponse,
    ExecutionEnvelope,
    ExecutionListQuery,
    ExecutionPage,
    ExecutionRead,
    ExecutionStatistics,
    StatisticsQuery,
    cursor_fields,
)

router = ApiRouter(prefix="/executions", tags=["executions"])


@router.get(
    "",
    summary="List executions",
    description=(
        "Newest slot first. `from`/`to` filter on the slot time (`scheduled_for`): `from` "
        "inclusive, `to` exclusive, a date-only `to` covers that day. Pages by number "
        "(`page`) or, for deep or live paging, by `cursor` (each answer's `next_cursor`). "
        "`total` is exact up to EXECUTION_EXACT_COUNT_LIMIT matches (10,000) and PostgreSQL's "
        f"estimate past it, flagged by `total_is_estimate`. {EXECUTION_RETENTION}"
    ),
    response_model=ExecutionPage,
    responses=error_responses(400, 401),
)
async def list_executions(
    query: Annotated[ExecutionListQuery, Query()],
    _user: CurrentUser,
    service: ExecutionServiceDep,
) -> ExecutionPage:
    page, following = await service.list(query)
    return ExecutionPage.of(page, **cursor_fields(query, following))


@router.get(
    "/statistics",
    summary="Execution statistics",
    response_model=ExecutionStatistics,
    response_model_by_alias=True,
    responses=error_responses(400, 401),
)
async def execution_statistics(
    query: Annotated[StatisticsQuery, Query()],
    _user: CurrentUser,
    service: ExecutionServiceDep,
) -> ExecutionStatistics:
    return ExecutionStatistics.of(*await service.statistics(query))


@router.get(
    "/{execution_id:uuid}",
    summary="Get an execution",
    response_model=ExecutionEnvelope,
    responses=error_responses(401, 404),
)
async def get_execution(
    execution_id: uuid.UUID, _user: CurrentUser, service: ExecutionServiceDep
) -> ExecutionEnvelope:
    return ExecutionEnvelope(
        execution=ExecutionRead.model_validate(await service.get(execution_id))
    )


@router.post(
    "/{execution_id:uuid}/cancel",
    summary="Cancel a running execution",
    description=(
        "For the job's owner or an admin. A `running` execution, or a `failed` one waiting for "
        "its retry, becomes `cancelled` at once and is final: the call in flight is abandoned "
        "by whichever process makes it as soon as the cancellation commits (on PostgreSQL "
        "other processes hear of it by NOTIFY; should that be lost, their lease keeper finds it "
        "within SCHEDULER_POLL_SECONDS), an answer arriving later "
        "is not recorded, no further attempt is made, and no failure alert is sent. Any other "
        "status is a `409`."
    ),
    response_model=CancelResponse,
    responses=error_responses(401, 403, 404, 409),
)
async def cancel_execution(
    execution_id: uuid.UUID, user: CurrentUser, lifecycle: ExecutionLifecycleDep
) -> CancelResponse:
    cancelled = await lifecycle.cancel(execution_id, user)
    return CancelResponse(
        message="Execution cancelled", execution=ExecutionRead.model_validate(cancelled)
    )

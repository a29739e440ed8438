from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from api.deps import CurrentUser, ExecutionServiceDep
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.execution import (
    ExecutionEnvelope,
    ExecutionListQuery,
    ExecutionPage,
    ExecutionRead,
    ExecutionStatistics,
    StatisticsQuery,
)

router = ApiRouter(prefix="/executions", tags=["executions"])


@router.get(
    "",
    summary="List executions",
    description=(
        "Newest slot first. `from`/`to` filter on the slot time (`scheduled_for`): `from` "
        "inclusive, `to` exclusive, a date-only `to` covers that day."
    ),
    response_model=ExecutionPage,
    responses=error_responses(400, 401),
)
async def list_executions(
    query: Annotated[ExecutionListQuery, Query()],
    _user: CurrentUser,
    service: ExecutionServiceDep,
) -> ExecutionPage:
    return ExecutionPage.of(await service.list(query))


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

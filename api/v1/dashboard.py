from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.deps import CurrentUser, DashboardServiceDep
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.dashboard import DashboardSummary, SummaryQuery

router = ApiRouter(prefix="/dashboard", tags=["dashboard"])


@router.get(
    "/summary",
    summary="Everything the home page shows, in one call",
    description=(
        "Active and paused jobs; executions today (since midnight in `timezone`), in the last "
        "24 hours and the last 7 days, with success rates; executions per hour and status over "
        "the last 24 hours (by slot, UTC hours, the current hour last); the jobs failing now; "
        "what is running; the next 10 scheduled runs. Any signed-in role."
    ),
    response_model=DashboardSummary,
    responses=error_responses(401),
)
async def dashboard_summary(
    query: Annotated[SummaryQuery, Query()],
    _user: CurrentUser,
    service: DashboardServiceDep,
) -> DashboardSummary:
    return await service.summary(query.timezone)

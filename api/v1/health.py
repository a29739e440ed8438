from __future__ import annotations

from fastapi import Response

from api.deps import HealthServiceDep
from api.routing import ApiRouter
from schemas.health import HealthResponse

router = ApiRouter(tags=["health"])


@router.get(
    "/health",
    summary="Service health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "The database is unreachable"}},
)
async def health(response: Response, service: HealthServiceDep) -> HealthResponse:
    result = await service.check()
    if result.status != "ok":
        response.status_code = 503
    return result

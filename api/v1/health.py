from __future__ import annotations

from fastapi import Request, Response

from api.deps import EngineDep, SettingsDep
from api.routing import ApiRouter
from schemas.health import HealthResponse
from services.health import HealthService

router = ApiRouter(tags=["health"])


@router.get(
    "/health",
    summary="Service health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "The database is unreachable"}},
)
async def health(
    request: Request, response: Response, engine: EngineDep, settings: SettingsDep
) -> HealthResponse:
    service = HealthService(engine, settings, getattr(request.app.state, "scheduler", None))
    result = await service.check()
    if result.status != "ok":
        response.status_code = 503
    return result

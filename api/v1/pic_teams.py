from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import AdminUser, CurrentUser, SessionDep
from api.openapi import error_responses
from schemas.pic_team import (
    PicTeamCreate,
    PicTeamListResponse,
    PicTeamMessageResponse,
    PicTeamRead,
    PicTeamResponse,
    PicTeamUpdate,
    PicTeamUpdatedResponse,
)
from services.pic_team import PicTeamService

router = APIRouter(prefix="/pic-teams", tags=["pic teams"])


async def get_service(session: SessionDep) -> PicTeamService:
    return PicTeamService(session)


ServiceDep = Annotated[PicTeamService, Depends(get_service)]
IncludeInactive = Annotated[
    bool, Query(description="Admins only: include disabled teams (ignored for others).")
]


@router.get(
    "",
    summary="List PIC teams",
    response_model=PicTeamListResponse,
    responses=error_responses(401),
)
@router.get("/", include_in_schema=False)
async def list_teams(
    actor: CurrentUser, service: ServiceDep, include_inactive: IncludeInactive = False
) -> PicTeamListResponse:
    items = await service.list(include_inactive=include_inactive, actor=actor)
    return PicTeamListResponse(pic_teams=[PicTeamRead.model_validate(item) for item in items])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a PIC team",
    response_model=PicTeamMessageResponse,
    responses=error_responses(401, 403, 409, descriptions={409: "The slug or name is taken"}),
)
@router.post("/", status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def create_team(
    body: PicTeamCreate, _admin: AdminUser, service: ServiceDep
) -> PicTeamMessageResponse:
    item = await service.create(body)
    return PicTeamMessageResponse(
        message="PIC team created", pic_team=PicTeamRead.model_validate(item)
    )


@router.get(
    "/{team_id}",
    summary="Get a PIC team",
    response_model=PicTeamResponse,
    responses=error_responses(401, 404),
)
async def get_team(team_id: uuid.UUID, _user: CurrentUser, service: ServiceDep) -> PicTeamResponse:
    return PicTeamResponse(pic_team=PicTeamRead.model_validate(await service.get(team_id)))


@router.put(
    "/{team_id}",
    summary="Rename a PIC team or change its Slack handle",
    description="The slug follows the name; jobs using the old slug move to the new one.",
    response_model=PicTeamUpdatedResponse,
    responses=error_responses(
        400,
        401,
        403,
        404,
        409,
        descriptions={
            400: "`slug` sent or nothing to update",
            409: "The new slug or name is taken",
        },
    ),
)
async def update_team(
    team_id: uuid.UUID, body: PicTeamUpdate, _admin: AdminUser, service: ServiceDep
) -> PicTeamUpdatedResponse:
    item, jobs_updated = await service.update(team_id, body)
    return PicTeamUpdatedResponse(
        message="PIC team updated",
        pic_team=PicTeamRead.model_validate(item),
        jobs_updated=jobs_updated,
    )


@router.delete(
    "/{team_id}",
    summary="Disable a PIC team",
    description="Soft delete: existing jobs keep it; it can no longer be chosen.",
    response_model=PicTeamMessageResponse,
    responses=error_responses(401, 403, 404),
)
async def disable_team(
    team_id: uuid.UUID, _admin: AdminUser, service: ServiceDep
) -> PicTeamMessageResponse:
    item = await service.disable(team_id)
    return PicTeamMessageResponse(
        message="PIC team disabled", pic_team=PicTeamRead.model_validate(item)
    )

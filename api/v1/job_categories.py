from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import AdminUser, CurrentUser, SessionDep
from api.openapi import error_responses
from schemas.job_category import (
    JobCategoryCreate,
    JobCategoryListResponse,
    JobCategoryMessageResponse,
    JobCategoryRead,
    JobCategoryResponse,
    JobCategoryUpdate,
    JobCategoryUpdatedResponse,
)
from services.job_category import JobCategoryService

router = APIRouter(prefix="/job-categories", tags=["job categories"])


async def get_service(session: SessionDep) -> JobCategoryService:
    return JobCategoryService(session)


ServiceDep = Annotated[JobCategoryService, Depends(get_service)]
IncludeInactive = Annotated[
    bool, Query(description="Admins only: include disabled categories (ignored for others).")
]


@router.get(
    "",
    summary="List job categories",
    response_model=JobCategoryListResponse,
    responses=error_responses(401),
)
@router.get("/", include_in_schema=False)
async def list_categories(
    actor: CurrentUser, service: ServiceDep, include_inactive: IncludeInactive = False
) -> JobCategoryListResponse:
    items = await service.list(include_inactive=include_inactive, actor=actor)
    return JobCategoryListResponse(
        categories=[JobCategoryRead.model_validate(item) for item in items]
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a job category",
    response_model=JobCategoryMessageResponse,
    responses=error_responses(401, 403, 409, descriptions={409: "The slug or name is taken"}),
)
@router.post("/", status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def create_category(
    body: JobCategoryCreate, _admin: AdminUser, service: ServiceDep
) -> JobCategoryMessageResponse:
    item = await service.create(body)
    return JobCategoryMessageResponse(
        message="Category created", category=JobCategoryRead.model_validate(item)
    )


@router.get(
    "/{category_id}",
    summary="Get a job category",
    response_model=JobCategoryResponse,
    responses=error_responses(401, 404),
)
async def get_category(
    category_id: uuid.UUID, _user: CurrentUser, service: ServiceDep
) -> JobCategoryResponse:
    return JobCategoryResponse(
        category=JobCategoryRead.model_validate(await service.get(category_id))
    )


@router.put(
    "/{category_id}",
    summary="Rename (or re-enable) a job category",
    description="The slug follows the name; jobs using the old slug move to the new one.",
    response_model=JobCategoryUpdatedResponse,
    responses=error_responses(
        400,
        401,
        403,
        404,
        409,
        descriptions={
            400: "`slug` sent, nothing to update, or renaming/disabling `general`",
            409: "The new slug or name is taken",
        },
    ),
)
async def update_category(
    category_id: uuid.UUID, body: JobCategoryUpdate, _admin: AdminUser, service: ServiceDep
) -> JobCategoryUpdatedResponse:
    item, jobs_updated = await service.update(category_id, body)
    return JobCategoryUpdatedResponse(
        message="Category updated",
        category=JobCategoryRead.model_validate(item),
        jobs_updated=jobs_updated,
    )


@router.delete(
    "/{category_id}",
    summary="Disable a job category",
    description="Soft delete: existing jobs keep it; it can no longer be chosen.",
    response_model=JobCategoryMessageResponse,
    responses=error_responses(
        400, 401, 403, 404, descriptions={400: "`general` cannot be disabled"}
    ),
)
async def disable_category(
    category_id: uuid.UUID, _admin: AdminUser, service: ServiceDep
) -> JobCategoryMessageResponse:
    item = await service.disable(category_id)
    return JobCategoryMessageResponse(
        message="Category disabled", category=JobCategoryRead.model_validate(item)
    )

from __future__ import annotations

from pydantic import BaseModel

from schemas.taxonomy import TaxonomyCreate, TaxonomyRead, TaxonomyUpdate


class JobCategoryCreate(TaxonomyCreate):
    pass


class JobCategoryUpdate(TaxonomyUpdate):
    pass


class JobCategoryRead(TaxonomyRead):
    pass


class JobCategoryListResponse(BaseModel):
    categories: list[JobCategoryRead]


class JobCategoryResponse(BaseModel):
    category: JobCategoryRead


class JobCategoryMessageResponse(BaseModel):
    message: str
    category: JobCategoryRead


class JobCategoryUpdatedResponse(JobCategoryMessageResponse):
    jobs_updated: int

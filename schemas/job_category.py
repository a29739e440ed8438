from __future__ import annotations

from schemas.taxonomy import TaxonomyCreate, TaxonomyRead, TaxonomyResponses, TaxonomyUpdate


class JobCategoryCreate(TaxonomyCreate):
    pass


class JobCategoryUpdate(TaxonomyUpdate):
    pass


class JobCategoryRead(TaxonomyRead):
    pass


JOB_CATEGORY_RESPONSES = TaxonomyResponses.of(
    JobCategoryRead, schema_name="JobCategory", list_key="categories", item_key="category"
)

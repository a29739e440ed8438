from __future__ import annotations

from schemas.common import example
from schemas.taxonomy import TaxonomyCreate, TaxonomyRead, TaxonomyResponses, TaxonomyUpdate


class JobCategoryCreate(TaxonomyCreate):
    model_config = example({"name": "Reports"})


class JobCategoryUpdate(TaxonomyUpdate):
    model_config = example({"name": "Monthly reports"})


class JobCategoryRead(TaxonomyRead):
    pass


JOB_CATEGORY_RESPONSES = TaxonomyResponses.of(
    JobCategoryRead, schema_name="JobCategory", list_key="categories", item_key="category"
)

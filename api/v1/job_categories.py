from __future__ import annotations

from api.v1.taxonomies import Taxonomy, taxonomy_router
from schemas.job_category import JOB_CATEGORY_RESPONSES, JobCategoryCreate, JobCategoryUpdate
from services.job_category import JobCategoryService

router = taxonomy_router(
    Taxonomy(
        prefix="/job-categories",
        tag="job categories",
        service=JobCategoryService,
        create_schema=JobCategoryCreate,
        update_schema=JobCategoryUpdate,
        responses=JOB_CATEGORY_RESPONSES,
        singular="job category",
        plural="job categories",
        message_noun="Category",
        handler_noun=("category", "categories"),
        id_name="category_id",
        rename_summary="Rename (or re-enable) a job category",
    )
)

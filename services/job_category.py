from __future__ import annotations

from models.job_category import GENERAL_CATEGORY_SLUG, JobCategory
from repositories.job_category import JobCategoryRepository
from services.taxonomy import TaxonomyService


class JobCategoryService(TaxonomyService[JobCategory]):
    noun = "category"
    repository_class = JobCategoryRepository
    job_field = "category"
    # Jobs without a category land in `general`: it always exists, under that slug.
    protected_slugs = frozenset({GENERAL_CATEGORY_SLUG})

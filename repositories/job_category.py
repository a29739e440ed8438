from __future__ import annotations

from models.job_category import JobCategory
from repositories.taxonomy import TaxonomyRepository
from schemas.job_category import JobCategoryCreate, JobCategoryUpdate


class JobCategoryRepository(TaxonomyRepository[JobCategory, JobCategoryCreate, JobCategoryUpdate]):
    model = JobCategory

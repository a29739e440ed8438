from __future__ import annotations

from models.job_category import JobCategory
from repositories.taxonomy import TaxonomyRepository


class JobCategoryRepository(TaxonomyRepository[JobCategory]):
    model = JobCategory

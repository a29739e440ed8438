from __future__ import annotations

from core.enums import AuditAction, AuditResource
from models.job_category import GENERAL_CATEGORY_SLUG, JobCategory
from repositories.job_category import JobCategoryRepository
from services.taxonomy import TaxonomyAuditActions, TaxonomyService


class JobCategoryService(TaxonomyService[JobCategory]):
    noun = "category"
    repository_class = JobCategoryRepository
    job_field = "category"
    audit_resource = AuditResource.JOB_CATEGORY
    audit_actions = TaxonomyAuditActions(
        AuditAction.CATEGORY_CREATED, AuditAction.CATEGORY_UPDATED, AuditAction.CATEGORY_DISABLED
    )
    # Jobs without a category land in `general`: it always exists, under that slug.
    protected_slugs = frozenset({GENERAL_CATEGORY_SLUG})

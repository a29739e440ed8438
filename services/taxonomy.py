"""Rules shared by job categories and PIC teams: slugs, renames that move jobs, soft-disable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import AuditAction, AuditResource
from core.errors import Conflict, InvalidInput, NotFound
from core.slugs import slugify
from models.user import User
from repositories.base import UniqueViolation
from repositories.job import JobRepository, Reference
from repositories.taxonomy import TaxonomyModelT, TaxonomyRepository
from schemas.taxonomy import TaxonomyCreate, TaxonomyUpdate
from services import authz
from services.audit import AuditService, field_changes


class TaxonomyAuditActions(NamedTuple):
    """What the audit log calls a creation, an update and a disabling of an entry."""

    created: AuditAction
    updated: AuditAction
    disabled: AuditAction


class TaxonomyService(Generic[TaxonomyModelT]):
    noun: ClassVar[str]
    """How messages name one entry: "category", "PIC team"."""
    job_field: ClassVar[Reference]
    """The job column holding the entry's slug."""
    protected_slugs: ClassVar[frozenset[str]] = frozenset()
    """Entries that can be neither renamed nor disabled (the default category)."""
    repository_class: ClassVar[type[TaxonomyRepository[Any]]]
    audit_resource: ClassVar[AuditResource]
    audit_actions: ClassVar[TaxonomyAuditActions]

    def __init__(self, session: AsyncSession, *, audit: AuditService | None = None) -> None:
        self.repository: TaxonomyRepository[TaxonomyModelT] = self.repository_class(session)
        self.jobs = JobRepository(session)
        self.audit = audit or AuditService(session)

    async def list(self, *, include_inactive: bool, actor: User) -> Sequence[TaxonomyModelT]:
        """Active entries; inactive ones too when an admin asks for them."""
        return await self.repository.list(
            include_inactive=include_inactive and authz.is_admin(actor)
        )

    async def get(self, id_: uuid.UUID) -> TaxonomyModelT:
        item = await self.repository.get(id_)
        if item is None:
            raise NotFound(f"No {self.noun} found with ID: {id_}")
        return item

    async def create(self, data: TaxonomyCreate) -> TaxonomyModelT:
        values = data.model_dump()
        await self._check_unique(slug=values["slug"], name=values["name"])
        try:
            item = await self.repository.create(values)
        except UniqueViolation as exc:  # a concurrent twin
            raise self._duplicate_slug(values["slug"]) from exc
        await self._record(self.audit_actions.created, item, details=values)
        return item

    async def update(self, id_: uuid.UUID, data: TaxonomyUpdate) -> tuple[TaxonomyModelT, int]:
        """Apply the change; returns the entry and how many jobs moved to its new slug."""
        item = await self.get(id_)
        if "slug" in data.model_fields_set:
            raise InvalidInput(
                "Slug cannot be edited directly; it is derived from name.", title="Invalid payload"
            )
        changes = data.model_dump(exclude_unset=True, exclude={"slug"})
        if not changes:
            raise InvalidInput(
                "Send at least one field to change.", title="No valid fields to update"
            )
        jobs_updated = 0
        if changes.get("name", item.name) != item.name:
            self._refuse_if_protected(item, "renamed")
            new_slug = slugify(changes["name"])
            await self._check_unique(slug=new_slug, name=changes["name"], exclude_id=item.id)
            if new_slug != item.slug:
                jobs_updated = await self.jobs.replace_reference(
                    self.job_field, item.slug, new_slug
                )
                changes["slug"] = new_slug
        if changes.get("is_active") is False:
            self._refuse_if_protected(item, "disabled")
        before = {field: getattr(item, field) for field in changes}
        try:
            await self.repository.update(item, changes)
        except UniqueViolation as exc:
            raise self._duplicate_slug(changes.get("slug", item.slug)) from exc
        diff = field_changes(before, changes)
        if diff:
            await self._record(
                self.audit_actions.updated,
                item,
                changes=diff,
                details={"jobs_updated": jobs_updated},
            )
        return item, jobs_updated

    async def disable(self, id_: uuid.UUID) -> TaxonomyModelT:
        """Soft delete: jobs keep their slug; new jobs can no longer choose the entry."""
        item = await self.get(id_)
        self._refuse_if_protected(item, "disabled")
        if item.is_active:
            await self.repository.update(item, {"is_active": False})
            await self._record(
                self.audit_actions.disabled, item, details={"name": item.name, "slug": item.slug}
            )
        return item

    async def _record(
        self,
        action: AuditAction,
        item: TaxonomyModelT,
        *,
        changes: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self.audit.record(
            action, self.audit_resource, item.id, changes=changes, details=details
        )

    async def _check_unique(
        self, *, slug: str, name: str, exclude_id: uuid.UUID | None = None
    ) -> None:
        if await self.repository.slug_taken(slug, exclude_id=exclude_id):
            raise self._duplicate_slug(slug)
        if await self.repository.name_taken(name, exclude_id=exclude_id):
            raise Conflict(
                f'{self.noun[0].upper()}{self.noun[1:]} name "{name}" already exists.',
                title="Duplicate name",
            )

    def _duplicate_slug(self, slug: str) -> Conflict:
        return Conflict(
            f'{self.noun[0].upper()}{self.noun[1:]} slug "{slug}" already exists.',
            title="Duplicate slug",
        )

    def _refuse_if_protected(self, item: TaxonomyModelT, what: str) -> None:
        if item.slug in self.protected_slugs:
            raise InvalidInput(
                f'The "{item.name}" {self.noun} cannot be {what}.', title=f"Invalid {self.noun}"
            )

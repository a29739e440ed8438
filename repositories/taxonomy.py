"""Data access shared by the slugged lookup tables jobs point at (categories, PIC teams)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import case, func, or_
from sqlalchemy.sql import ColumnElement

from core.slugs import slugify
from models.job_category import JobCategory
from models.pic_team import PicTeam
from repositories.base import BaseRepository

TaxonomyModelT = TypeVar("TaxonomyModelT", JobCategory, PicTeam)


class TaxonomyRepository(BaseRepository[TaxonomyModelT]):
    async def list(self, *, include_inactive: bool) -> Sequence[TaxonomyModelT]:
        where = () if include_inactive else (self.model.is_active.is_(True),)
        return await self.get_multi(*where, order_by=(self.model.name, self.model.id))

    async def find_active(self, reference: str) -> TaxonomyModelT | None:
        """The active row whose slug or name (case-insensitive) `reference` gives; a slug match
        wins over a name match."""
        slug = slugify(reference)
        by_slug = self.model.slug == slug
        by_name = func.lower(self.model.name) == reference.strip().lower()
        statement = (
            self.select()
            .where(self.model.is_active.is_(True), or_(by_slug, by_name))
            .order_by(case((by_slug, 0), else_=1))
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def slug_taken(self, slug: str, *, exclude_id: uuid.UUID | None = None) -> bool:
        return await self.exists(self.model.slug == slug, *self._other_than(exclude_id))

    async def name_taken(self, name: str, *, exclude_id: uuid.UUID | None = None) -> bool:
        return await self.exists(
            func.lower(self.model.name) == name.lower(), *self._other_than(exclude_id)
        )

    def _other_than(self, id_: uuid.UUID | None) -> tuple[ColumnElement[bool], ...]:
        return () if id_ is None else (self.model.id != id_,)

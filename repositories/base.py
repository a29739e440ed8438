"""Generic repository: the data access every domain repository inherits.

Repositories take the request's (or worker's) `AsyncSession`, flush so that database errors
surface where they happen, and never commit: the unit of work belongs to the caller.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import CursorResult, Select, delete, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from models.base import Base

ModelT = TypeVar("ModelT", bound=Base)
CreateSchemaT = TypeVar("CreateSchemaT", bound=BaseModel)
UpdateSchemaT = TypeVar("UpdateSchemaT", bound=BaseModel)
ItemT = TypeVar("ItemT")
# Bound parameters per statement, under asyncpg's (32767) and SQLite's (32766) limits.
_MAX_PARAMETERS = 30_000


class RepositoryError(Exception):
    """Base of the data layer's own errors; it knows nothing of HTTP."""


class UniqueViolation(RepositoryError):
    """A write collided with a unique constraint."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(f"unique constraint violated: {constraint or 'unknown'}")
        self.constraint = constraint


@dataclass(frozen=True, slots=True)
class Page(Generic[ItemT]):
    items: Sequence[ItemT]
    total: int
    page: int
    per_page: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


class BaseRepository(Generic[ModelT, CreateSchemaT, UpdateSchemaT]):
    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reads -------------------------------------------------------------------------------

    def select(self) -> Select[ModelT]:
        """The base statement of every read; subclasses override it to add eager loads."""
        return select(self.model)

    async def get(self, id_: uuid.UUID) -> ModelT | None:
        primary_key = inspect(self.model).primary_key[0]
        statement = self.select().where(primary_key == id_)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_by(self, *where: ColumnElement[bool]) -> ModelT | None:
        return (await self.session.execute(self.select().where(*where))).scalars().first()

    async def get_multi(
        self,
        *where: ColumnElement[bool],
        order_by: Sequence[Any] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[ModelT]:
        statement = self.select().where(*where).order_by(*order_by).offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def paginate(
        self,
        *where: ColumnElement[bool],
        page: int = 1,
        per_page: int = 20,
        order_by: Sequence[Any] = (),
    ) -> Page[ModelT]:
        """One query for the page and one for the total, whatever the page holds."""
        items = await self.get_multi(
            *where, order_by=order_by, offset=(page - 1) * per_page, limit=per_page
        )
        total = await self.count(*where)
        return Page(items=items, total=total, page=page, per_page=per_page)

    async def count(self, *where: ColumnElement[bool]) -> int:
        statement = select(func.count()).select_from(self.model).where(*where)
        return (await self.session.execute(statement)).scalar_one()

    async def exists(self, *where: ColumnElement[bool]) -> bool:
        statement = select(select(self.model).where(*where).exists())
        return bool((await self.session.execute(statement)).scalar_one())

    # --- writes ------------------------------------------------------------------------------

    async def create(self, data: CreateSchemaT | Mapping[str, Any]) -> ModelT:
        values = data.model_dump() if isinstance(data, BaseModel) else dict(data)
        instance = self.model(**values)
        self.session.add(instance)
        await self._flush()
        return instance

    async def update(self, instance: ModelT, data: UpdateSchemaT | Mapping[str, Any]) -> ModelT:
        """Apply only the fields the caller set (`exclude_unset`), then flush."""
        values = data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else data
        for field, value in values.items():
            setattr(instance, field, value)
        await self._flush()
        return instance

    async def delete(self, instance: ModelT) -> None:
        await self.session.delete(instance)
        await self._flush()

    async def delete_where(self, *where: ColumnElement[bool]) -> int:
        """Delete every row matching `where` in one statement; returns how many went."""
        result = await self.session.execute(delete(self.model).where(*where))
        return cast(CursorResult[Any], result).rowcount

    async def create_unless_duplicate(
        self, data: CreateSchemaT | Mapping[str, Any]
    ) -> ModelT | None:
        """`create` inside a savepoint: None when a unique constraint says the row exists already,
        with the caller's transaction still usable (get-or-create under concurrency)."""
        try:
            async with self.session.begin_nested():
                return await self.create(data)
        except UniqueViolation:
            return None

    async def insert_ignoring_duplicates(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Insert `rows`, skipping those a unique constraint says exist already (ON CONFLICT DO
        NOTHING); returns the primary keys of the rows inserted. Processes writing the same
        rows at once insert each one once. Chunked below the drivers' parameter limits."""
        if not rows:
            return []
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        primary_key = inspect(self.model).primary_key[0]
        chunk = max(1, _MAX_PARAMETERS // max(len(row) for row in rows))
        inserted: list[Any] = []
        for start in range(0, len(rows), chunk):
            values = insert(self.model).values(list(rows[start : start + chunk]))
            statement = values.on_conflict_do_nothing().returning(primary_key)
            inserted.extend((await self.session.execute(statement)).scalars())
        return inserted

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            message = str(exc.orig)
            if "duplicate key" in message or "UNIQUE constraint failed" in message:
                raise UniqueViolation(_violated_constraint(exc)) from exc
            raise


def _violated_constraint(exc: IntegrityError) -> str | None:
    # asyncpg names the constraint; SQLite only says "UNIQUE constraint failed: table.column".
    name = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    if name is None and "UNIQUE constraint failed: " in str(exc.orig):
        return str(exc.orig).split("UNIQUE constraint failed: ", 1)[1]
    return name

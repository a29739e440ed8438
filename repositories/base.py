"""Generic repository: the data access every domain repository inherits.

Repositories take the request's (or worker's) `AsyncSession`, flush so that database errors
surface where they happen, and never commit: the unit of work belongs to the caller. Their
errors (below) say nothing of HTTP; services turn them into domain errors.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    CursorResult,
    Executable,
    Result,
    Select,
    Table,
    bindparam,
    delete,
    func,
    inspect,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

from models.base import Base

ModelT = TypeVar("ModelT", bound=Base)
ItemT = TypeVar("ItemT")
StatementT = TypeVar("StatementT", bound=Executable)

# BaseRepository.statement: (repository class, name) -> the statement, built once per process.
_STATEMENTS: dict[tuple[type, str], Executable] = {}


class RepositoryError(Exception):
    """Base of the data layer's own errors; it knows nothing of HTTP."""


class IntegrityViolation(RepositoryError):
    """A write broke a constraint; `constraint` names it as the database does (PostgreSQL: the
    constraint's name; SQLite: `table.column` for unique constraints, nothing for foreign keys)."""

    kind = "integrity"

    def __init__(self, constraint: str | None) -> None:
        super().__init__(f"{self.kind} constraint violated: {constraint or 'unknown'}")
        self.constraint = constraint


class UniqueViolation(IntegrityViolation):
    """A write collided with a unique constraint (or the primary key)."""

    kind = "unique"


class ForeignKeyViolation(IntegrityViolation):
    """A write referenced a row that does not exist, or removed one still referenced."""

    kind = "foreign key"


@dataclass(frozen=True, slots=True)
class Page(Generic[ItemT]):
    items: Sequence[ItemT]
    total: int
    page: int
    per_page: int
    # True when `total` is the planner's estimate rather than a count (count_or_estimate).
    total_is_estimate: bool = False

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


class BaseRepository(Generic[ModelT]):
    """Reads and writes of one model. Every write goes through `_flush` or `_write`, where the
    database's integrity errors become UniqueViolation or ForeignKeyViolation."""

    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reads -------------------------------------------------------------------------------

    def select(self) -> Select[ModelT]:
        """The base statement of every read; subclasses override it to add eager loads."""
        return select(self.model)

    async def get(self, id_: uuid.UUID) -> ModelT | None:
        statement = self.statement("get", self._by_primary_key)
        return (await self.session.execute(statement, {"pk": id_})).scalar_one_or_none()

    def _by_primary_key(self) -> Select[ModelT]:
        return self.select().where(inspect(self.model).primary_key[0] == bindparam("pk"))

    def statement(self, name: str, build: Callable[[], StatementT]) -> StatementT:
        """The statement `name` of this repository class, built by `build` on first use and
        reused after: for the hot reads, whose values go in as bind parameters. Building a
        statement (and its cache key) cost more CPU than running it on every request; a
        statement object reused also keeps its memoized cache key, so SQLAlchemy's compiled
        cache finds it at once. `build` must not depend on the instance's session."""
        key = (type(self), name)
        found = _STATEMENTS.get(key)
        if found is None:
            found = _STATEMENTS[key] = build()
        return cast("StatementT", found)

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
        if where:
            statement = select(func.count()).select_from(self.model).where(*where)
        else:  # an unfiltered listing's total: the same statement every time
            statement = self.statement(
                "count", lambda: select(func.count()).select_from(self.model)
            )
        return (await self.session.execute(statement)).scalar_one()

    async def count_at_most(self, cap: int, *where: ColumnElement[bool]) -> int:
        """`count` stopped at `cap` rows: bounded however many match."""
        matching = select(literal(1)).select_from(self.model).where(*where).limit(cap).subquery()
        statement = select(func.count()).select_from(matching)
        return (await self.session.execute(statement)).scalar_one()

    async def count_or_estimate(self, cap: int, *where: ColumnElement[bool]) -> tuple[int, bool]:
        """How many rows match, and whether that is an estimate: counted exactly up to `cap`
        (at most `cap + 1` rows read, so the cost is bounded); past it, PostgreSQL's planner
        estimate (never below `cap + 1`). Other databases always count."""
        if self._dialect() != "postgresql":
            return await self.count(*where), False
        counted = await self.count_at_most(cap + 1, *where)
        if counted <= cap:
            return counted, False
        return max(counted, await self._planner_rows(*where)), True

    async def _planner_rows(self, *where: ColumnElement[bool]) -> int:
        """The rows PostgreSQL's planner expects `SELECT 1 ... WHERE where` to return (from
        the table's statistics; nothing is read)."""
        statement = select(literal(1)).select_from(self.model).where(*where)
        plan = (await self.session.execute(Explain(statement))).scalar_one()
        if isinstance(plan, str | bytes):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    async def exists(self, *where: ColumnElement[bool]) -> bool:
        statement = select(select(self.model).where(*where).exists())
        return bool((await self.session.execute(statement)).scalar_one())

    # --- writes ------------------------------------------------------------------------------

    async def create(self, values: Mapping[str, Any]) -> ModelT:
        return await self.add(self.model(**values))

    async def add(self, instance: ModelT) -> ModelT:
        """Insert an instance built elsewhere."""
        self.session.add(instance)
        await self._flush()
        return instance

    async def add_all(self, instances: Sequence[ModelT]) -> None:
        """Insert many instances in one flush (batched INSERTs)."""
        self.session.add_all(instances)
        await self._flush()

    async def update(self, instance: ModelT, values: Mapping[str, Any]) -> ModelT:
        for field, value in values.items():
            setattr(instance, field, value)
        await self._flush()
        return instance

    async def delete(self, instance: ModelT) -> None:
        await self.session.delete(instance)
        await self._flush()

    async def delete_where(self, *where: ColumnElement[bool]) -> int:
        """Delete every row matching `where` in one statement; returns how many went."""
        return await self._write_count(delete(self.model).where(*where))

    async def purge_oldest(
        self,
        column: InstrumentedAttribute[datetime],
        before: datetime,
        limit: int,
        *where: ColumnElement[bool],
    ) -> int:
        """Delete at most `limit` of the rows matching `where` whose `column` is before `before`,
        oldest first; how many went. Retention's batch: one short statement that never holds
        many row locks, whatever the backlog (`column` needs an index, or each batch scans)."""
        primary_key = inspect(self.model).primary_key[0]
        oldest = select(primary_key).where(column < before, *where).order_by(column).limit(limit)
        return await self._write_count(delete(self.model).where(primary_key.in_(oldest)))

    async def create_unless_duplicate(self, values: Mapping[str, Any]) -> ModelT | None:
        """`create` inside a savepoint: None when a unique constraint says the row exists already,
        with the caller's transaction still usable (get-or-create under concurrency)."""
        try:
            async with self.session.begin_nested():
                return await self.create(values)
        except UniqueViolation:
            return None

    async def insert_ignoring_duplicates(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Insert `rows`, skipping those a unique constraint says exist already (ON CONFLICT DO
        NOTHING); returns the primary keys of the rows inserted. Processes writing the same
        rows at once insert each one once.

        One executemany of a Core statement compiled once: SQLAlchemy sends the rows in
        multi-row batches below the driver's parameter limit ("insertmanyvalues"), where a
        statement built with every row's values was compiled anew for each call (about 2 ms
        of CPU per row)."""
        if not rows:
            return []
        insert = postgresql.insert if self._dialect() == "postgresql" else sqlite.insert
        mapper = inspect(self.model)
        table = cast(Table, mapper.local_table)
        column_of = {attr.key: attr.columns[0].key for attr in mapper.column_attrs}
        statement = insert(table).on_conflict_do_nothing().returning(mapper.primary_key[0])
        # An executemany takes one shape of parameters: rows are grouped by the keys they set.
        shapes: dict[frozenset[str], list[dict[str, Any]]] = {}
        for row in rows:
            shapes.setdefault(frozenset(row), []).append(
                {column_of.get(key, key): value for key, value in row.items()}
            )
        inserted: list[Any] = []
        for parameters in shapes.values():
            inserted.extend((await self._write(statement, parameters)).scalars())
        return inserted

    async def _write(
        self, statement: Executable, parameters: Sequence[Mapping[str, Any]] | None = None
    ) -> Result[Any]:
        """Execute a writing statement (one parameter set per row for an executemany)."""
        with self._integrity_errors_translated():
            return await self.session.execute(statement, parameters)

    async def _write_count(
        self, statement: Executable, parameters: Sequence[Mapping[str, Any]] | None = None
    ) -> int:
        """`_write`, returning how many rows the statement matched."""
        return cast(CursorResult[Any], await self._write(statement, parameters)).rowcount

    async def _flush(self) -> None:
        with self._integrity_errors_translated():
            await self.session.flush()

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    @contextmanager
    def _integrity_errors_translated(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            translated = translate_integrity_error(exc, self._dialect())
            if translated is None:
                raise
            raise translated from exc


class Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <statement>` (PostgreSQL), with the statement's bound
    parameters; one row holding the plan."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


# SQLSTATE codes (PostgreSQL) and extended result codes (SQLite) of the violations translated.
_POSTGRESQL_VIOLATIONS: dict[str, type[IntegrityViolation]] = {
    "23505": UniqueViolation,
    "23503": ForeignKeyViolation,
}
_SQLITE_VIOLATIONS: dict[str, type[IntegrityViolation]] = {
    "SQLITE_CONSTRAINT_UNIQUE": UniqueViolation,
    "SQLITE_CONSTRAINT_PRIMARYKEY": UniqueViolation,
    "SQLITE_CONSTRAINT_FOREIGNKEY": ForeignKeyViolation,
}
_SQLITE_UNIQUE_PREFIX = "UNIQUE constraint failed: "


def translate_integrity_error(exc: IntegrityError, dialect: str) -> IntegrityViolation | None:
    """The repository error for a unique or foreign-key violation; None for other integrity
    errors (NOT NULL, CHECK), which stay programming errors."""
    error = exc.orig
    if dialect == "postgresql":
        # The asyncpg adapter carries the SQLSTATE; asyncpg's own error names the constraint.
        violation = _POSTGRESQL_VIOLATIONS.get(getattr(error, "sqlstate", None) or "")
        constraint = getattr(getattr(error, "__cause__", None), "constraint_name", None)
    elif dialect == "sqlite":
        violation = _SQLITE_VIOLATIONS.get(getattr(error, "sqlite_errorname", ""))
        constraint = _sqlite_unique_columns(str(error)) if violation is UniqueViolation else None
    else:
        return None
    return None if violation is None else violation(constraint)


def _sqlite_unique_columns(message: str) -> str | None:
    # SQLite names no constraint; a unique violation's message names `table.column`.
    if message.startswith(_SQLITE_UNIQUE_PREFIX):
        return message.removeprefix(_SQLITE_UNIQUE_PREFIX)
    return None

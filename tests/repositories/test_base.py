from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from models import JobCategory, Notification, RefreshToken
from repositories.base import BaseRepository, ForeignKeyViolation, UniqueViolation
from repositories.job import JobRepository
from tests.support.factories import create_user
from tests.support.job_factories import create_job, create_team


class CategoryRepository(BaseRepository[JobCategory]):
    model = JobCategory


class RefreshTokenRows(BaseRepository[RefreshToken]):
    model = RefreshToken


class NotificationRows(BaseRepository[Notification]):
    model = Notification


@pytest.fixture
def repository(session: AsyncSession) -> CategoryRepository:
    return CategoryRepository(session)


async def _create_many(repository: CategoryRepository, count: int) -> list[JobCategory]:
    return [
        await repository.create({"slug": f"c-{i:02d}", "name": f"C {i:02d}"}) for i in range(count)
    ]


async def test_create_flushes_without_committing(
    repository: CategoryRepository, session: AsyncSession
) -> None:
    created = await repository.create({"slug": "ops", "name": "Ops"})

    assert created.id is not None
    assert created.is_active is True
    assert session.in_transaction()
    assert await repository.get(created.id) is created


async def test_create_from_dict(repository: CategoryRepository) -> None:
    created = await repository.create({"slug": "data", "name": "Data", "is_active": False})

    assert (await repository.get(created.id)) is not None
    assert created.is_active is False


async def test_get_unknown_id_is_none(repository: CategoryRepository) -> None:
    assert await repository.get(uuid.uuid4()) is None


async def test_update_applies_only_the_given_values(repository: CategoryRepository) -> None:
    created = await repository.create({"slug": "ops", "name": "Ops"})

    await repository.update(created, {"is_active": False})

    refreshed = await repository.get(created.id)
    assert refreshed is not None
    assert refreshed.name == "Ops"
    assert refreshed.is_active is False


async def test_update_from_mapping(repository: CategoryRepository) -> None:
    created = await repository.create({"slug": "ops", "name": "Ops"})

    await repository.update(created, {"name": "Operations"})

    assert created.name == "Operations"


async def test_delete_removes_the_row(repository: CategoryRepository) -> None:
    created = await repository.create({"slug": "ops", "name": "Ops"})

    await repository.delete(created)

    assert await repository.get(created.id) is None


async def test_count_and_exists_take_filters(repository: CategoryRepository) -> None:
    await _create_many(repository, 3)

    assert await repository.count(JobCategory.slug.like("c-%")) == 3
    assert await repository.count() == 4  # plus `general` from the migration
    assert await repository.exists(JobCategory.slug == "c-01")
    assert not await repository.exists(JobCategory.slug == "nope")


async def test_get_multi_orders_offsets_and_limits(repository: CategoryRepository) -> None:
    await _create_many(repository, 5)

    rows = await repository.get_multi(
        JobCategory.slug.like("c-%"), order_by=[JobCategory.slug.desc()], offset=1, limit=2
    )

    assert [row.slug for row in rows] == ["c-03", "c-02"]


async def test_paginate_returns_the_page_and_the_total(repository: CategoryRepository) -> None:
    await _create_many(repository, 7)

    page = await repository.paginate(
        JobCategory.slug.like("c-%"), page=3, per_page=3, order_by=[JobCategory.slug]
    )

    assert [row.slug for row in page.items] == ["c-06"]
    assert (page.total, page.page, page.per_page, page.total_pages) == (7, 3, 3, 3)


async def test_paginate_of_nothing_has_zero_pages(repository: CategoryRepository) -> None:
    page = await repository.paginate(JobCategory.slug == "none", page=1, per_page=20)

    assert page.items == []
    assert (page.total, page.total_pages) == (0, 0)


async def test_get_by_returns_first_match(repository: CategoryRepository) -> None:
    found = await repository.get_by(JobCategory.slug == "general")

    assert found is not None
    assert found.name == "General"


async def test_unique_collision_raises_a_repository_error(repository: CategoryRepository) -> None:
    await repository.create({"slug": "ops", "name": "Ops"})

    with pytest.raises(UniqueViolation) as raised:
        await repository.create({"slug": "ops", "name": "Other"})

    assert "slug" in (raised.value.constraint or "")


async def test_a_missing_referenced_row_raises_a_foreign_key_violation(
    session: AsyncSession,
) -> None:
    now = utcnow()

    with pytest.raises(ForeignKeyViolation):
        await RefreshTokenRows(session).create(
            {"jti": uuid.uuid4(), "user_id": uuid.uuid4(), "issued_at": now, "expires_at": now}
        )


async def test_insert_ignoring_duplicates_translates_foreign_key_violations(
    session: AsyncSession,
) -> None:
    row = {"user_id": uuid.uuid4(), "title": "t", "message": "m", "type": "info"}

    with pytest.raises(ForeignKeyViolation):
        await NotificationRows(session).insert_ignoring_duplicates([row])


async def test_an_update_pointing_at_a_missing_row_raises_a_foreign_key_violation(
    session: AsyncSession,
) -> None:
    owner = await create_user(session)
    team = await create_team(session)
    job = await create_job(session, owner=owner, pic_team=team.slug)

    with pytest.raises(ForeignKeyViolation):
        await JobRepository(session).update(job, {"created_by": uuid.uuid4()})


async def test_insert_ignoring_duplicates_skips_unique_collisions(
    repository: CategoryRepository,
) -> None:
    rows = [{"id": uuid.uuid4(), "slug": "ops", "name": "Ops"}]

    first = await repository.insert_ignoring_duplicates(rows)
    again = await repository.insert_ignoring_duplicates(
        [{"id": uuid.uuid4(), "slug": "ops", "name": "Ops again"}]
    )

    assert first == [rows[0]["id"]]
    assert again == []

"""Execution listing indexes on the whole sort key (slot, attempt, id), by job and by status:
a page, its keyset cursor and a capped count are read from the index alone.

Built CONCURRENTLY on PostgreSQL (outside the migration's transaction), so a large table keeps
taking writes while they build; the indexes they replace are dropped afterwards.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = {
    "ix_job_execution_job_order": ["job_id", "scheduled_for", "attempt", "id"],
    "ix_job_execution_status_order": ["status", "scheduled_for", "attempt", "id"],
    "ix_job_execution_order": ["scheduled_for", "attempt", "id"],
}
OLD = {
    "ix_job_execution_job_slot": ["job_id", "scheduled_for"],
    "ix_job_execution_status_slot": ["status", "scheduled_for"],
    "ix_job_execution_slot": ["scheduled_for"],
}


def _replace(create: dict[str, list[str]], drop: dict[str, list[str]]) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.get_context().autocommit_block():
        for name, columns in create.items():
            op.create_index(
                name,
                "job_execution",
                columns,
                postgresql_concurrently=postgresql,
                if_not_exists=True,
            )
        for name in drop:
            op.drop_index(
                name, table_name="job_execution", postgresql_concurrently=postgresql, if_exists=True
            )


def upgrade() -> None:
    _replace(NEW, OLD)


def downgrade() -> None:
    _replace(OLD, NEW)

"""Retention (issue 16): indexes for purging old notifications and settled outbox rows in small
batches, and for unlinking the notifications of a deleted execution (ON DELETE SET NULL)
without scanning them. Executions are purged along ix_job_execution_order, which exists.

Built CONCURRENTLY on PostgreSQL (outside the migration's transaction), so large tables keep
taking writes while they build.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (table, columns, partial index predicate or None)
INDEXES: dict[str, tuple[str, list[str], str | None]] = {
    "ix_notification_created": ("notification", ["created_at"], None),
    "ix_notification_related_execution": (
        "notification",
        ["related_execution_id"],
        "related_execution_id IS NOT NULL",
    ),
    "ix_notification_delivery_settled": (
        "notification_delivery",
        ["updated_at"],
        "status <> 'pending'",
    ),
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.get_context().autocommit_block():
        for name, (table, columns, where) in INDEXES.items():
            predicate = None if where is None else sa.text(where)
            op.create_index(
                name,
                table,
                columns,
                postgresql_where=predicate,
                sqlite_where=predicate,
                postgresql_concurrently=postgresql,
                if_not_exists=True,
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.get_context().autocommit_block():
        for name, (table, _, _) in INDEXES.items():
            op.drop_index(
                name, table_name=table, postgresql_concurrently=postgresql, if_exists=True
            )

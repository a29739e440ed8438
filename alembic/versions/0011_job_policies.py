"""Job policies (issue 13): overlap (`concurrency_policy`), catch-up (`catchup`,
`misfire_grace_seconds`), retry (Cloud Scheduler's shape); executions record `lateness_ms` and
may be `skipped` (overlap forbidden) or `cancelled` (by a person).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("running", "success", "failed", "missed")
NEW_STATUSES = (*OLD_STATUSES, "skipped", "cancelled")


def _status_type(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name="status", native_enum=False, create_constraint=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _set_statuses(old: Sequence[str], new: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The table is rebuilt with the new column type and its CHECK.
        with op.batch_alter_table("job_execution", recreate="always") as batch:
            batch.alter_column(
                "status",
                existing_type=_status_type(old),
                type_=_status_type(new),
                existing_nullable=False,
            )
        return
    op.drop_constraint(op.f("ck_job_execution_status"), "job_execution", type_="check")
    op.alter_column(
        "job_execution",
        "status",
        existing_type=sa.String(max(map(len, old))),
        type_=sa.String(max(map(len, new))),
        existing_nullable=False,
    )
    quoted = ", ".join(f"'{value}'" for value in new)
    op.create_check_constraint(
        op.f("ck_job_execution_status"), "job_execution", f"status IN ({quoted})"
    )


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("min_backoff_seconds", sa.Double(), nullable=True))
        batch.add_column(sa.Column("max_backoff_seconds", sa.Double(), nullable=True))
        batch.add_column(
            sa.Column("max_doublings", sa.Integer(), server_default=sa.text("5"), nullable=False)
        )
        batch.add_column(
            sa.Column(
                "max_retry_duration_seconds",
                sa.Integer(),
                server_default=sa.text("0"),
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column(
                "concurrency_policy",
                _enum("concurrency_policy", "allow", "forbid"),
                server_default="allow",
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column(
                "catchup",
                _enum("catchup", "latest", "all", "none"),
                server_default="latest",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("misfire_grace_seconds", sa.Integer(), nullable=True))
    with op.batch_alter_table("job_execution") as batch:
        batch.add_column(sa.Column("lateness_ms", sa.Integer(), nullable=True))
    _set_statuses(OLD_STATUSES, NEW_STATUSES)


def downgrade() -> None:
    # Rows in the new statuses have no older equivalent: they read as missed.
    op.execute(
        "UPDATE job_execution SET status = 'missed' WHERE status IN ('skipped', 'cancelled')"
    )
    _set_statuses(NEW_STATUSES, OLD_STATUSES)
    with op.batch_alter_table("job_execution") as batch:
        batch.drop_column("lateness_ms")
    with op.batch_alter_table("job") as batch:
        if op.get_bind().dialect.name == "sqlite":  # the rebuilt table would keep them
            batch.drop_constraint(op.f("ck_job_catchup"), type_="check")
            batch.drop_constraint(op.f("ck_job_concurrency_policy"), type_="check")
        for column in (
            "misfire_grace_seconds",
            "catchup",
            "concurrency_policy",
            "max_retry_duration_seconds",
            "max_doublings",
            "max_backoff_seconds",
            "min_backoff_seconds",
        ):
            batch.drop_column(column)

"""Digests: users get a time zone; the outbox holds daily digests and weekly reports, one per
(user, kind, period); jobs remember when and why the service paused them.

Existing users get the SCHEDULER_TIMEZONE configured when the migration runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.config import get_settings

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ALERT_KINDS = ("failure", "success", "recovery", "auto_pause", "end_date")
_DIGEST_KINDS = ("daily_digest", "weekly_report")


def _kind(*values: str) -> sa.Enum:
    return sa.Enum(*values, name="kind", native_enum=False, create_constraint=True)


def _change_kinds(before: tuple[str, ...], after: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            op.f("ck_notification_delivery_kind"), "notification_delivery", type_="check"
        )
        op.alter_column(
            "notification_delivery",
            "kind",
            existing_type=sa.String(max(map(len, before))),
            type_=sa.String(max(map(len, after))),
            existing_nullable=False,
        )
        op.create_check_constraint(
            "kind", "notification_delivery", sa.column("kind").in_(after)
        )
        return
    with op.batch_alter_table("notification_delivery", recreate="always") as batch:
        batch.alter_column(
            "kind", existing_type=_kind(*before), type_=_kind(*after), existing_nullable=False
        )


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    op.execute(
        sa.text('UPDATE "user" SET timezone = :zone').bindparams(
            zone=get_settings().scheduler_timezone
        )
    )
    with op.batch_alter_table("user") as batch:
        batch.alter_column("timezone", existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table("job") as batch:
        batch.add_column(
            sa.Column("paused_by_service_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "pause_reason",
                sa.Enum(
                    "end_date",
                    "auto_pause",
                    name="pause_reason",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=True,
            )
        )

    _change_kinds(_ALERT_KINDS, _ALERT_KINDS + _DIGEST_KINDS)
    with op.batch_alter_table("notification_delivery") as batch:
        batch.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("period", sa.String(length=16), nullable=True))
        batch.create_unique_constraint(
            "uq_notification_delivery_user_id_kind_period", ["user_id", "kind", "period"]
        )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM notification_delivery WHERE kind IN ('daily_digest', 'weekly_report')")
    )
    with op.batch_alter_table("notification_delivery") as batch:
        batch.drop_constraint("uq_notification_delivery_user_id_kind_period", type_="unique")
        batch.drop_column("period")
        batch.drop_column("user_id")
    _change_kinds(_ALERT_KINDS + _DIGEST_KINDS, _ALERT_KINDS)

    with op.batch_alter_table("job") as batch:
        batch.drop_constraint(op.f("ck_job_pause_reason"), type_="check")
        batch.drop_column("pause_reason")
        batch.drop_column("paused_by_service_at")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("timezone")

"""Cross-process wake-up and call phases.

PostgreSQL: triggers NOTIFY `cronjob_wakeup` when work becomes due earlier than a scheduler
may think (a job inserted or activated, its next run moved earlier, a retry scheduled), in the
transaction that makes the change, so listeners hear of it as it commits. SQLite has none (one
scheduler, woken in-process).

Every database: the phases a webhook call measured, in milliseconds.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASES = ("dns_ms", "connect_ms", "tls_ms", "first_byte_ms")

WAKEUP_FUNCTION = """
CREATE FUNCTION cronjob_wakeup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cronjob_wakeup', TG_TABLE_NAME);
    RETURN NULL;
END;
$$
"""
TRIGGERS = (
    """
    CREATE TRIGGER job_wakeup_insert AFTER INSERT ON job
    FOR EACH ROW WHEN (NEW.is_active AND NEW.next_run_at IS NOT NULL)
    EXECUTE FUNCTION cronjob_wakeup()
    """,
    """
    CREATE TRIGGER job_wakeup_update AFTER UPDATE OF next_run_at, is_active ON job
    FOR EACH ROW WHEN (
        NEW.is_active AND NEW.next_run_at IS NOT NULL
        AND (NOT OLD.is_active OR OLD.next_run_at IS NULL OR NEW.next_run_at < OLD.next_run_at)
    )
    EXECUTE FUNCTION cronjob_wakeup()
    """,
    """
    CREATE TRIGGER job_execution_wakeup AFTER INSERT OR UPDATE OF next_attempt_at
    ON job_execution
    FOR EACH ROW WHEN (NEW.next_attempt_at IS NOT NULL)
    EXECUTE FUNCTION cronjob_wakeup()
    """,
)


def upgrade() -> None:
    with op.batch_alter_table("job_execution") as batch:
        for column in PHASES:
            batch.add_column(sa.Column(column, sa.Double(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(WAKEUP_FUNCTION)
        for trigger in TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER job_execution_wakeup ON job_execution")
        op.execute("DROP TRIGGER job_wakeup_update ON job")
        op.execute("DROP TRIGGER job_wakeup_insert ON job")
        op.execute("DROP FUNCTION cronjob_wakeup()")
    with op.batch_alter_table("job_execution") as batch:
        for column in reversed(PHASES):
            batch.drop_column(column)

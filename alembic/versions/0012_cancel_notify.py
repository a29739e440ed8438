"""A cancelled run is announced to every process at once (PostgreSQL): a trigger NOTIFYs
`cronjob_cancel` with the execution's id when a row becomes `cancelled`, whoever commits it.
The process making the call abandons it as the change commits, where it used to wait for its
lease keeper's next look (scheduler/wakeup.py). SQLite has one process: nothing to add.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANCEL_FUNCTION = """
CREATE FUNCTION cronjob_cancelled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cronjob_cancel', NEW.id::text);
    RETURN NULL;
END;
$$
"""
CANCEL_TRIGGER = """
CREATE TRIGGER job_execution_cancelled AFTER UPDATE OF status ON job_execution
FOR EACH ROW WHEN (NEW.status = 'cancelled' AND OLD.status <> 'cancelled')
EXECUTE FUNCTION cronjob_cancelled()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CANCEL_FUNCTION)
        op.execute(CANCEL_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER job_execution_cancelled ON job_execution")
        op.execute("DROP FUNCTION cronjob_cancelled()")

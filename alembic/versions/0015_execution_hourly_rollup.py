"""Executions per job, UTC hour and final status (`job_execution_hourly`), kept by triggers on
`job_execution` in the writing transaction, whatever writes the row (scheduler claims and
outcomes, manual runs, cancels, reaps, deletes); filled from the rows already there. Running
rows are left out. Statistics and the dashboard summary read whole hours from it.

Per job, so two writers meet on a row only for the same job (whose row the outcome writer
locks first anyway). The job listing index also carries status, duration and lateness on
PostgreSQL (INCLUDE), so one job's counts and percentiles are read from the index alone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# --- PostgreSQL: one function for the three triggers -------------------------------------------
PG_FUNCTION = """
CREATE FUNCTION job_execution_hourly_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status <> 'running' THEN
        UPDATE job_execution_hourly
        SET executions = executions - 1,
            duration_sum = duration_sum - coalesce(OLD.duration_seconds, 0),
            durations = durations - (OLD.duration_seconds IS NOT NULL)::int
        WHERE job_id = OLD.job_id
          AND hour = date_trunc('hour', OLD.scheduled_for, 'UTC')
          AND status = OLD.status;
        -- An hour emptied (retention, a moved row) leaves no row behind.
        DELETE FROM job_execution_hourly
        WHERE job_id = OLD.job_id
          AND hour = date_trunc('hour', OLD.scheduled_for, 'UTC')
          AND status = OLD.status
          AND executions <= 0;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status <> 'running' THEN
        INSERT INTO job_execution_hourly AS h
            (job_id, hour, status, executions, duration_sum, durations)
        VALUES (NEW.job_id, date_trunc('hour', NEW.scheduled_for, 'UTC'), NEW.status, 1,
                coalesce(NEW.duration_seconds, 0), (NEW.duration_seconds IS NOT NULL)::int)
        ON CONFLICT (job_id, hour, status) DO UPDATE
        SET executions = h.executions + 1,
            duration_sum = h.duration_sum + EXCLUDED.duration_sum,
            durations = h.durations + EXCLUDED.durations;
    END IF;
    RETURN NULL;
END;
$$
"""
PG_TRIGGERS = (
    """CREATE TRIGGER job_execution_hourly_insert AFTER INSERT ON job_execution
    FOR EACH ROW WHEN (NEW.status <> 'running') EXECUTE FUNCTION job_execution_hourly_apply()""",
    """CREATE TRIGGER job_execution_hourly_update
    AFTER UPDATE OF job_id, scheduled_for, status, duration_seconds ON job_execution
    FOR EACH ROW WHEN (OLD.job_id <> NEW.job_id OR OLD.scheduled_for <> NEW.scheduled_for
        OR OLD.status <> NEW.status
        OR OLD.duration_seconds IS DISTINCT FROM NEW.duration_seconds)
    EXECUTE FUNCTION job_execution_hourly_apply()""",
    """CREATE TRIGGER job_execution_hourly_delete AFTER DELETE ON job_execution
    FOR EACH ROW WHEN (OLD.status <> 'running') EXECUTE FUNCTION job_execution_hourly_apply()""",
)
PG_FILL = """
INSERT INTO job_execution_hourly (job_id, hour, status, executions, duration_sum, durations)
SELECT job_id, date_trunc('hour', scheduled_for, 'UTC'), status, count(*),
       coalesce(sum(duration_seconds), 0), count(duration_seconds)
FROM job_execution WHERE status <> 'running'
GROUP BY 1, 2, 3
"""

# --- SQLite: timestamps are text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC) ---------------------------
SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {row}.scheduled_for)"
SQLITE_REMOVE = f"""
    UPDATE job_execution_hourly
    SET executions = executions - 1,
        duration_sum = duration_sum - coalesce(OLD.duration_seconds, 0),
        durations = durations - (OLD.duration_seconds IS NOT NULL)
    WHERE OLD.status <> 'running' AND job_id = OLD.job_id
      AND hour = {SQLITE_HOUR.format(row="OLD")} AND status = OLD.status;
    DELETE FROM job_execution_hourly
    WHERE job_id = OLD.job_id AND hour = {SQLITE_HOUR.format(row="OLD")}
      AND status = OLD.status AND executions <= 0;
"""
SQLITE_ADD = f"""
    INSERT INTO job_execution_hourly (job_id, hour, status, executions, duration_sum, durations)
    SELECT NEW.job_id, {SQLITE_HOUR.format(row="NEW")}, NEW.status, 1,
           coalesce(NEW.duration_seconds, 0), (NEW.duration_seconds IS NOT NULL)
    WHERE NEW.status <> 'running'
    ON CONFLICT (job_id, hour, status) DO UPDATE
    SET executions = executions + 1,
        duration_sum = duration_sum + excluded.duration_sum,
        durations = durations + excluded.durations;
"""
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER job_execution_hourly_insert AFTER INSERT ON job_execution
    BEGIN {SQLITE_ADD} END""",
    f"""CREATE TRIGGER job_execution_hourly_update
    AFTER UPDATE OF job_id, scheduled_for, status, duration_seconds ON job_execution
    BEGIN {SQLITE_REMOVE} {SQLITE_ADD} END""",
    f"""CREATE TRIGGER job_execution_hourly_delete AFTER DELETE ON job_execution
    BEGIN {SQLITE_REMOVE} END""",
)
SQLITE_FILL = f"""
INSERT INTO job_execution_hourly (job_id, hour, status, executions, duration_sum, durations)
SELECT job_id, {SQLITE_HOUR.format(row="job_execution")}, status, count(*),
       coalesce(sum(duration_seconds), 0), count(duration_seconds)
FROM job_execution WHERE status <> 'running'
GROUP BY 1, 2, 3
"""
TRIGGER_NAMES = ("job_execution_hourly_insert", "job_execution_hourly_update")
TRIGGER_NAMES += ("job_execution_hourly_delete",)

JOB_INDEX = "ix_job_execution_job_order"
JOB_INDEX_COLUMNS = ["job_id", "scheduled_for", "attempt", "id"]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "job_execution_hourly",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("executions", sa.Integer(), nullable=False),
        sa.Column("duration_sum", sa.Double(), nullable=False),
        sa.Column("durations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["job.id"],
            name=op.f("fk_job_execution_hourly_job_id_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "hour", "status", name=op.f("pk_job_execution_hourly")),
    )
    op.create_index("ix_job_execution_hourly_hour", "job_execution_hourly", ["hour"])
    if postgresql:
        op.execute(PG_FUNCTION)
        for trigger in PG_TRIGGERS:
            op.execute(trigger)
        op.execute(PG_FILL)
        # Built beside the old one, then swapped in (CONCURRENTLY: outside the transaction).
        with op.get_context().autocommit_block():
            op.create_index(
                JOB_INDEX + "_covering",
                "job_execution",
                JOB_INDEX_COLUMNS,
                postgresql_include=["status", "duration_seconds", "lateness_ms"],
                postgresql_concurrently=True,
                if_not_exists=True,
            )
            op.drop_index(
                JOB_INDEX,
                table_name="job_execution",
                postgresql_concurrently=True,
                if_exists=True,
            )
        op.execute(f"ALTER INDEX {JOB_INDEX}_covering RENAME TO {JOB_INDEX}")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute(SQLITE_FILL)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER {name} ON job_execution" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        op.execute("DROP FUNCTION job_execution_hourly_apply()")
        op.drop_index(JOB_INDEX, table_name="job_execution")
        op.create_index(JOB_INDEX, "job_execution", JOB_INDEX_COLUMNS)
    op.drop_index("ix_job_execution_hourly_hour", table_name="job_execution_hourly")
    op.drop_table("job_execution_hourly")

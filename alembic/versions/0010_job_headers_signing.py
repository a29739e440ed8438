"""Job request headers (secret values encrypted) and Standard Webhooks signing secrets.

Existing jobs get an empty header list and no signing secret: this migration cannot encrypt
(it never reads SECRETS_KEY, nor imports application code), so each such job gets its secret
at its first run after the upgrade, and jobs whose `target_url` carries credentials
(`user:password@`) have them moved into a secret `Authorization: Basic` header by the service
at start-up (services/job_secrets.py). What needs no key is done here: the credentials are
removed from the `target` kept by existing executions, which every viewer could read.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:30:00.000000
"""

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _without_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(
            sa.Column(
                "headers",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch.add_column(sa.Column("signing_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_signing_secret", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("signing_secret_rotated_at", sa.DateTime(timezone=True), nullable=True)
        )
    connection = op.get_bind()
    execution = sa.table("job_execution", sa.column("id"), sa.column("target", sa.String()))
    rows = connection.execute(
        sa.select(execution.c.id, execution.c.target).where(execution.c.target.like("%@%"))
    ).all()
    for row_id, target in rows:
        cleaned = _without_userinfo(target)
        if cleaned != target:
            connection.execute(
                execution.update().where(execution.c.id == row_id).values(target=cleaned)
            )


def downgrade() -> None:
    # Headers (secret ones included) and signing secrets are dropped with their columns.
    with op.batch_alter_table("job") as batch:
        batch.drop_column("signing_secret_rotated_at")
        batch.drop_column("previous_signing_secret")
        batch.drop_column("signing_secret")
        batch.drop_column("headers")

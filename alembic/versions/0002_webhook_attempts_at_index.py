"""webhook_attempts.at index: the retention job deletes old attempts in small batches by time.

Built CONCURRENTLY (outside the migration transaction) so that adding it to a
large, busy attempts table never blocks the dispatchers writing to it.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_webhook_attempts_at",
            "webhook_attempts",
            ["at"],
            unique=False,
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_webhook_attempts_at", table_name="webhook_attempts", postgresql_concurrently=True, if_exists=True
        )

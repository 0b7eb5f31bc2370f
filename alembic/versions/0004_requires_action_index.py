"""Partial index for the job that fails unanswered 3-D Secure challenges.

Like ix_pi_requires_capture: the job scans only intents waiting in REQUIRES_ACTION,
a tiny fraction of the table. Built CONCURRENTLY so adding it never blocks writes.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_pi_requires_action",
            "payment_intents",
            ["updated_at"],
            unique=False,
            postgresql_where=sa.text("status = 'REQUIRES_ACTION'"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_pi_requires_action", table_name="payment_intents", postgresql_concurrently=True, if_exists=True
        )

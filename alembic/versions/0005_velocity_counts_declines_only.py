"""The velocity rule's index holds only declined attempts.

ix_attempt_velocity indexed every attempt of a card at a merchant, so counting
the card's recent declines read every recent *approved* attempt as well and
filtered them out on the heap: a merchant whose customers pay often with one
card paid for each of those rows on every authorization (measured: PostgreSQL
CPU per processPaymentIntent grew with the table, 3-6 ms at 10k attempts). The
partial index holds declines only, so the count reads just the rows it counts.
Both built and dropped CONCURRENTLY so the change never blocks writes.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same predicate as nexus.db.models.DECLINED_OUTCOMES (a migration keeps its own copy).
DECLINED = "outcome IN ('declined', 'blocked')"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_attempt_declines",
            "payment_attempts",
            ["merchant_id", "card_fingerprint", "created_at"],
            unique=False,
            postgresql_where=sa.text(DECLINED),
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index(
            "ix_attempt_velocity", table_name="payment_attempts", postgresql_concurrently=True, if_exists=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_attempt_velocity",
            "payment_attempts",
            ["merchant_id", "card_fingerprint", "created_at"],
            unique=False,
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index(
            "ix_attempt_declines", table_name="payment_attempts", postgresql_concurrently=True, if_exists=True
        )

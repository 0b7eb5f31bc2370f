"""ANALYZE samples 3,000 rows of the tables every payment writes, not 30,000.

ANALYZE reads 300 rows per unit of the largest statistics target among a table's
columns: 30,000 at PostgreSQL's default target of 100. Autovacuum re-analyzes a table
each time a tenth of it changed, and while it runs requests slow down: with ANALYZE of
payment_intents, events and idempotency_keys (~20,000 rows each) started inside every
other 5,000-request cell of creates at c=32, those cells' p99 was 19.5 ms and 10 ms higher
than the cells without, in two runs of twelve cells; with a target of 10 it was 1.6 and
3.4 ms higher, and ANALYZE took 0.05-0.46 s instead of 0.12-1.02 s (bench/README.md).

What the planner loses is precision it does not use here: every query reaches these
rows by primary key, by a unique key (merchant and idempotency key), or through an index
whose order matches its ORDER BY ... LIMIT (a merchant's intents, events, due deliveries,
a card's recent declines); none needs more than ten most-common values or histogram
buckets to pick its index. The JSON documents keep a target of 0 (migration 0007). Other tables (merchants,
keys, endpoints) are small and keep the default.
SET STATISTICS takes a lock that blocks neither reads nor writes.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A target of 10: the sample is 3,000 rows, ten most-common values and ten histogram buckets.
TARGET = 10

# Every column of the tables written per request, except the documents 0007 set to 0.
COLUMNS = {
    "payment_intents": (
        "id", "merchant_id", "amount", "currency", "status", "capture_method", "amount_capturable",
        "amount_received", "amount_refunded", "client_secret", "description", "cancellation_reason",
        "version", "created_at", "updated_at",
    ),
    "events": (
        "id", "seq", "merchant_id", "type", "api_version", "payment_intent_id", "payment_intent_version",
        "idempotency_key", "created_at",
    ),
    "idempotency_keys": ("id", "scope", "key", "operation", "fingerprint", "locked_at", "recovery_point", "created_at"),
    "payment_attempts": (
        "id", "merchant_id", "payment_intent_id", "card_brand", "card_last4", "card_fingerprint",
        "card_exp_month", "card_exp_year", "card_ciphertext", "outcome", "decline_code", "risk_score",
        "risk_level", "risk_reasons", "network_status", "idempotency_key", "created_at", "resolved_at",
    ),
    "bank_authorizations": ("attempt_id", "authenticated", "created_at"),
    "webhook_deliveries": (
        "id", "merchant_id", "event_id", "endpoint_id", "status", "attempt_count", "next_attempt_at",
        "created_at", "updated_at",
    ),
    "webhook_attempts": ("id", "delivery_id", "at", "status_code", "latency_ms", "error", "response_body"),
}  # fmt: skip


def _set(target: int) -> None:
    for table, columns in COLUMNS.items():
        clauses = ", ".join(f'ALTER COLUMN "{column}" SET STATISTICS {target}' for column in columns)
        op.execute(f"ALTER TABLE {table} {clauses}")


def upgrade() -> None:
    _set(TARGET)


def downgrade() -> None:
    _set(-1)  # PostgreSQL's default_statistics_target again

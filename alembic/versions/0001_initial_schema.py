"""initial schema: merchants, keys, intents, attempts, refunds, events, webhook outbox, idempotency.

The events_fanout trigger writes the webhook outbox rows and NOTIFYs the realtime
broker in the transaction that inserts the event: no extra round-trip, no way
to commit an event without its deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 05:56:47.848993
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FANOUT_FUNCTION = """
CREATE FUNCTION nexus_events_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries
    (id, merchant_id, event_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
  SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), NEW.merchant_id, NEW.id, e.id,
         'pending', 0, now(), now(), now()
  FROM webhook_endpoints e
  WHERE e.merchant_id = NEW.merchant_id AND NOT e.disabled AND e.deleted_at IS NULL
    AND e.enabled_events && ARRAY['*', NEW.type, split_part(NEW.type, '.', 1) || '.*']::varchar[];
  -- ids only: pg_notify payloads must stay under 8000 bytes.
  PERFORM pg_notify('nexus_events', json_build_object(
    'id', NEW.id, 'm', NEW.merchant_id, 'pi', NEW.payment_intent_id,
    'v', NEW.payment_intent_version, 's', NEW.seq)::text);
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "bank_authorizations",
        sa.Column("attempt_id", sa.String(length=40), nullable=False),
        sa.Column("authenticated", sa.Boolean(), nullable=False),
        sa.Column("decision", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", "authenticated"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=60), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovery_point", sa.String(length=60), nullable=False),
        sa.Column("recovery_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),
    )
    op.create_index("ix_idempotency_created", "idempotency_keys", ["created_at"], unique=False)
    op.create_table(
        "merchants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("display_prefix", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('secret', 'publishable')", name="api_key_kind"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index(op.f("ix_api_keys_merchant_id"), "api_keys", ["merchant_id"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("api_version", sa.String(length=20), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=40), nullable=True),
        sa.Column("payment_intent_version", sa.Integer(), nullable=True),
        sa.Column("intent_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("ix_event_created", "events", ["created_at"], unique=False)
    op.create_index("ix_event_intent_version", "events", ["payment_intent_id", "payment_intent_version"], unique=False)
    op.create_index(
        "ix_event_merchant_created",
        "events",
        ["merchant_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "payment_intents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("capture_method", sa.String(length=16), nullable=False),
        sa.Column("amount_capturable", sa.BigInteger(), nullable=False),
        sa.Column("amount_received", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("client_secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("last_payment_error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('CREATED','PROCESSING','REQUIRES_ACTION','REQUIRES_CAPTURE','SUCCEEDED','FAILED','CANCELED')",
            name="pi_status",
        ),
        sa.CheckConstraint("amount > 0", name="pi_amount_positive"),
        sa.CheckConstraint("amount_capturable >= 0 AND amount_capturable <= amount", name="pi_capturable_range"),
        sa.CheckConstraint("amount_received >= 0 AND amount_received <= amount", name="pi_received_le_amount"),
        sa.CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount_received", name="pi_refunded_le_received"
        ),
        sa.CheckConstraint("version >= 1", name="pi_version_positive"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_pi_merchant_created",
        "payment_intents",
        ["merchant_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_pi_requires_capture",
        "payment_intents",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("status = 'REQUIRES_CAPTURE'"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("enabled_events", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_webhook_endpoints_merchant_id"), "webhook_endpoints", ["merchant_id"], unique=False)
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=40), nullable=False),
        sa.Column("card_brand", sa.String(length=20), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("card_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("card_exp_month", sa.Integer(), nullable=False),
        sa.Column("card_exp_year", sa.Integer(), nullable=False),
        sa.Column("card_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("decline_code", sa.String(length=40), nullable=True),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("risk_reasons", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("network_status", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_intent_id"], ["payment_intents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_attempt_pending",
        "payment_attempts",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("outcome IN ('pending', 'authenticating')"),
    )
    op.create_index(
        "ix_attempt_velocity",
        "payment_attempts",
        ["merchant_id", "card_fingerprint", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_payment_attempts_payment_intent_id"), "payment_attempts", ["payment_intent_id"], unique=False
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount > 0", name="refund_amount_positive"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_intent_id"], ["payment_intents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_refunds_payment_intent_id"), "refunds", ["payment_intent_id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('pending','succeeded','failed')", name="delivery_status"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_delivery_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(op.f("ix_webhook_deliveries_endpoint_id"), "webhook_deliveries", ["endpoint_id"], unique=False)
    op.create_index(op.f("ix_webhook_deliveries_event_id"), "webhook_deliveries", ["event_id"], unique=False)
    op.create_table(
        "webhook_secrets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_webhook_secrets_endpoint_id"), "webhook_secrets", ["endpoint_id"], unique=False)
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("response_body", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"], unique=False)

    op.execute(FANOUT_FUNCTION)
    op.execute(
        "CREATE TRIGGER events_fanout AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION nexus_events_fanout()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_fanout ON events")
    op.execute("DROP FUNCTION IF EXISTS nexus_events_fanout()")
    op.drop_index(op.f("ix_webhook_attempts_delivery_id"), table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index(op.f("ix_webhook_secrets_endpoint_id"), table_name="webhook_secrets")
    op.drop_table("webhook_secrets")
    op.drop_index(op.f("ix_webhook_deliveries_event_id"), table_name="webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_endpoint_id"), table_name="webhook_deliveries")
    op.drop_index("ix_delivery_due", table_name="webhook_deliveries", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_refunds_payment_intent_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_payment_attempts_payment_intent_id"), table_name="payment_attempts")
    op.drop_index("ix_attempt_velocity", table_name="payment_attempts")
    op.drop_index(
        "ix_attempt_pending",
        table_name="payment_attempts",
        postgresql_where=sa.text("outcome IN ('pending', 'authenticating')"),
    )
    op.drop_table("payment_attempts")
    op.drop_index(op.f("ix_webhook_endpoints_merchant_id"), table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_index(
        "ix_pi_requires_capture",
        table_name="payment_intents",
        postgresql_where=sa.text("status = 'REQUIRES_CAPTURE'"),
    )
    op.drop_index("ix_pi_merchant_created", table_name="payment_intents")
    op.drop_table("payment_intents")
    op.drop_index("ix_event_merchant_created", table_name="events")
    op.drop_index("ix_event_intent_version", table_name="events")
    op.drop_index("ix_event_created", table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_api_keys_merchant_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("merchants")
    op.drop_index("ix_idempotency_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("bank_authorizations")

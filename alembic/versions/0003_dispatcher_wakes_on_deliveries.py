"""The events trigger also notifies `nexus_deliveries`, and only when it wrote outbox rows.

The dispatcher used to LISTEN on `nexus_events`, so every committed event woke the
dispatcher of every API process for a claim and a next-due query, even for a merchant
with no webhook endpoint (2 transactions per event per process: ~13 % of an API
process's CPU in the createPaymentIntent benchmark). Now it listens on
`nexus_deliveries`, which the trigger notifies only when the event matched an endpoint.
`nexus_events` (the subscriptions' feed) is unchanged.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BODY = """
CREATE OR REPLACE FUNCTION nexus_events_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries
    (id, merchant_id, event_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
  SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), NEW.merchant_id, NEW.id, e.id,
         'pending', 0, now(), now(), now()
  FROM webhook_endpoints e
  WHERE e.merchant_id = NEW.merchant_id AND NOT e.disabled AND e.deleted_at IS NULL
    AND e.enabled_events && ARRAY['*', NEW.type, split_part(NEW.type, '.', 1) || '.*']::varchar[];
  {wake}
  -- ids only: pg_notify payloads must stay under 8000 bytes.
  PERFORM pg_notify('nexus_events', json_build_object(
    'id', NEW.id, 'm', NEW.merchant_id, 'pi', NEW.payment_intent_id,
    'v', NEW.payment_intent_version, 's', NEW.seq)::text);
  RETURN NULL;
END $$;
"""
# FOUND: the INSERT above wrote at least one delivery. Identical payloads in one transaction
# are folded into one notification by PostgreSQL, so a burst costs one wake-up.
_WAKE = "IF FOUND THEN PERFORM pg_notify('nexus_deliveries', ''); END IF;"


def upgrade() -> None:
    op.execute(_BODY.replace("{wake}", _WAKE))


def downgrade() -> None:
    op.execute(_BODY.replace("{wake}", ""))

"""The events trigger notifies `nexus_events` only for merchants somebody is watching.

`pg_notify` makes its transaction take one lock for the whole server at COMMIT, and
hold it through the WAL flush, so that notifications leave in commit order: every
committing transaction that notified waits for the one before it to reach the disk,
and none of them can share a flush. With pgbench running processPaymentIntent's own
transactions at 32 clients, dropping the notification raised 1,480 to 2,470
transactions/s and halved their p50 (20 → 11 ms); the gateway's payments went from
666 to 816/s, interleaved (bench/README.md, fix 28). Most merchants have no open
subscription most of the time, and were paying this for nobody.

Each API process now records in `realtime_listeners` the merchants its subscribers
watch (nexus.realtime.interest), and the trigger notifies only while such a row is
live. A subscription's registration takes the merchant's advisory lock exclusively and
the trigger takes it shared: registering waits for every transaction that already wrote
an event for that merchant without notifying, so a subscriber that registers and then
reads the current state cannot miss a change that commits after its read.

`nexus_deliveries` (the dispatcher's wake-up, only when the event made outbox rows) is
unchanged.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The advisory lock's first key: nexus.db.repositories.realtime_listeners.LOCK_CLASS (a migration
# keeps its own copy).
LOCK_CLASS = 7_140_001

_HEAD = """
CREATE OR REPLACE FUNCTION nexus_events_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries
    (id, merchant_id, event_id, endpoint_id, status, attempt_count, next_attempt_at, created_at, updated_at)
  SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), NEW.merchant_id, NEW.id, e.id,
         'pending', 0, now(), now(), now()
  FROM webhook_endpoints e
  WHERE e.merchant_id = NEW.merchant_id AND NOT e.disabled AND e.deleted_at IS NULL
    AND e.enabled_events && ARRAY['*', NEW.type, split_part(NEW.type, '.', 1) || '.*']::varchar[];
  IF FOUND THEN PERFORM pg_notify('nexus_deliveries', ''); END IF;
"""
_NOTIFY = """
  -- ids only: pg_notify payloads must stay under 8000 bytes.
  PERFORM pg_notify('nexus_events', json_build_object(
    'id', NEW.id, 'm', NEW.merchant_id, 'pi', NEW.payment_intent_id,
    'v', NEW.payment_intent_version, 's', NEW.seq)::text);
"""
_TAIL = """
  RETURN NULL;
END $$;
"""
# Shared, until this transaction ends: a registration for this merchant (exclusive) waits
# for us, and we wait for it. The EXISTS runs after the lock, so it sees a registration
# that committed while we waited (READ COMMITTED: each statement takes a fresh snapshot).
_GATED = """
  PERFORM pg_advisory_xact_lock_shared({lock_class}, hashtext(NEW.merchant_id));
  IF EXISTS (SELECT 1 FROM realtime_listeners l
             WHERE l.merchant_id = NEW.merchant_id AND l.expires_at > now()) THEN
{notify}
  END IF;
""".replace("{lock_class}", str(LOCK_CLASS)).replace("{notify}", _NOTIFY)


def upgrade() -> None:
    op.create_table(
        "realtime_listeners",
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        # One API process's broker (a random id per start).
        sa.Column("listener", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "listener"),
    )
    op.execute(_HEAD + _GATED + _TAIL)


def downgrade() -> None:
    op.execute(_HEAD + _NOTIFY + _TAIL)
    op.drop_table("realtime_listeners")

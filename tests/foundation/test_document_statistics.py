"""ANALYZE builds no statistics for the JSON documents (migration 0007), keeps them for the
columns queries filter on, and samples the tables every payment writes with a target of 10
(migration 0008): 3,000 rows instead of 30,000."""

from __future__ import annotations

import asyncpg

from nexus.db.dsn import asyncpg_dsn

DOCUMENTS = {
    ("events", "data"),
    ("events", "intent_snapshot"),
    ("idempotency_keys", "response"),
    ("idempotency_keys", "recovery_data"),
    ("payment_intents", "metadata"),
    ("payment_intents", "last_payment_error"),
    ("bank_authorizations", "decision"),
}
HOT_TABLES = (
    "payment_intents",
    "events",
    "idempotency_keys",
    "payment_attempts",
    "bank_authorizations",
    "webhook_deliveries",
    "webhook_attempts",
)
HOT_TARGET = 10


async def _targets(conn: asyncpg.Connection, table: str) -> dict[str, int | None]:
    rows = await conn.fetch(
        "SELECT attname, attstattarget FROM pg_attribute"
        " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
        table,
    )
    return {r["attname"]: r["attstattarget"] for r in rows}


async def test_every_column_of_the_hot_tables_has_a_small_or_no_target(database_url: str) -> None:
    """A column added later without a target would bring ANALYZE back to 30,000 rows."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        for table in HOT_TABLES:
            for column, target in (await _targets(conn, table)).items():
                expected = 0 if (table, column) in DOCUMENTS else HOT_TARGET
                assert target == expected, f"{table}.{column} has statistics target {target}, not {expected}"
        # Small tables keep PostgreSQL's default.
        assert (await _targets(conn, "merchants"))["id"] in (None, -1)
    finally:
        await conn.close()


async def test_analyze_skips_the_documents_and_keeps_the_keys_in_ten_buckets(database_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(
            "INSERT INTO merchants (id, name, email) VALUES ('m_stats', 'Stats', 'stats@shop.test')"
            " ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO events (id, merchant_id, type, api_version, data, created_at)"
            " SELECT 'evt_stats_' || n, 'm_stats', 'payment_intent.created', '2026-11-28', '{\"n\": 1}'::jsonb,"
            " now() - n * interval '1 second'"
            " FROM generate_series(1, 500) n ON CONFLICT DO NOTHING"
        )
        await conn.execute("ANALYZE events")
        stats = {
            r["attname"]: r["bounds"]
            for r in await conn.fetch(
                "SELECT attname, cardinality(histogram_bounds::text::text[]) AS bounds"
                " FROM pg_stats WHERE tablename = 'events'"
            )
        }
        assert "merchant_id" in stats and "created_at" in stats
        assert "data" not in stats and "intent_snapshot" not in stats
        # 500 distinct times: the default target would draw 101 histogram bounds, a target of 10 draws 11.
        assert stats["created_at"] == HOT_TARGET + 1
    finally:
        await conn.close()

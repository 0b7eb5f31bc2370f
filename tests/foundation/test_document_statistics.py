"""ANALYZE builds no statistics for the JSON documents (migration 0007), and keeps them for
the columns queries filter on."""

from __future__ import annotations

import asyncpg

from nexus.db.dsn import asyncpg_dsn


async def test_analyze_skips_the_documents_and_keeps_the_keys(database_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        targets = dict(
            await conn.fetch(
                "SELECT attname, attstattarget FROM pg_attribute"
                " WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped"
            )
        )
        assert targets["data"] == 0 and targets["intent_snapshot"] == 0
        assert targets["merchant_id"] in (None, -1)  # the default target

        await conn.execute(
            "INSERT INTO merchants (id, name, email) VALUES ('m_stats', 'Stats', 'stats@shop.test')"
            " ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO events (id, merchant_id, type, api_version, data)"
            " SELECT 'evt_stats_' || n, 'm_stats', 'payment_intent.created', '2026-11-28', '{\"n\": 1}'::jsonb"
            " FROM generate_series(1, 200) n ON CONFLICT DO NOTHING"
        )
        await conn.execute("ANALYZE events")
        analyzed = {r["attname"] for r in await conn.fetch("SELECT attname FROM pg_stats WHERE tablename = 'events'")}
        assert "merchant_id" in analyzed and "created_at" in analyzed
        assert "data" not in analyzed and "intent_snapshot" not in analyzed
    finally:
        await conn.close()

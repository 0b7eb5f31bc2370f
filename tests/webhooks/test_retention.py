"""Retention on a real database: old events (with their deliveries and attempts) and old attempts go."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.config import Settings
from nexus.db.dsn import asyncpg_dsn
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.services import retention

RETENTION_DAYS = 30


@pytest.fixture
async def sessions(hook_db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(hook_db_url, Settings(DATABASE_URL=hook_db_url), pool_size=2)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _seed(conn: asyncpg.Connection, merchant: str, event: str, age_days: int, attempt_age_days: int) -> str:
    await conn.execute(
        "INSERT INTO events (id, merchant_id, type, api_version, data, created_at)"
        " VALUES ($1, $2, 'payment_intent.created', '2026-11-28', '{}'::jsonb, now() - make_interval(days => $3))",
        event,
        merchant,
        age_days,
    )
    delivery = f"whd_{uuid.uuid4().hex}"
    await conn.execute(
        "INSERT INTO webhook_deliveries (id, merchant_id, event_id, endpoint_id, status, attempt_count)"
        " VALUES ($1, $2, $3, $4, 'succeeded', 1)",
        delivery,
        merchant,
        event,
        f"we_{merchant}",
    )
    await conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, at, status_code)"
        " VALUES ($1, now() - make_interval(days => $2), 200)",
        delivery,
        attempt_age_days,
    )
    return delivery


async def test_prune_removes_only_what_is_past_retention(
    hook_db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    merchant = f"acct_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(asyncpg_dsn(hook_db_url))
    try:
        await conn.execute("INSERT INTO merchants (id, name, email) VALUES ($1, 'Old Shop', 'old@shop.test')", merchant)
        await conn.execute(
            "INSERT INTO webhook_endpoints (id, merchant_id, url, enabled_events, disabled)"
            " VALUES ($1, $2, 'http://127.0.0.1:9/x', ARRAY['refund.created'], true)",
            f"we_{merchant}",
            merchant,
        )
        old = [await _seed(conn, merchant, f"evt_old{i}_{merchant}", 40, 40) for i in range(3)]
        kept = await _seed(conn, merchant, f"evt_new_{merchant}", 1, 1)
        long_retried = await _seed(conn, merchant, f"evt_mid_{merchant}", 10, 35)

        await retention.prune_once(sessions, RETENTION_DAYS)

        events = await conn.fetch("SELECT id FROM events WHERE merchant_id = $1", merchant)
        assert {r["id"] for r in events} == {f"evt_new_{merchant}", f"evt_mid_{merchant}"}
        deliveries = await conn.fetch("SELECT id FROM webhook_deliveries WHERE merchant_id = $1", merchant)
        assert {r["id"] for r in deliveries} == {kept, long_retried}
        attempts = await conn.fetch(
            "SELECT delivery_id FROM webhook_attempts WHERE delivery_id = ANY($1::text[])", [*old, kept, long_retried]
        )
        assert [r["delivery_id"] for r in attempts] == [kept]
    finally:
        await conn.close()


async def test_prune_works_in_batches(
    hook_db_url: str, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "RETENTION_BATCH", 2)
    merchant = f"acct_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(asyncpg_dsn(hook_db_url))
    try:
        await conn.execute("INSERT INTO merchants (id, name, email) VALUES ($1, 'Old Shop', 'old@shop.test')", merchant)
        await conn.execute(
            "INSERT INTO webhook_endpoints (id, merchant_id, url, enabled_events, disabled)"
            " VALUES ($1, $2, 'http://127.0.0.1:9/x', ARRAY['refund.created'], true)",
            f"we_{merchant}",
            merchant,
        )
        for i in range(5):
            await _seed(conn, merchant, f"evt_b{i}_{merchant}", 45, 45)
        await retention.prune_once(sessions, RETENTION_DAYS)
        assert await conn.fetchval("SELECT count(*) FROM events WHERE merchant_id = $1", merchant) == 0
    finally:
        await conn.close()

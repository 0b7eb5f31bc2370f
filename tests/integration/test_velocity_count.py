"""The velocity rule counts a card's declines from the partial index, whatever its approvals."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories import attempts
from nexus.db.uow import UnitOfWork
from nexus.domain.status import CaptureMethod
from nexus.services import merchants, payment_intents
from nexus.services.auth import Principal
from nexus.services.processing import Processor
from nexus.services.records import now

APPROVED = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
# Declined by the issuer (API.md test cards): a decline that counts for velocity.
DECLINED = {**APPROVED, "number": "4000000000000002"}


async def _pay(
    sessions: async_sessionmaker[AsyncSession], processor: Processor, p: Principal, card: dict[str, Any]
) -> tuple[str, str]:
    created = await payment_intents.create(
        sessions, p.merchant_id, 1500, "usd", CaptureMethod.AUTOMATIC, None, None, uuid.uuid4().hex
    )
    result = await processor.process(p, created.intent.id, None, card, uuid.uuid4().hex)
    return created.intent.id, result.intent.status.value


async def test_declines_are_counted_and_approvals_are_not(
    sessions: async_sessionmaker[AsyncSession], processor: Processor
) -> None:
    signup = await merchants.signup(sessions, "Velocity Shop", f"{uuid.uuid4().hex[:6]}@x.test", None)
    p = Principal(merchant_id=signup.merchant.id, kind="secret", key_id="test")
    approved = [await _pay(sessions, processor, p, APPROVED) for _ in range(3)]
    declined = [await _pay(sessions, processor, p, DECLINED) for _ in range(2)]
    assert {status for _, status in approved} == {"SUCCEEDED"}
    assert {status for _, status in declined} == {"FAILED"}
    async with UnitOfWork(sessions) as uow:
        rows = await uow.attempts.for_intents([intent_id for intent_id, _ in approved + declined])
        by_card = {r.card_last4: r.card_fingerprint for r in rows}
        since = now() - timedelta(minutes=10)
        assert await uow.attempts.recent_declines(p.merchant_id, by_card["0002"], since) == 2
        assert await uow.attempts.recent_declines(p.merchant_id, by_card["4242"], since) == 0


async def test_the_count_uses_the_partial_index_under_a_generic_plan(database_url: str) -> None:
    """asyncpg prepares statements, and PostgreSQL turns them into generic plans: the
    index's predicate must be in the SQL itself, not in parameters, or it is never used."""
    sql = str(attempts._RECENT_DECLINES.statement.compile(dialect=postgresql.asyncpg.dialect()))
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        # The test table is tiny: without this the planner would rightly prefer a sequential scan.
        await conn.execute("SET enable_seqscan = off")
        await conn.execute(f"PREPARE velocity AS {sql}")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN EXECUTE velocity('m', 'f', now())"))
    finally:
        await conn.close()
    assert "ix_attempt_declines" in plan, plan

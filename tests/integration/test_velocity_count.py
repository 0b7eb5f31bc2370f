"""The velocity rule counts a card's declines from the partial index, whatever its approvals."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories import attempts
from nexus.db.repositories import payment_intents as payment_intents_repo
from nexus.db.repositories.prepared import Prepared
from nexus.db.uow import UnitOfWork
from nexus.domain.bank import VELOCITY_LIMIT
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


async def test_the_velocity_rule_blocks_a_card_after_too_many_declines(
    sessions: async_sessionmaker[AsyncSession], processor: Processor
) -> None:
    """End to end through processing: the count phase 1 reads reaches the bank's rule."""
    signup = await merchants.signup(sessions, "Card Testing", f"{uuid.uuid4().hex[:6]}@x.test", None)
    p = Principal(merchant_id=signup.merchant.id, kind="secret", key_id="test")
    for _ in range(VELOCITY_LIMIT + 1):
        _, status = await _pay(sessions, processor, p, DECLINED)
        assert status == "FAILED"
    blocked_id, status = await _pay(sessions, processor, p, DECLINED)
    assert status == "FAILED"
    # Another merchant's count is its own: the same card is merely declined there.
    other = await merchants.signup(sessions, "Other Shop", f"{uuid.uuid4().hex[:6]}@x.test", None)
    elsewhere_id, _ = await _pay(
        sessions, processor, Principal(merchant_id=other.merchant.id, kind="secret", key_id="test"), DECLINED
    )
    async with UnitOfWork(sessions) as uow:
        blocked = (await uow.attempts.for_intents([blocked_id]))[0]
        elsewhere = (await uow.attempts.for_intents([elsewhere_id]))[0]
    assert (blocked.outcome, blocked.decline_code) == ("blocked", "fraudulent")
    assert "velocity" in blocked.risk_reasons
    assert (elsewhere.outcome, elsewhere.decline_code) == ("declined", "generic_decline")


@pytest.mark.parametrize(
    ("statement", "args"),
    [
        (attempts._RECENT_DECLINES, "('m', 'f', now())"),
        # Phase 1's read: the intent, locked, with the count as a scalar subquery.
        (payment_intents_repo._GET_FOR_PROCESSING, "('m', 'f', now(), 'pi')"),
    ],
    ids=["count", "phase-1 read"],
)
async def test_the_count_uses_the_partial_index_under_a_generic_plan(
    database_url: str, statement: Prepared, args: str
) -> None:
    """asyncpg prepares statements, and PostgreSQL turns them into generic plans: the
    index's predicate must be in the SQL itself, not in parameters, or it is never used."""
    sql = str(statement.statement.compile(dialect=postgresql.asyncpg.dialect()))
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        # The test table is tiny: without this the planner would rightly prefer a sequential scan.
        await conn.execute("SET enable_seqscan = off")
        await conn.execute(f"PREPARE velocity AS {sql}")
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE velocity{args}"))
    finally:
        await conn.close()
    assert "ix_attempt_declines" in plan, plan

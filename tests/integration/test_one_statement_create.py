"""A create with a key never seen is one statement, a transaction by itself (no BEGIN, no
COMMIT); a key that exists fails that statement whole and the request goes the general way
(claim, then replay, refuse or re-run). Real PostgreSQL, the statements the driver sent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nexus.db.uow import UnitOfWork
from nexus.domain.errors import AmountTooSmall, IdempotencyKeyReused
from nexus.domain.status import CaptureMethod
from nexus.services import merchants, payment_intents


@pytest.fixture
async def sent(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """Every statement the engine's connections send from now on, as the driver got it."""
    statements: list[str] = []

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda query: statements.append(query.query))

    event.listen(engine.sync_engine, "connect", on_connect)
    await engine.dispose()  # pooled connections predate the logger
    yield statements
    event.remove(engine.sync_engine, "connect", on_connect)


@pytest.fixture
async def other(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    yield conn
    await conn.close()


async def _settle() -> None:
    """asyncpg calls query loggers with call_soon: let the loop run them."""
    for _ in range(3):
        await asyncio.sleep(0)


async def _merchant(sessions: async_sessionmaker[AsyncSession]) -> str:
    signed = await merchants.signup(sessions, "One Statement Shop", f"{uuid.uuid4().hex[:8]}@x.test", None)
    await _settle()
    return signed.merchant.id


async def _create(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, key: str, amount: int = 1000
) -> payment_intents.IntentResult:
    return await payment_intents.create(
        sessions, merchant_id, amount, "usd", CaptureMethod.AUTOMATIC, "order 1", {"o": "1"}, key
    )


async def _rows(other: asyncpg.Connection, merchant_id: str) -> tuple[int, int, int]:
    intents = await other.fetchval("SELECT count(*) FROM payment_intents WHERE merchant_id = $1", merchant_id)
    events = await other.fetchval("SELECT count(*) FROM events WHERE merchant_id = $1", merchant_id)
    keys = await other.fetchval("SELECT count(*) FROM idempotency_keys WHERE scope = $1", merchant_id)
    return intents, events, keys


async def test_a_create_with_a_new_key_is_one_statement_that_writes_everything(
    sessions: async_sessionmaker[AsyncSession], sent: list[str], other: asyncpg.Connection
) -> None:
    merchant_id = await _merchant(sessions)
    sent.clear()
    result = await _create(sessions, merchant_id, "k-" + uuid.uuid4().hex)
    await _settle()
    assert not result.replayed
    assert len(sent) == 1, sent  # no BEGIN, no claim, no COMMIT
    assert sent[0].startswith("WITH "), sent[0]
    assert await _rows(other, merchant_id) == (1, 1, 1)
    key = await other.fetchrow(
        "SELECT locked_at, recovery_point, response FROM idempotency_keys WHERE scope = $1", merchant_id
    )
    # The key is written as a claim and its finish would leave it: finished, unlocked, answered.
    assert key["locked_at"] is None and key["recovery_point"] == "finished"
    assert f'"id": "{result.intent.id}"' in key["response"]


async def test_a_key_that_exists_fails_the_statement_whole_and_the_request_replays(
    sessions: async_sessionmaker[AsyncSession], sent: list[str], other: asyncpg.Connection
) -> None:
    merchant_id = await _merchant(sessions)
    key = "k-" + uuid.uuid4().hex
    first = await _create(sessions, merchant_id, key)
    sent.clear()
    again = await _create(sessions, merchant_id, key)
    await _settle()
    assert again.replayed and again.intent.id == first.intent.id
    # The one statement went first and failed on the key; the general way then claimed and read.
    assert sent[0].startswith("WITH ") and "BEGIN" in sent[1:], sent
    # Nothing of the failed statement is kept: still one intent, one event, one key.
    assert await _rows(other, merchant_id) == (1, 1, 1)


async def test_concurrent_first_requests_with_one_key_create_one_intent(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    merchant_id = await _merchant(sessions)
    key = "k-" + uuid.uuid4().hex
    results = await asyncio.gather(*(_create(sessions, merchant_id, key) for _ in range(6)))
    assert sorted(r.replayed for r in results) == [False] + [True] * 5
    assert len({r.intent.id for r in results}) == 1
    assert await _rows(other, merchant_id) == (1, 1, 1)


async def test_a_reused_key_is_reported_before_what_else_is_wrong_with_the_request(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    """The one statement is tried only with a request the body accepts: a refused one goes
    the general way, which claims first, so a reused key is named as before."""
    merchant_id = await _merchant(sessions)
    key = "k-" + uuid.uuid4().hex
    await _create(sessions, merchant_id, key)
    with pytest.raises(IdempotencyKeyReused):
        await _create(sessions, merchant_id, key, amount=0)
    with pytest.raises(AmountTooSmall):
        await _create(sessions, merchant_id, "k-" + uuid.uuid4().hex, amount=0)
    assert await _rows(other, merchant_id) == (1, 1, 1)


async def test_a_one_statement_unit_of_work_refuses_reads_and_a_second_write_to_a_table(
    sessions: async_sessionmaker[AsyncSession], sent: list[str], other: asyncpg.Connection
) -> None:
    merchant_id = await _merchant(sessions)
    sent.clear()
    with pytest.raises(RuntimeError, match="only holds writes"):
        async with UnitOfWork(sessions, driver_only=True, one_statement=True) as uow:
            await uow.idempotency.get(merchant_id, "k")
    key = "k-" + uuid.uuid4().hex
    with pytest.raises(RuntimeError, match="writes idempotency_keys once"):
        async with UnitOfWork(sessions, driver_only=True, one_statement=True) as uow:
            await uow.idempotency.add_finished(merchant_id, key, "test", "fp", {"n": 1}, _now())
            await uow.idempotency.add_finished(merchant_id, key + "2", "test", "fp", {"n": 2}, _now())
    await _settle()
    assert sent == []  # nothing reached PostgreSQL, not even a BEGIN
    assert await _rows(other, merchant_id) == (0, 0, 0)
    with pytest.raises(ValueError, match="driver-only"):
        UnitOfWork(sessions, one_statement=True)


async def test_a_failure_before_the_commit_sends_nothing_and_the_connection_stays_clean(
    sessions: async_sessionmaker[AsyncSession], sent: list[str], other: asyncpg.Connection
) -> None:
    merchant_id = await _merchant(sessions)
    key = "k-" + uuid.uuid4().hex
    sent.clear()
    with pytest.raises(LookupError):
        async with UnitOfWork(sessions, driver_only=True, one_statement=True) as uow:
            await uow.idempotency.add_finished(merchant_id, key, "test", "fp", {"n": 1}, _now())
            raise LookupError("a failure before the commit")
    await _settle()
    assert sent == []
    async with UnitOfWork(sessions, driver_only=True, one_statement=True) as uow:
        await uow.idempotency.add_finished(merchant_id, key, "test", "fp", {"n": 2}, _now())
        await uow.commit()
    await _settle()
    assert len(sent) == 1  # only this unit of work's own statement
    stored = await other.fetchval("SELECT response FROM idempotency_keys WHERE scope = $1", merchant_id)
    assert stored == '{"n": 2}'


def _now() -> Any:
    from nexus.services.records import now

    return now()

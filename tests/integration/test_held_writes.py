"""A driver-only unit of work holds its writes back and sends them as one statement before
its next statement or its COMMIT (`prepared.write`): same transaction, same outcome."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories.events import NewEvent
from nexus.db.uow import UnitOfWork
from nexus.services import merchants

SCOPE = "held-writes-test"


@pytest.fixture
async def other(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another session: it sees only what is committed, and runs into what is locked."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    yield conn
    await conn.close()


async def _committed_key(sessions: async_sessionmaker[AsyncSession]) -> str:
    key = uuid.uuid4().hex
    async with UnitOfWork(sessions, driver_only=True) as uow:
        assert await uow.idempotency.claim(SCOPE, key, "test", "fp", datetime.now(UTC), locked=True)
        await uow.commit()
    return key


async def _locked(other: asyncpg.Connection, key: str) -> bool:
    """Whether some transaction holds a write lock on the key's row right now."""
    async with other.transaction():
        try:
            await other.execute(
                "SELECT 1 FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE NOWAIT", SCOPE, key
            )
        except asyncpg.LockNotAvailableError:
            return True
    return False


async def _recovery_point(other: asyncpg.Connection, key: str) -> str:
    sql = "SELECT recovery_point FROM idempotency_keys WHERE scope = $1 AND key = $2"
    point: str = await other.fetchval(sql, SCOPE, key)
    return point


def _event(merchant_id: str, kind: str) -> NewEvent:
    return NewEvent(
        id="evt_" + uuid.uuid4().hex,
        merchant_id=merchant_id,
        type=kind,
        api_version="2026-11-28",
        data={"object": {}},
        payment_intent_id=None,
        payment_intent_version=None,
        intent_snapshot=None,
        idempotency_key=None,
        created_at=datetime.now(UTC),
    )


async def test_a_held_write_is_sent_before_the_next_statement_and_committed_with_it(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    key = await _committed_key(sessions)
    async with UnitOfWork(sessions, driver_only=True) as uow:
        await uow.idempotency.finish(SCOPE, key, {"answer": 1})
        assert not await _locked(other, key)  # held: the UPDATE has not reached PostgreSQL
        stored = await uow.idempotency.get(SCOPE, key)
        # The read went after the write, as the code reads: it sees it, and the row is now locked.
        assert stored is not None and stored.recovery_point == "finished"
        assert await _locked(other, key)
        assert await _recovery_point(other, key) == "started"  # not committed yet
        await uow.commit()
    assert await _recovery_point(other, key) == "finished"


async def test_held_writes_are_sent_at_the_commit(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    key = await _committed_key(sessions)
    async with UnitOfWork(sessions, driver_only=True) as uow:
        await uow.idempotency.finish(SCOPE, key, {"answer": 2})
        await uow.commit()
    assert await _recovery_point(other, key) == "finished"


async def test_held_writes_of_a_unit_of_work_that_fails_are_never_sent(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    key = await _committed_key(sessions)
    with pytest.raises(RuntimeError):
        async with UnitOfWork(sessions, driver_only=True) as uow:
            await uow.idempotency.finish(SCOPE, key, {"answer": 3})
            raise RuntimeError("a failure before the commit")
    assert await _recovery_point(other, key) == "started"
    # The pooled connection came back clean: the next unit of work sends only its own write.
    async with UnitOfWork(sessions, driver_only=True) as uow:
        await uow.commit()
    assert await _recovery_point(other, key) == "started"


async def test_a_held_write_that_fails_fails_the_commit_and_nothing_of_the_unit_of_work_is_kept(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    key = uuid.uuid4().hex
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with UnitOfWork(sessions, driver_only=True) as uow:
            assert await uow.idempotency.claim(SCOPE, key, "test", "fp", datetime.now(UTC), locked=True)
            await uow.idempotency.finish(SCOPE, key, {"answer": 4})
            await uow.events.add_many([_event("m_no_such_merchant", "payment_intent.created")])
            await uow.commit()
    assert await _recovery_point(other, key) is None  # the claim, sent before, was rolled back too


async def test_two_writes_to_one_table_keep_the_order_they_were_made_in(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    merchant = (await merchants.signup(sessions, "Order Shop", f"{uuid.uuid4().hex[:6]}@x.test", None)).merchant
    events = [_event(merchant.id, f"payment_intent.step_{n}") for n in range(4)]
    key = await _committed_key(sessions)
    async with UnitOfWork(sessions, driver_only=True) as uow:
        await uow.idempotency.finish(SCOPE, key, {"answer": 5})
        await uow.events.add_many(events)
        await uow.commit()
    rows = await other.fetch("SELECT id FROM events WHERE merchant_id = $1 ORDER BY seq", merchant.id)
    assert [r["id"] for r in rows] == [e.id for e in events]  # seq follows the order of the calls
    assert await _recovery_point(other, key) == "finished"


async def test_a_write_after_the_commit_is_refused_not_held(
    sessions: async_sessionmaker[AsyncSession], other: asyncpg.Connection
) -> None:
    """Held writes go out with the next statement or the COMMIT; after the COMMIT there is none."""
    key = await _committed_key(sessions)
    with pytest.raises(RuntimeError, match="Prepared statements only"):
        async with UnitOfWork(sessions, driver_only=True) as uow:
            await uow.commit()
            await uow.idempotency.finish(SCOPE, key, {"answer": 6})
    assert await _recovery_point(other, key) == "started"

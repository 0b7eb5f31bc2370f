"""Prepared statements go straight to asyncpg, inside the unit of work's own transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db import models
from nexus.db.repositories.core import run
from nexus.db.repositories.prepared import Prepared, execute, fetch_one
from nexus.db.uow import UnitOfWork


async def _committed(database_url: str, scope: str, key: str) -> bool:
    """What another connection sees: only committed rows."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        row = await conn.fetchrow("SELECT 1 FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key)
    finally:
        await conn.close()
    return row is not None


async def _claim(uow: UnitOfWork, scope: str, key: str) -> bool:
    return await uow.idempotency.claim(scope, key, "test", "fp", datetime.now(UTC), locked=False)


# Every unit of work runs these on the driver; driver_only=True also runs BEGIN/COMMIT there.
MODES = [pytest.param(False, id="orm-session"), pytest.param(True, id="driver-only")]
_PID = Prepared(select(func.pg_backend_pid().label("pid")))


@pytest.mark.parametrize("driver_only", MODES)
async def test_a_rollback_undoes_driver_statements(
    sessions: async_sessionmaker[AsyncSession], database_url: str, driver_only: bool
) -> None:
    scope, key = "driver-test", uuid.uuid4().hex
    async with UnitOfWork(sessions, driver_only=driver_only) as uow:
        assert await _claim(uow, scope, key)
        await uow.rollback()
    assert not await _committed(database_url, scope, key)


async def test_driver_and_sqlalchemy_statements_share_one_transaction(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    scope, key = "driver-test", uuid.uuid4().hex
    K = models.IdempotencyKey
    async with UnitOfWork(sessions) as uow:
        assert await _claim(uow, scope, key)
        # SQLAlchemy's own path sees the driver's uncommitted row: the same connection and transaction.
        seen = (await run(uow.session, select(K.operation).where(K.scope == scope, K.key == key))).scalar_one()
        assert seen == "test"
        assert not await _committed(database_url, scope, key)  # nobody else sees it yet
        assert not await _claim(uow, scope, key)  # the claim is taken within this transaction
        await uow.commit()
        assert "nexus.driver" not in uow.session.info  # the pooled connection is never reused after
    assert await _committed(database_url, scope, key)


@pytest.mark.parametrize("driver_only", MODES)
async def test_a_statement_is_rolled_back_when_the_unit_of_work_fails(
    sessions: async_sessionmaker[AsyncSession], database_url: str, driver_only: bool
) -> None:
    scope, key = "driver-test", uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        async with UnitOfWork(sessions, driver_only=driver_only) as uow:
            assert await _claim(uow, scope, key)
            raise RuntimeError("a failure after the statement")
    assert not await _committed(database_url, scope, key)


async def test_fixed_values_and_scalar_defaults_are_sent(sessions: async_sessionmaker[AsyncSession]) -> None:
    scope, key = "driver-test", uuid.uuid4().hex
    async with UnitOfWork(sessions) as uow:
        assert await _claim(uow, scope, key)
        await uow.idempotency.finish(scope, key, {"answer": [1, "two", None]})  # .values(recovery_point=…)
        K = models.IdempotencyKey
        row = await fetch_one(
            uow.session,
            Prepared(select(K.recovery_point, K.locked_at, K.response).where(K.key == key)),
            {},
        )
        assert row is not None
        assert (row.recovery_point, row.locked_at, row.response) == ("finished", None, {"answer": [1, "two", None]})
        await uow.rollback()


async def test_a_computed_default_must_be_passed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """risk_reasons defaults to `list()`, computed per row: the driver path refuses to guess it."""
    statement = Prepared(insert(models.PaymentAttempt))
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(TypeError, match="risk_reasons"):
            await execute(uow.session, statement, {"id": "pa_x", "outcome": "pending"})


async def _terminate_soon(database_url: str, pid: int) -> None:
    await asyncio.sleep(0.3)  # the statement is running by then
    admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


@pytest.mark.parametrize("driver_only", MODES)
async def test_a_connection_killed_under_a_statement_is_dropped_and_reported_retryable(
    sessions: async_sessionmaker[AsyncSession], database_url: str, driver_only: bool
) -> None:
    """A backend terminated mid-statement (a PostgreSQL restart, a failover) must not go back
    to the pool: the error is SERVICE_UNAVAILABLE material, and the next unit of work works."""
    from nexus.db.availability import is_database_unavailable

    scope = "driver-test"
    sleep = Prepared(select(func.pg_sleep(bindparam("s"))))
    with pytest.raises(Exception) as caught:
        async with UnitOfWork(sessions, driver_only=driver_only) as uow:
            assert await _claim(uow, scope, uuid.uuid4().hex)
            pid = (await fetch_one(uow.session, _PID, {})).pid
            killer = asyncio.create_task(_terminate_soon(database_url, pid))
            try:
                await fetch_one(uow.session, sleep, {"s": 5})
            finally:
                await killer
    assert is_database_unavailable(caught.value), repr(caught.value)
    # Every pooled connection still works (the killed one was not returned to the pool).
    for _ in range(6):
        async with UnitOfWork(sessions, driver_only=driver_only) as uow:
            assert await _claim(uow, scope, uuid.uuid4().hex)
            await uow.rollback()


async def test_a_driver_only_commit_is_seen_and_its_connection_reused(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    scope, key = "driver-test", uuid.uuid4().hex
    async with UnitOfWork(sessions, driver_only=True) as uow:
        assert await _claim(uow, scope, key)
        first = (await fetch_one(uow.session, _PID, {})).pid
        assert not await _committed(database_url, scope, key)
        await uow.commit()
    assert await _committed(database_url, scope, key)
    async with UnitOfWork(sessions, driver_only=True) as uow:  # the same pooled backend, idle again
        assert (await fetch_one(uow.session, _PID, {})).pid == first


async def test_a_failed_driver_only_unit_of_work_pools_its_connection_idle(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """SQLAlchemy's adapter never sees a driver-only transaction, so the pool's own rollback on
    return would not end it: the unit of work rolls back itself, and the next user of the same
    backend starts outside any transaction, with nothing of the failed one left."""
    scope, key = "driver-test", uuid.uuid4().hex
    with pytest.raises(ZeroDivisionError):
        async with UnitOfWork(sessions, driver_only=True) as uow:
            assert await _claim(uow, scope, key)
            first = (await fetch_one(uow.session, _PID, {})).pid
            1 / 0  # noqa: B018 - any failure inside the unit of work
    async with UnitOfWork(sessions, driver_only=True) as uow:  # LIFO: the same pooled backend
        assert (await fetch_one(uow.session, _PID, {})).pid == first
        assert await _claim(uow, scope, key)  # the failed claim was rolled back
        await uow.rollback()
    pooled = await sessions.kw["bind"].raw_connection()
    try:
        assert not pooled.dbapi_connection.driver_connection.is_in_transaction()
    finally:
        pooled.close()
    assert not await _committed(database_url, scope, key)


async def test_nothing_runs_after_a_driver_only_commit(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """The transaction is over: a further statement would run in autocommit, so it is refused."""
    scope, key = "driver-test", uuid.uuid4().hex
    with pytest.raises(RuntimeError, match="Prepared statements only"):
        async with UnitOfWork(sessions, driver_only=True) as uow:
            assert await _claim(uow, scope, key)
            await uow.commit()
            await _claim(uow, scope, uuid.uuid4().hex)
    assert await _committed(database_url, scope, key)


async def test_an_orm_statement_in_a_driver_only_unit_of_work_is_refused(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """It would run on another pooled connection, outside the transaction: never silently."""
    scope, key = "driver-test", uuid.uuid4().hex
    K = models.IdempotencyKey
    with pytest.raises(RuntimeError, match="Prepared statements only"):
        async with UnitOfWork(sessions, driver_only=True) as uow:
            assert await _claim(uow, scope, key)
            await run(uow.session, select(K.operation).where(K.key == key))
    assert not await _committed(database_url, scope, key)  # and what ran before is rolled back


async def test_a_driver_only_unit_of_work_cancelled_mid_statement_pools_no_broken_connection(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """A cancelled request (client gone, shutdown) leaves the protocol mid-statement: that
    connection is invalidated, the transaction dies with it, and the pool stays healthy."""
    scope, key = "driver-test", uuid.uuid4().hex
    sleep = Prepared(select(func.pg_sleep(bindparam("s"))))
    started = asyncio.Event()

    async def work() -> None:
        async with UnitOfWork(sessions, driver_only=True) as uow:
            assert await _claim(uow, scope, key)
            started.set()
            await fetch_one(uow.session, sleep, {"s": 5})

    task = asyncio.create_task(work())
    await started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(6):  # more than the pool holds: each one is a working connection
        async with UnitOfWork(sessions, driver_only=True) as uow:
            assert await _claim(uow, scope, uuid.uuid4().hex)
            await uow.rollback()
    # The cancelled transaction never committed (its backend was terminated with the connection).
    for _ in range(50):
        if not await _committed(database_url, scope, key):
            break
        await asyncio.sleep(0.1)
    assert not await _committed(database_url, scope, key)

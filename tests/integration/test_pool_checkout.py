"""`engine.checkout`: an idle pooled connection is taken without a greenlet; waiting for one,
opening one and reopening an invalidated one still go SQLAlchemy's way, with nothing left over."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator

import asyncpg
import greenlet
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from nexus.config import Settings
from nexus.db.engine import checkout, create_engine

# How long a checkout that must wait is given to (wrongly) finish before the pool has a connection.
WAIT_S = 0.3


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, Settings(DATABASE_URL=database_url), pool_size=2)
    yield engine
    await engine.dispose()


def pool_of(engine: AsyncEngine) -> QueuePool:
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    return pool


def checkouts_in_a_greenlet(engine: AsyncEngine) -> list[bool]:
    """For every checkout from now on: did it run in one of SQLAlchemy's greenlets?"""
    seen: list[bool] = []

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def record(*_: object) -> None:
        seen.append(bool(getattr(greenlet.getcurrent(), "__sqlalchemy_greenlet_provider__", False)))

    return seen


async def backend_pid(pooled: PoolProxiedConnection) -> int:
    driver = pooled.dbapi_connection.driver_connection  # type: ignore[union-attr]
    return int(await driver.fetchval("SELECT pg_backend_pid()"))


async def test_an_idle_connection_is_taken_without_a_greenlet(engine: AsyncEngine) -> None:
    in_greenlet = checkouts_in_a_greenlet(engine)
    first = await checkout(engine)  # the pool is empty: the connection is opened, in a greenlet
    pid = await backend_pid(first)
    first.close()
    second = await checkout(engine)
    assert await backend_pid(second) == pid
    second.close()
    assert in_greenlet == [True, False]
    assert (pool_of(engine).checkedin(), pool_of(engine).checkedout()) == (1, 0)


async def test_a_checkout_waits_for_a_connection_when_every_one_is_taken(engine: AsyncEngine) -> None:
    held = [await checkout(engine), await checkout(engine)]
    waiting = asyncio.create_task(checkout(engine))
    await asyncio.sleep(WAIT_S)
    assert not waiting.done(), "the pool is at its size: the checkout must wait"
    pid = await backend_pid(held[0])
    held[0].close()
    taken = await asyncio.wait_for(waiting, 5)
    assert await backend_pid(taken) == pid
    for pooled in (taken, held[1]):
        pooled.close()
    assert (pool_of(engine).checkedin(), pool_of(engine).checkedout()) == (2, 0)


async def test_an_invalidated_connection_is_reopened_and_nothing_is_left_unawaited(engine: AsyncEngine) -> None:
    pooled = await checkout(engine)
    old = await backend_pid(pooled)
    pooled.invalidate()  # back in the pool without a connection: the next checkout must open one
    assert pool_of(engine).checkedin() == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reopened = await checkout(engine)
        new = await backend_pid(reopened)
        reopened.close()
        gc.collect()  # a coroutine dropped unawaited warns when it is collected
    assert new != old
    assert [str(w.message) for w in caught] == []
    assert (pool_of(engine).checkedin(), pool_of(engine).checkedout()) == (1, 0)


async def test_after_a_disconnect_every_pooled_connection_is_replaced(engine: AsyncEngine, database_url: str) -> None:
    """A disconnect seen by SQLAlchemy invalidates the whole pool: each idle connection is then
    reopened at its next checkout, whichever way it is taken."""
    held = [await checkout(engine), await checkout(engine)]
    old = {await backend_pid(pooled) for pooled in held}
    for pooled in held:
        pooled.close()
    admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(old))
    finally:
        await admin.close()
    with pytest.raises(Exception):  # noqa: B017 - the driver's disconnect error, whichever it is
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        now = [await checkout(engine), await checkout(engine)]
        assert not {await backend_pid(pooled) for pooled in now} & old
        for pooled in now:
            pooled.close()
        gc.collect()
    assert [str(w.message) for w in caught] == []

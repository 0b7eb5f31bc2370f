"""A steady load that fits the default pool reuses its connections: no PostgreSQL session per burst.

With the pool at 10 (+10 overflow), a worker carrying ~18 transactions at once kept closing
its overflow connections on return and opening new ones, each a backend fork and fresh
prepared statements: 43 new sessions per 4,000 creates in bench (a), 11% of its throughput.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from nexus.config import Settings
from nexus.db.engine import create_engine

# Transactions in flight at once in one of two workers at c=32 in bench (a).
IN_FLIGHT = 18
ROUNDS = 3


async def test_bursts_of_concurrent_transactions_reuse_the_same_backends(database_url: str) -> None:
    engine = create_engine(database_url, Settings(DATABASE_URL=database_url))  # the default pool
    try:

        async def burst() -> set[int]:
            all_in = asyncio.Event()
            pids: set[int] = set()

            async def hold(conn: AsyncConnection) -> None:
                pids.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                if len(pids) == IN_FLIGHT:
                    all_in.set()
                await all_in.wait()  # every transaction holds its connection at the same time

            async def transaction() -> None:
                async with engine.begin() as conn:
                    await hold(conn)

            await asyncio.gather(*(transaction() for _ in range(IN_FLIGHT)))
            return pids

        first = await burst()
        assert len(first) == IN_FLIGHT
        for _ in range(ROUNDS):
            assert await burst() == first, "connections were closed on return and new ones opened"
    finally:
        await engine.dispose()


async def test_one_request_after_another_reuses_the_connection_returned_last(database_url: str) -> None:
    """LIFO: a quiet worker keeps to one warm backend instead of going round every pooled one."""
    engine = create_engine(database_url, Settings(DATABASE_URL=database_url))
    try:
        # Open a few connections at once, so the pool has several to choose from.
        held = [await engine.connect() for _ in range(4)]
        for conn in held:
            await conn.execute(text("SELECT 1"))
        last = (await held[-1].execute(text("SELECT pg_backend_pid()"))).scalar_one()
        for conn in held:  # returned in order: the last one back is `last`
            await conn.close()
        pids = []
        for _ in range(6):
            async with engine.connect() as conn:
                pids.append((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        assert pids == [last] * 6, pids
    finally:
        await engine.dispose()

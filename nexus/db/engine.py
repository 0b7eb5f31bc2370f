"""Engine and session factory, and a pool checkout that needs no greenlet when none is needed."""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from nexus.config import Settings
from nexus.json_encoding import json_text

# No connections beyond the pool: SQLAlchemy closes overflow connections when they are
# returned, so a load above the pool kept forking backends (slower than waiting the ~1 ms
# for a pooled one), and 2 workers × (20 + overflow) next to the benchmark's own clients
# ran PostgreSQL out of its default 100 connections. Requests beyond the pool wait for one.
POOL_OVERFLOW = 0
# Wait this long for a pooled connection before failing the request (retryable).
POOL_TIMEOUT_S = 10


def create_engine(url: str, settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    connect_args: dict[str, Any] = {
        "server_settings": {"application_name": "nexus", "timezone": "UTC"},
        # The driver's connect, started only when awaited (see `Connecting`).
        "async_creator_fn": Connecting,
    }
    if settings.db_statement_cache_size is not None:
        # Behind a transaction pooler prepared statements break: statement_cache_size=0.
        connect_args["statement_cache_size"] = settings.db_statement_cache_size
        connect_args["prepared_statement_cache_size"] = settings.db_statement_cache_size
    return create_async_engine(
        url,
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_S,
        # No pre-ping: it costs a round-trip per request. A restarted PostgreSQL fails the
        # requests in flight once (retryable), and the pool drops every dead connection then.
        pool_pre_ping=False,
        # The connection returned last goes out first: one request after another reuses a backend
        # whose memory is still in the CPU's caches. Round-robin over the pool (FIFO) woke a cold
        # backend each time: PostgreSQL spent 0.52-0.66 ms of CPU per create at c=1 against
        # 0.31-0.35 with LIFO, and creates rose 16-34 % at c=1, 11-35 % at c=8, with c=32 the
        # same (bench (a), three interleaved pairs; every connection is busy there anyway).
        pool_use_lifo=True,
        connect_args=connect_args,
        json_serializer=json_text,  # jsonb is stored parsed: only the text's spelling changes
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def checkout(engine: AsyncEngine) -> PoolProxiedConnection:
    """A pooled connection, as `engine.raw_connection()` gives it, without a greenlet when the
    pool holds an idle one.

    Why: SQLAlchemy runs every checkout in a new greenlet, because taking a connection may have to
    wait for one or open one (I/O, awaited from its synchronous pool code). A new greenlet gets a
    Python frame stack of its own, a 16 KiB mmap and munmap per checkout with their page faults:
    with the greenlet's own switching, ~7 % of a create's API CPU (bench/README.md, fix 51). With an
    idle connection in the pool (the pool's own count; nothing else runs on this event loop between
    the count and the checkout) the checkout takes it without waiting, so it runs here directly.

    If that connection must first be reopened (it was invalidated, or the pool was after a
    disconnect), SQLAlchemy raises MissingGreenlet at the connect, before anything is opened, and
    puts the connection back; the checkout then goes SQLAlchemy's way, which reopens it.
    """
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool) and pool.checkedin() > 0:
        try:
            return engine.sync_engine.raw_connection()
        except sa_exc.MissingGreenlet:
            pass
    return await engine.raw_connection()


class Connecting:
    """`asyncpg.connect(...)`, started when awaited.

    SQLAlchemy's asyncpg dialect calls its creator and hands the result to `await_`; outside a
    greenlet (`checkout` above) `await_` refuses it, closing what it was given. A coroutine made by
    calling `asyncpg.connect` at once would then be dropped never awaited, and Python warns about
    it; this object only becomes that coroutine when awaited, so a refused connect leaves nothing.
    """

    __slots__ = ("args", "kwargs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def __await__(self) -> Generator[Any, None, asyncpg.Connection]:
        connecting: Coroutine[Any, None, asyncpg.Connection] = asyncpg.connect(*self.args, **self.kwargs)
        return connecting.__await__()

"""Engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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

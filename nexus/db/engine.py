"""Engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from nexus.config import Settings

# Headroom above the steady pool for bursts; small because 2 cores saturate first. Overflow
# connections are closed when returned: a steady load must fit in the pool (NEXUS_DB_POOL_SIZE).
POOL_OVERFLOW = 10
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
        connect_args=connect_args,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

"""Alembic environment (async). The URL is set by nexus.db.migrations on the Config."""

from __future__ import annotations

import asyncio

from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context
from nexus.db.models import Base

target_metadata = Base.metadata

# Serializes concurrent migrators (two `nexus serve` starting at once) inside PostgreSQL.
MIGRATION_LOCK_ID = 0x6E657875  # "nexu"


def _run(connection: Connection) -> None:
    # A session-level lock (not a transaction one): migrations may need autocommit blocks
    # (CREATE INDEX CONCURRENTLY), so each runs in its own transaction under the lock.
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_ID})")
    connection.commit()
    try:
        context.configure(
            connection=connection, target_metadata=target_metadata, compare_type=True, transaction_per_migration=True
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})")
        connection.commit()


async def _run_async() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "nexus.db.migrations sets sqlalchemy.url"
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    existing = context.config.attributes.get("connection")
    if existing is not None:
        _run(existing)
    else:
        asyncio.run(_run_async())

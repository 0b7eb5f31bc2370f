"""The benchmark's WAL warm-up leaves recycled segments ahead of the write position.

Without them, each filled 16 MB segment is created and zero-filled inside a commit (bench/steady_state.py).
"""

from __future__ import annotations

import asyncpg

from bench import steady_state
from nexus.db.dsn import asyncpg_dsn
from nexus.db.embedded import EmbeddedPostgres

WRITTEN_MB = 64  # four segments: only recycling puts more than one segment ahead of the position


async def _segments_ahead(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_ls_waldir() "
                "WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_lsn())"
            )
        )
    finally:
        await conn.close()


async def test_recycling_puts_segments_ahead_of_the_wal_position(embedded_pg: EmbeddedPostgres) -> None:
    dsn = asyncpg_dsn(embedded_pg.url)
    said: list[str] = []
    before = await _segments_ahead(dsn)
    state = await steady_state.recycle_wal(dsn, WRITTEN_MB, said.append)
    after = await _segments_ahead(dsn)
    assert state.written_mb >= WRITTEN_MB
    # PostgreSQL itself pre-creates at most one segment at a checkpoint; the rest are recycled ones.
    assert after >= before + 2, (before, after)
    assert state.segments > after
    assert await steady_state.wal_position_mb(dsn) >= state.position_mb >= state.written_mb

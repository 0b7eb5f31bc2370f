"""Bring a fresh database's WAL to the state of a server that has been running.

A freshly initialised PostgreSQL has one WAL segment. Each time a 16 MB segment fills, the
backend writing WAL creates the next one and fills it with zeros while it holds WALWriteLock,
so every commit waits: in `make bench`, a create load at c=32 fills a segment every ~2.5 s,
and `pg_stat_activity` showed up to 6 of its sessions waiting on `WALWrite` behind
`WalInitWrite`, with transactions up to ~56 ms old. A server that has gone through a
checkpoint renames old segments into the next ones instead (`wal_recycle`), with no
zero-filling in the commit path.

So before anything is measured, the run writes WAL that nothing replays (a logical-decoding
message outside any transaction, no table involved) and checkpoints: the old segments are
recycled ahead of the WAL position. The gateway and both baselines run on the same database,
so all three see the same steady state. Measured on (a) at c=32, six 5,000-request cells per
server, two servers each: p99 31-44 ms with recycled segments against 33-62 ms without.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

# One message per statement: large enough that the loop's round trips cost nothing next to the
# WAL write, small enough that one statement is never a memory concern.
MESSAGE_BYTES = 1 << 20
# WAL a full run writes per request of --count: ~3.8 kB a create, ~8 kB a payment and ~14 kB a
# flow (the report's WAL column), each run by the gateway and the two baselines at four
# concurrencies, plus the --workers 1 run. A full run at 5,000 per cell wrote 736 MB after the
# recycling (the run prints it); 0.2 MB per counted request (1 GB, ~5 s to write) leaves a third
# spare, so the last cells still find recycled segments.
MB_PER_COUNTED_REQUEST = 0.2
PROGRESS_EVERY_MB = 256
_POSITION = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"


@dataclass
class WalState:
    written_mb: float  # WAL written to make the segments
    segments: int  # WAL segment files in pg_wal after the checkpoint
    position_mb: float  # where WAL insertion stood after the checkpoint: the measured runs start here


async def recycle_wal(dsn: str, megabytes: int, say: Callable[[str], None]) -> WalState:
    conn = await asyncpg.connect(dsn)
    try:
        start = await conn.fetchval("SELECT pg_current_wal_insert_lsn()")
        for i in range(1, megabytes + 1):
            await conn.execute(
                "SELECT pg_logical_emit_message(false, 'nexus-bench', repeat('x', $1::int))", MESSAGE_BYTES
            )
            if i % PROGRESS_EVERY_MB == 0:
                say(f"  WAL written: {i} of {megabytes} MB")
        written = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)", start)
        await conn.execute("CHECKPOINT")
        segments = await conn.fetchval("SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'")
        position = await conn.fetchval(_POSITION)
    finally:
        await conn.close()
    return WalState(
        written_mb=round(float(written) / 2**20, 1), segments=int(segments), position_mb=float(position) / 2**20
    )


async def wal_position_mb(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        return float(await conn.fetchval(_POSITION)) / 2**20
    finally:
        await conn.close()

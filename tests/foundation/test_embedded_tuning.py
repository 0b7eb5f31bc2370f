"""The embedded PostgreSQL is tuned for the gateway's write load, unless an operator tuned it first."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg

from nexus.db.embedded import EmbeddedPostgres, start_embedded


async def _setting(url: str, name: str) -> str:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        # pg_reload_conf() only signals the server: give it a moment to read the file.
        for _ in range(50):
            value: str = await conn.fetchval("SELECT current_setting($1)", name)
            if value != "1GB":
                break
            await asyncio.sleep(0.1)
        return value
    finally:
        await conn.close()


async def test_the_embedded_server_checkpoints_after_4GB_of_wal_not_1GB(embedded_pg: EmbeddedPostgres) -> None:
    assert await _setting(embedded_pg.url, "max_wal_size") == "4GB"


def test_an_operators_own_setting_is_kept_across_restarts() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-tuning-"))
    try:
        pg = start_embedded(data_dir)
        try:
            asyncio.run(_alter(pg.url, "2GB"))
        finally:
            pg.stop()
        pg = start_embedded(data_dir)
        try:
            assert asyncio.run(_setting(pg.url, "max_wal_size")) == "2GB"
        finally:
            pg.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def _alter(url: str, value: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(f"ALTER SYSTEM SET max_wal_size = '{value}'")
    finally:
        await conn.close()

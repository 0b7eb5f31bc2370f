"""The schema is built only by migrations, and downgrade works."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg

from nexus.db import migrations
from nexus.db.embedded import EmbeddedPostgres
from tests.conftest import ROOT


def _scratch(embedded_pg: EmbeddedPostgres) -> tuple[str, str]:
    name = f"nexus_mig_{uuid.uuid4().hex[:8]}"
    admin = embedded_pg.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = embedded_pg.url.replace("/nexus?", f"/{name}?", 1)
    return url, url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _tables(dsn: str) -> set[str]:
    async def fetch() -> set[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows}

    return asyncio.run(fetch())


def test_upgrade_downgrade_upgrade(embedded_pg: EmbeddedPostgres) -> None:
    url, dsn = _scratch(embedded_pg)
    assert _tables(dsn) == set()
    migrations.upgrade(url)
    tables = _tables(dsn)
    assert {"merchants", "api_keys", "payment_intents", "events", "webhook_deliveries", "idempotency_keys"} <= tables
    migrations.downgrade(url, "base")
    assert _tables(dsn) <= {"alembic_version"}
    migrations.upgrade(url)
    assert tables == _tables(dsn)


def test_nexus_migrate_command(embedded_pg: EmbeddedPostgres) -> None:
    url, dsn = _scratch(embedded_pg)
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "migrating database to head" in result.stderr
    assert "payment_intents" in _tables(dsn)


def test_help_names_every_command() -> None:
    result = subprocess.run([sys.executable, "-m", "nexus.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "migrate", "worker", "listen"):
        assert command in result.stdout
    serve = subprocess.run([sys.executable, "-m", "nexus.cli", "serve", "--help"], capture_output=True, text=True)
    for flag in ("--host", "--port", "--workers", "--reload"):
        assert flag in serve.stdout

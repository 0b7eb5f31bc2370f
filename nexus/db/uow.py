"""Unit of work: one transaction, the repositories bound to it; only it commits."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories.attempts import AttemptRepository
from nexus.db.repositories.events import EventRepository
from nexus.db.repositories.idempotency import IdempotencyRepository
from nexus.db.repositories.merchants import MerchantRepository
from nexus.db.repositories.payment_intents import PaymentIntentRepository
from nexus.db.repositories.refunds import RefundRepository
from nexus.db.repositories.webhooks import WebhookRepository


class UnitOfWork:
    session: AsyncSession

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        await self.session.begin()
        s = self.session
        self.merchants = MerchantRepository(s)
        self.intents = PaymentIntentRepository(s)
        self.attempts = AttemptRepository(s)
        self.refunds = RefundRepository(s)
        self.events = EventRepository(s)
        self.idempotency = IdempotencyRepository(s)
        self.webhooks = WebhookRepository(s)
        return self

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Anything not committed explicitly is rolled back: a failure changes nothing.
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await self.session.close()

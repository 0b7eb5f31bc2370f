"""Refunds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.prepared import Prepared, write

_R = models.Refund
_INSERT = Prepared(insert(_R))


@dataclass(frozen=True)
class RefundRecord:
    id: str
    merchant_id: str
    payment_intent_id: str
    amount: int
    currency: str
    reason: str | None
    status: str
    created_at: datetime


def _record(row: models.Refund) -> RefundRecord:
    return RefundRecord(
        id=row.id,
        merchant_id=row.merchant_id,
        payment_intent_id=row.payment_intent_id,
        amount=row.amount,
        currency=row.currency,
        reason=row.reason,
        status=row.status,
        created_at=row.created_at,
    )


class RefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, refund: RefundRecord) -> None:
        await write(self.session, _INSERT, refund.__dict__)

    async def get(self, merchant_id: str, refund_id: str) -> RefundRecord | None:
        row = (
            await self.session.execute(select(_R).where(_R.id == refund_id, _R.merchant_id == merchant_id))
        ).scalar_one_or_none()
        return _record(row) if row else None

    async def for_intents(self, intent_ids: list[str]) -> list[RefundRecord]:
        rows = await self.session.execute(
            select(_R).where(_R.payment_intent_id.in_(intent_ids)).order_by(_R.created_at, _R.id)
        )
        return [_record(r) for r in rows.scalars()]

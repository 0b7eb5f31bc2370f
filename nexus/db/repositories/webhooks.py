"""Webhook endpoints, their secrets, the delivery outbox and delivery attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models

_D = models.WebhookDelivery


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    merchant_id: str
    event_id: str
    endpoint_id: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime


def _delivery(row: models.WebhookDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        merchant_id=row.merchant_id,
        event_id=row.event_id,
        endpoint_id=row.endpoint_id,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def deliveries_for_events(self, event_ids: list[str]) -> list[DeliveryRecord]:
        rows = await self.session.execute(select(_D).where(_D.event_id.in_(event_ids)).order_by(_D.created_at, _D.id))
        return [_delivery(r) for r in rows.scalars()]

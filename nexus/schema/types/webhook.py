"""Webhook endpoints, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from nexus.db.repositories.webhooks import DeliveryRecord
from nexus.schema.context import Context
from nexus.schema.types.node import Node


@strawberry.type
class WebhookEndpoint(Node):
    url: str
    enabled_events: list[str]
    disabled: bool
    description: str | None
    created_at: datetime
    disabled_reason: str | None = strawberry.field(
        default=None, description="Why it was disabled: by the merchant, a 410 answer, or failing for days."
    )


@strawberry.type
class WebhookAttempt:
    at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    status: str
    next_attempt_at: datetime | None
    attempt_count: int
    record: strawberry.Private[DeliveryRecord]

    @classmethod
    def from_record(cls, r: DeliveryRecord) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(r.id),
            status=r.status,
            next_attempt_at=r.next_attempt_at,
            attempt_count=r.attempt_count,
            record=r,
        )

    @strawberry.field
    async def endpoint(self, info: Info[Context, None]) -> WebhookEndpoint:
        from nexus.schema.webhook_views import load_endpoint

        return await load_endpoint(info, self.record.merchant_id, self.record.endpoint_id)

    @strawberry.field
    async def attempts(self, info: Info[Context, None]) -> list[WebhookAttempt]:
        from nexus.schema.webhook_views import load_attempts

        return await load_attempts(info, self.record.id)

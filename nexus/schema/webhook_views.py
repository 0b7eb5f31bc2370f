"""Reading webhook endpoints and attempts for GraphQL (batched through the request's DataLoaders)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.db.repositories.webhooks import AttemptRecord, EndpointRecord
from nexus.db.uow import UnitOfWork
from nexus.schema.context import Context
from nexus.schema.types.webhook import WebhookAttempt, WebhookEndpoint


def endpoint_view(record: EndpointRecord) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=strawberry.ID(record.id),
        url=record.url,
        enabled_events=list(record.enabled_events),
        disabled=record.disabled,
        description=record.description,
        created_at=record.created_at,
        disabled_reason=record.disabled_reason,
    )


def attempt_view(record: AttemptRecord) -> WebhookAttempt:
    return WebhookAttempt(
        at=record.at,
        status_code=record.status_code,
        latency_ms=record.latency_ms,
        error=record.error,
    )


async def load_endpoint(info: Info[Context, None], merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint a delivery went to (deleted ones too: history keeps its target)."""
    record: EndpointRecord | None = await info.context.loaders.webhook_endpoints.load(endpoint_id)
    # Deliveries only ever reach their merchant's own endpoints; the check keeps tenants apart regardless.
    if record is None or record.merchant_id != merchant_id:
        raise LookupError("webhook endpoint of a delivery is missing")
    return endpoint_view(record)


async def load_attempts(info: Info[Context, None], delivery_id: str) -> list[WebhookAttempt]:
    rows: list[AttemptRecord] = await info.context.loaders.webhook_attempts.load(delivery_id)
    return [attempt_view(r) for r in rows]


async def list_endpoints(info: Info[Context, None], merchant_id: str) -> list[WebhookEndpoint]:
    async with UnitOfWork(info.context.state.sessions) as uow:
        rows = await uow.webhooks.list_endpoints(merchant_id)
    return [endpoint_view(r) for r in rows]


async def find_endpoint(info: Info[Context, None], merchant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    async with UnitOfWork(info.context.state.sessions) as uow:
        record = await uow.webhooks.get_endpoint(merchant_id, endpoint_id)
    return endpoint_view(record) if record else None

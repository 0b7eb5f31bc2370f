"""Events and their webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from nexus.db.repositories.events import EventRecord
from nexus.db.uow import UnitOfWork
from nexus.schema.context import Context
from nexus.schema.types.node import Node
from nexus.schema.types.pagination import PageInfo, check_first, decode_cursor, encode_cursor, page_info
from nexus.schema.types.webhook import WebhookDelivery


@strawberry.type
class Event(Node):
    type: str
    created_at: datetime
    data: JSON = strawberry.field(description="The webhook body's `data`: {object: …}")
    api_version: str
    request_idempotency_key: str | None
    payment_intent_id: strawberry.ID | None

    @classmethod
    def from_record(cls, r: EventRecord) -> Event:
        return cls(
            id=strawberry.ID(r.id),
            type=r.type,
            created_at=r.created_at,
            data=cast(JSON, r.data),
            api_version=r.api_version,
            request_idempotency_key=r.idempotency_key,
            payment_intent_id=strawberry.ID(r.payment_intent_id) if r.payment_intent_id else None,
        )

    @strawberry.field
    async def deliveries(self, info: Info[Context, None]) -> list[WebhookDelivery]:
        rows = await info.context.loaders.deliveries.load(str(self.id))
        return [WebhookDelivery.from_record(r) for r in rows]


@strawberry.type
class EventEdge:
    cursor: str
    node: Event


@strawberry.type
class EventConnection:
    edges: list[EventEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Event]:
        return [edge.node for edge in self.edges]


async def events_connection(
    info: Info[Context, None],
    merchant_id: str,
    first: int,
    after: str | None,
    types: list[str] | None,
    payment_intent_id: str | None,
) -> EventConnection:
    first = check_first(first)
    cursor = decode_cursor(after)
    async with UnitOfWork(info.context.state.sessions) as uow:
        rows = await uow.events.page(merchant_id, first + 1, cursor, types, payment_intent_id)
    edges = [EventEdge(cursor=encode_cursor(r.created_at, r.id), node=Event.from_record(r)) for r in rows[:first]]
    return EventConnection(edges=edges, page_info=page_info(len(rows), first, [e.cursor for e in edges], after))

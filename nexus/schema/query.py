"""Query root."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from nexus.db.uow import UnitOfWork
from nexus.domain.status import PaymentIntentStatus as DomainStatus
from nexus.schema.context import Context
from nexus.schema.types.event import Event, EventConnection, events_connection
from nexus.schema.types.merchant import Merchant
from nexus.schema.types.node import Node
from nexus.schema.types.pagination import check_first, decode_cursor, encode_cursor, page_info
from nexus.schema.types.payment_intent import (
    PaymentIntent,
    PaymentIntentConnection,
    PaymentIntentEdge,
    PaymentIntentStatus,
    Refund,
)
from nexus.schema.types.webhook import WebhookEndpoint


async def load_intent(info: Info[Context, None], intent_id: str, client_secret: str | None) -> PaymentIntent | None:
    """The intent if this caller may see it; None otherwise (foreign looks like missing)."""
    principal = await info.context.principal()
    async with UnitOfWork(info.context.state.sessions, driver_only=True) as uow:
        if principal.is_secret:
            pi = await uow.intents.get(principal.merchant_id, intent_id)
        else:
            pi = await uow.intents.get_with_secret(intent_id, client_secret or "")
            if pi is not None and pi.merchant_id != principal.merchant_id:
                pi = None
    return PaymentIntent.from_domain(pi) if pi else None


@strawberry.type
class Query:
    @strawberry.field
    async def me(self, info: Info[Context, None]) -> Merchant | None:
        principal = await info.context.principal()
        principal.require_secret()
        async with UnitOfWork(info.context.state.sessions) as uow:
            record = await uow.merchants.get(principal.merchant_id)
        return Merchant.from_record(record) if record else None

    @strawberry.field
    async def payment_intent(
        self, info: Info[Context, None], id: strawberry.ID, client_secret: str | None = None
    ) -> PaymentIntent | None:
        return await load_intent(info, str(id), client_secret)

    @strawberry.field
    async def payment_intents(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        status: list[PaymentIntentStatus] | None = None,  # type: ignore[valid-type]
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
    ) -> PaymentIntentConnection:
        principal = await info.context.principal()
        principal.require_secret()
        first = check_first(first)
        cursor = decode_cursor(after)
        statuses = [DomainStatus(s).value for s in status] if status else None
        async with UnitOfWork(info.context.state.sessions, driver_only=True) as uow:
            rows = await uow.intents.page(principal.merchant_id, first + 1, cursor, statuses, created_gte, created_lt)
        edges = [
            PaymentIntentEdge(cursor=encode_cursor(pi.created_at, pi.id), node=PaymentIntent.from_domain(pi))
            for pi in rows[:first]
        ]
        return PaymentIntentConnection(
            edges=edges, page_info=page_info(len(rows), first, [e.cursor for e in edges], after)
        )

    @strawberry.field
    async def events(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        types: list[str] | None = None,
        payment_intent_id: strawberry.ID | None = None,
    ) -> EventConnection:
        principal = await info.context.principal()
        principal.require_secret()
        return await events_connection(
            info,
            principal.merchant_id,
            first,
            after,
            types,
            str(payment_intent_id) if payment_intent_id else None,
        )

    @strawberry.field
    async def webhook_endpoints(self, info: Info[Context, None]) -> list[WebhookEndpoint]:
        from nexus.schema.webhook_views import list_endpoints

        principal = await info.context.principal()
        principal.require_secret()
        return await list_endpoints(info, principal.merchant_id)

    @strawberry.field
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        principal = await info.context.principal()
        principal.require_secret()
        object_id = str(id)
        prefix = object_id.split("_", 1)[0]
        merchant_id = principal.merchant_id
        async with UnitOfWork(info.context.state.sessions) as uow:
            if prefix == "pi":
                pi = await uow.intents.get(merchant_id, object_id)
                return PaymentIntent.from_domain(pi) if pi else None
            if prefix == "re":
                refund = await uow.refunds.get(merchant_id, object_id)
                return Refund.from_record(refund) if refund else None
            if prefix == "evt":
                event = await uow.events.get(merchant_id, object_id)
                return Event.from_record(event) if event else None
            if prefix == "acct" and object_id == merchant_id:
                record = await uow.merchants.get(merchant_id)
                return Merchant.from_record(record) if record else None
        if prefix == "we":
            from nexus.schema.webhook_views import find_endpoint

            return await find_endpoint(info, merchant_id, object_id)
        return None

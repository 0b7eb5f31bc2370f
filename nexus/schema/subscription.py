"""Subscription root: live payment intents and merchant events (API.md § Subscription).

Resolvers stay thin: authenticate, then map what nexus.realtime.streams reads to types.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from nexus.realtime.broker import Broker
from nexus.realtime.streams import intent_versions, merchant_events
from nexus.schema.context import Context
from nexus.schema.types.event import Event
from nexus.schema.types.payment_intent import PaymentIntent


def _broker(info: Info[Context, None]) -> Broker:
    broker = info.context.state.broker
    if not isinstance(broker, Broker):
        raise RuntimeError("this process runs no realtime broker")  # masked: a deployment bug
    return broker


@strawberry.type
class Subscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="The intent as it is now, then one message per later version, in order, none skipped."
    )
    async def payment_intent_updated(
        self, info: Info[Context, None], id: strawberry.ID, client_secret: str | None = None
    ) -> AsyncGenerator[PaymentIntent, None]:
        principal = await info.context.principal()
        context = info.context
        stream = intent_versions(
            _broker(info), context.state.sessions, principal, context.api_key(), str(id), client_secret
        )
        async for pi in stream:
            yield PaymentIntent.from_domain(pi)

    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="Every committed event of your merchant from now on (secret key only)."
    )
    async def events(self, info: Info[Context, None], types: list[str] | None = None) -> AsyncGenerator[Event, None]:
        principal = await info.context.principal()
        context = info.context
        stream = merchant_events(_broker(info), context.state.sessions, principal, context.api_key(), types)
        async for record in stream:
            yield Event.from_record(record)

"""requeueFailedDeliveries: after an outage on the merchant's side, every failed delivery
of one endpoint created since `since` is sent again, with a fresh retry schedule.

Errors: NOT_FOUND (endpoint), INVALID_STATE (the endpoint is disabled: enable it first).
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from nexus.domain.errors import DomainError
from nexus.schema.context import Context
from nexus.schema.errors import UserError
from nexus.schema.mutations.payloads import guarded
from nexus.schema.types.webhook import WebhookEndpoint
from nexus.schema.webhook_views import endpoint_view
from nexus.services import webhook_endpoints


@strawberry.input
class RequeueFailedDeliveriesInput:
    endpoint_id: strawberry.ID
    since: datetime


@strawberry.type
class RequeueFailedDeliveriesPayload:
    webhook_endpoint: WebhookEndpoint | None
    requeued_count: int
    user_errors: list[UserError]

    @classmethod
    def failed(cls, error: DomainError) -> RequeueFailedDeliveriesPayload:
        return cls(webhook_endpoint=None, requeued_count=0, user_errors=[UserError.from_domain(error)])


async def requeue_failed_deliveries(
    info: Info[Context, None], input: RequeueFailedDeliveriesInput
) -> RequeueFailedDeliveriesPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> RequeueFailedDeliveriesPayload:
        endpoint, count = await webhook_endpoints.requeue_failed(
            info.context.state.sessions, principal.merchant_id, str(input.endpoint_id), input.since
        )
        return RequeueFailedDeliveriesPayload(
            webhook_endpoint=endpoint_view(endpoint), requeued_count=count, user_errors=[]
        )

    return await guarded(RequeueFailedDeliveriesPayload.failed, run)

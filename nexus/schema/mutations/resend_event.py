"""resendEvent: deliver an event to an endpoint again, now (a new delivery, same webhook-id).

Errors: NOT_FOUND (event or endpoint), INVALID_STATE (the endpoint is disabled).
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.domain.errors import DomainError
from nexus.schema.context import Context
from nexus.schema.errors import UserError
from nexus.schema.mutations.payloads import guarded
from nexus.schema.types.webhook import WebhookDelivery
from nexus.services import webhook_endpoints


@strawberry.input
class ResendEventInput:
    event_id: strawberry.ID
    endpoint_id: strawberry.ID


@strawberry.type
class ResendEventPayload:
    delivery: WebhookDelivery | None
    user_errors: list[UserError]

    @classmethod
    def failed(cls, error: DomainError) -> ResendEventPayload:
        return cls(delivery=None, user_errors=[UserError.from_domain(error)])


async def resend_event(info: Info[Context, None], input: ResendEventInput) -> ResendEventPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> ResendEventPayload:
        delivery = await webhook_endpoints.resend_event(
            info.context.state.sessions, principal.merchant_id, str(input.event_id), str(input.endpoint_id)
        )
        return ResendEventPayload(delivery=WebhookDelivery.from_record(delivery), user_errors=[])

    return await guarded(ResendEventPayload.failed, run)

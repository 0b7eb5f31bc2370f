"""deleteWebhookEndpoint: nothing more is sent to it; its past deliveries stay readable.

Errors: NOT_FOUND.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.schema.context import Context
from nexus.schema.mutations.payloads import guarded
from nexus.schema.mutations.webhook_payloads import WebhookEndpointPayload
from nexus.schema.webhook_views import endpoint_view
from nexus.services import webhook_endpoints


@strawberry.input
class DeleteWebhookEndpointInput:
    id: strawberry.ID


async def delete_webhook_endpoint(
    info: Info[Context, None], input: DeleteWebhookEndpointInput
) -> WebhookEndpointPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> WebhookEndpointPayload:
        endpoint = await webhook_endpoints.delete_endpoint(
            info.context.state.sessions, principal.merchant_id, str(input.id)
        )
        return WebhookEndpointPayload(webhook_endpoint=endpoint_view(endpoint), user_errors=[])

    return await guarded(WebhookEndpointPayload.failed, run)

"""updateWebhookEndpoint: change the URL, the events, the description, or disable/enable it.

Disabling stops its pending deliveries (requeueFailedDeliveries brings them back);
enabling clears the failure run that may have disabled it.
Errors: NOT_FOUND, INVALID_URL, INVALID_INPUT.
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
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = None
    enabled_events: list[str] | None = None
    disabled: bool | None = None
    description: str | None = None


async def update_webhook_endpoint(
    info: Info[Context, None], input: UpdateWebhookEndpointInput
) -> WebhookEndpointPayload:
    principal = await info.context.principal()
    principal.require_secret()
    state = info.context.state

    async def run() -> WebhookEndpointPayload:
        endpoint = await webhook_endpoints.update_endpoint(
            state.sessions,
            state.settings.allow_private_webhooks,
            principal.merchant_id,
            str(input.id),
            url=input.url,
            enabled_events=input.enabled_events,
            disabled=input.disabled,
            description=input.description,
        )
        return WebhookEndpointPayload(webhook_endpoint=endpoint_view(endpoint), user_errors=[])

    return await guarded(WebhookEndpointPayload.failed, run)

"""createWebhookEndpoint: register a URL for events; returns its signing secret this once.

Errors: INVALID_URL (not http(s), malformed, or private/loopback in production),
INVALID_INPUT (enabledEvents, description, idempotency key), IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.domain.events import WILDCARD
from nexus.schema.context import Context
from nexus.schema.mutations.payloads import guarded
from nexus.schema.mutations.webhook_payloads import CreateWebhookEndpointPayload
from nexus.schema.webhook_views import endpoint_view
from nexus.services import webhook_endpoints


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    enabled_events: list[str] | None = strawberry.field(default_factory=lambda: [WILDCARD])
    description: str | None = None


async def create_webhook_endpoint(
    info: Info[Context, None], input: CreateWebhookEndpointInput, idempotency_key: str | None = None
) -> CreateWebhookEndpointPayload:
    principal = await info.context.principal()
    principal.require_secret()
    state = info.context.state

    async def run() -> CreateWebhookEndpointPayload:
        created = await webhook_endpoints.create_endpoint(
            state.sessions,
            state.cipher,
            state.settings.allow_private_webhooks,
            principal.merchant_id,
            input.url,
            input.enabled_events if input.enabled_events is not None else [WILDCARD],
            input.description,
            idempotency_key,
        )
        return CreateWebhookEndpointPayload(
            webhook_endpoint=endpoint_view(created.endpoint),
            secret=created.secret,
            user_errors=[],
            idempotent_replayed=created.replayed,
        )

    return await guarded(CreateWebhookEndpointPayload.failed, run)

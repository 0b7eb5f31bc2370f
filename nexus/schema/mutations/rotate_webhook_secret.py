"""rotateWebhookSecret: a new signing secret, shown this once; the current one keeps
signing beside it for `expireCurrentInSeconds` (default 24 h, 0 = revoke now, at most 7 days).

Errors: NOT_FOUND, INVALID_INPUT (expireCurrentInSeconds out of range).
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.domain.webhook_endpoints import DEFAULT_EXPIRE_CURRENT_S
from nexus.schema.context import Context
from nexus.schema.mutations.payloads import guarded
from nexus.schema.mutations.webhook_payloads import CreateWebhookEndpointPayload
from nexus.schema.webhook_views import endpoint_view
from nexus.services import webhook_endpoints


@strawberry.input
class RotateWebhookSecretInput:
    id: strawberry.ID
    expire_current_in_seconds: int = DEFAULT_EXPIRE_CURRENT_S


async def rotate_webhook_secret(
    info: Info[Context, None], input: RotateWebhookSecretInput
) -> CreateWebhookEndpointPayload:
    principal = await info.context.principal()
    principal.require_secret()
    state = info.context.state

    async def run() -> CreateWebhookEndpointPayload:
        rotated = await webhook_endpoints.rotate_secret(
            state.sessions, state.cipher, principal.merchant_id, str(input.id), input.expire_current_in_seconds
        )
        return CreateWebhookEndpointPayload(
            webhook_endpoint=endpoint_view(rotated.endpoint), secret=rotated.secret, user_errors=[]
        )

    return await guarded(CreateWebhookEndpointPayload.failed, run)

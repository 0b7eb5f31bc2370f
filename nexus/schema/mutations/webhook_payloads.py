"""Payloads shared by the webhook endpoint mutations (API.md names)."""

from __future__ import annotations

import strawberry

from nexus.domain.errors import DomainError
from nexus.schema.errors import UserError
from nexus.schema.types.webhook import WebhookEndpoint


@strawberry.type
class CreateWebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None
    secret: str | None = strawberry.field(
        description="The endpoint's `whsec_…` signing secret, shown this once (null on an idempotent replay)."
    )
    user_errors: list[UserError]
    idempotent_replayed: bool = False

    @classmethod
    def failed(cls, error: DomainError) -> CreateWebhookEndpointPayload:
        return cls(webhook_endpoint=None, secret=None, user_errors=[UserError.from_domain(error)])


@strawberry.type
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None
    user_errors: list[UserError]

    @classmethod
    def failed(cls, error: DomainError) -> WebhookEndpointPayload:
        return cls(webhook_endpoint=None, user_errors=[UserError.from_domain(error)])

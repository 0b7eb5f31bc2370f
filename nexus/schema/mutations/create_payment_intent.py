"""createPaymentIntent.

Errors: AMOUNT_TOO_SMALL, AMOUNT_TOO_LARGE, UNSUPPORTED_CURRENCY, INVALID_INPUT
(description, metadata, idempotency key), IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from nexus.domain.errors import InvalidInput
from nexus.domain.status import CaptureMethod as DomainCaptureMethod
from nexus.schema.context import Context
from nexus.schema.mutations.payloads import PaymentIntentPayload, guarded
from nexus.schema.types.payment_intent import CaptureMethod, PaymentIntent
from nexus.services import payment_intents


@strawberry.input
class CreatePaymentIntentInput:
    amount: int
    currency: str
    capture_method: CaptureMethod = DomainCaptureMethod.AUTOMATIC  # type: ignore[valid-type]
    description: str | None = None
    metadata: JSON | None = None


async def create_payment_intent(
    info: Info[Context, None], input: CreatePaymentIntentInput, idempotency_key: str
) -> PaymentIntentPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> PaymentIntentPayload:
        metadata = input.metadata
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInput("metadata must be an object of string values", ["input", "metadata"])
        result = await payment_intents.create(
            info.context.state.sessions,
            principal.merchant_id,
            input.amount,
            input.currency,
            DomainCaptureMethod(input.capture_method),
            input.description,
            metadata,
            idempotency_key,
        )
        return PaymentIntentPayload(
            # The caller is the merchant's secret key (require_secret): clientSecret's resolver
            # would show it the secret, so the payload carries it cleared.
            payment_intent=PaymentIntent.from_domain(result.intent, cleared_client_secret=result.client_secret),
            user_errors=[],
            idempotent_replayed=result.replayed,
        )

    return await guarded(PaymentIntentPayload.failed, run)

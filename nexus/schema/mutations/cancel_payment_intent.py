"""cancelPaymentIntent: from CREATED, FAILED, REQUIRES_ACTION or REQUIRES_CAPTURE.

Errors: NOT_FOUND, INVALID_STATE, INVALID_INPUT (reason too long), IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.schema.context import Context
from nexus.schema.mutations.payloads import PaymentIntentPayload, guarded
from nexus.schema.types.payment_intent import PaymentIntent
from nexus.services import payment_intents


@strawberry.input
class CancelPaymentIntentInput:
    id: strawberry.ID
    reason: str | None = None


async def cancel_payment_intent(
    info: Info[Context, None], input: CancelPaymentIntentInput, idempotency_key: str | None = None
) -> PaymentIntentPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> PaymentIntentPayload:
        result = await payment_intents.cancel(
            info.context.state.sessions, principal.merchant_id, str(input.id), input.reason, idempotency_key
        )
        return PaymentIntentPayload(
            payment_intent=PaymentIntent.from_domain(result.intent),
            user_errors=[],
            idempotent_replayed=result.replayed,
        )

    return await guarded(PaymentIntentPayload.failed, run)

"""capturePaymentIntent: capture all or part of an authorization; the rest is released.

Errors: NOT_FOUND, INVALID_STATE, CAPTURE_EXCEEDS_AMOUNT, AMOUNT_TOO_SMALL,
IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.schema.context import Context
from nexus.schema.mutations.payloads import PaymentIntentPayload, guarded
from nexus.schema.types.payment_intent import PaymentIntent
from nexus.services import payment_intents


@strawberry.input
class CapturePaymentIntentInput:
    id: strawberry.ID
    amount_to_capture: int | None = None


async def capture_payment_intent(
    info: Info[Context, None], input: CapturePaymentIntentInput, idempotency_key: str
) -> PaymentIntentPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> PaymentIntentPayload:
        result = await payment_intents.capture(
            info.context.state.sessions,
            principal.merchant_id,
            str(input.id),
            input.amount_to_capture,
            idempotency_key,
        )
        return PaymentIntentPayload(
            payment_intent=PaymentIntent.from_domain(result.intent),
            user_errors=[],
            idempotent_replayed=result.replayed,
        )

    return await guarded(PaymentIntentPayload.failed, run)

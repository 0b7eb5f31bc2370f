"""refundPaymentIntent: partial or full; several refunds may add up to the amount received.

Errors: NOT_FOUND, INVALID_STATE (not SUCCEEDED), REFUND_EXCEEDS_AMOUNT,
AMOUNT_TOO_SMALL, INVALID_INPUT (reason), IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.schema.context import Context
from nexus.schema.mutations.payloads import RefundPayload, guarded
from nexus.schema.types.payment_intent import PaymentIntent, Refund
from nexus.services import payment_intents


@strawberry.input
class RefundPaymentIntentInput:
    id: strawberry.ID
    amount: int | None = None
    reason: str | None = None


async def refund_payment_intent(
    info: Info[Context, None], input: RefundPaymentIntentInput, idempotency_key: str
) -> RefundPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> RefundPayload:
        result = await payment_intents.refund(
            info.context.state.sessions,
            principal.merchant_id,
            str(input.id),
            input.amount,
            input.reason,
            idempotency_key,
        )
        return RefundPayload(
            refund=Refund.from_record(result.refund),
            payment_intent=PaymentIntent.from_domain(result.intent),
            user_errors=[],
            idempotent_replayed=result.replayed,
        )

    return await guarded(RefundPayload.failed, run)

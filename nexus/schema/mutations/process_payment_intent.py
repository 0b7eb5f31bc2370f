"""processPaymentIntent: authorize a card (publishable key + clientSecret, or secret key).

A decline is not an error: the intent comes back FAILED with lastPaymentError.
Errors: INVALID_CARD (Luhn, expiry, CVC format: no attempt made), NOT_FOUND,
INVALID_STATE, IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_KEY_IN_USE, INVALID_INPUT.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.schema.context import Context
from nexus.schema.mutations.payloads import PaymentIntentPayload, guarded
from nexus.schema.types.payment_intent import PaymentIntent
from nexus.services.jobs import processor_for


@strawberry.input
class CardInput:
    number: str
    exp_month: int
    exp_year: int
    cvc: str

    def __repr__(self) -> str:  # inputs can reach logs; never the number or CVC
        return "CardInput(<hidden>)"


@strawberry.input
class ProcessPaymentIntentInput:
    id: strawberry.ID
    card: CardInput
    client_secret: str | None = None


async def process_payment_intent(
    info: Info[Context, None], input: ProcessPaymentIntentInput, idempotency_key: str
) -> PaymentIntentPayload:
    principal = await info.context.principal()
    card = {
        "number": input.card.number,
        "exp_month": input.card.exp_month,
        "exp_year": input.card.exp_year,
        "cvc": input.card.cvc,
    }

    async def run() -> PaymentIntentPayload:
        result = await processor_for(info.context.state).process(
            principal, str(input.id), input.client_secret, card, idempotency_key
        )
        return PaymentIntentPayload(
            payment_intent=PaymentIntent.from_domain(result.intent),
            user_errors=[],
            idempotent_replayed=result.replayed,
        )

    return await guarded(PaymentIntentPayload.failed, run)

"""authenticatePaymentIntent: the cardholder's answer to a 3-D Secure challenge.

succeed=true → PROCESSING, then the bank's decision; succeed=false → FAILED with
`payment_intent_authentication_failure`. Errors: NOT_FOUND, INVALID_STATE.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.schema.context import Context
from nexus.schema.mutations.payloads import PaymentIntentPayload, guarded
from nexus.schema.types.payment_intent import PaymentIntent
from nexus.services.jobs import processor_for


@strawberry.input
class AuthenticatePaymentIntentInput:
    id: strawberry.ID
    succeed: bool
    client_secret: str | None = None


async def authenticate_payment_intent(
    info: Info[Context, None], input: AuthenticatePaymentIntentInput
) -> PaymentIntentPayload:
    principal = await info.context.principal()

    async def run() -> PaymentIntentPayload:
        pi = await processor_for(info.context.state).authenticate(
            principal, str(input.id), input.client_secret, input.succeed
        )
        return PaymentIntentPayload(payment_intent=PaymentIntent.from_domain(pi), user_errors=[])

    return await guarded(PaymentIntentPayload.failed, run)

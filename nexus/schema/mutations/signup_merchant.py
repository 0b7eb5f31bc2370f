"""signupMerchant: no key needed; returns both keys this once.

Errors: INVALID_INPUT (name, email, idempotency key), IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.domain.errors import DomainError
from nexus.schema.context import Context
from nexus.schema.errors import UserError
from nexus.schema.mutations.payloads import guarded
from nexus.schema.types.merchant import Merchant
from nexus.services import merchants


@strawberry.input
class SignupMerchantInput:
    name: str
    email: str


@strawberry.type
class SignupMerchantPayload:
    merchant: Merchant | None
    secret_key: str | None = strawberry.field(description="Shown this once; store it safely.")
    publishable_key: str | None
    user_errors: list[UserError]
    idempotent_replayed: bool = False

    @classmethod
    def failed(cls, error: DomainError) -> SignupMerchantPayload:
        return cls(merchant=None, secret_key=None, publishable_key=None, user_errors=[UserError.from_domain(error)])


async def signup_merchant(
    info: Info[Context, None], input: SignupMerchantInput, idempotency_key: str | None = None
) -> SignupMerchantPayload:
    async def run() -> SignupMerchantPayload:
        result = await merchants.signup(info.context.state.sessions, input.name, input.email, idempotency_key)
        return SignupMerchantPayload(
            merchant=Merchant.from_record(result.merchant),
            secret_key=result.secret_key,
            publishable_key=result.publishable_key,
            user_errors=[],
            idempotent_replayed=result.replayed,
        )

    return await guarded(SignupMerchantPayload.failed, run)

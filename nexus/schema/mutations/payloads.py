"""Payloads shared by several mutations, and the userErrors guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from nexus.domain.errors import DomainError, RequestRefused
from nexus.schema.errors import UserError
from nexus.schema.types.payment_intent import PaymentIntent, Refund

P = TypeVar("P")


async def guarded(failed: Callable[[DomainError], P], run: Callable[[], Awaitable[P]]) -> P:
    """Expected failures become userErrors (nothing changed); refusals stay top-level."""
    try:
        return await run()
    except RequestRefused:
        raise
    except DomainError as error:
        return failed(error)


@strawberry.type
class PaymentIntentPayload:
    payment_intent: PaymentIntent | None
    user_errors: list[UserError]
    idempotent_replayed: bool = False

    @classmethod
    def failed(cls, error: DomainError) -> PaymentIntentPayload:
        return cls(payment_intent=None, user_errors=[UserError.from_domain(error)])


@strawberry.type
class RefundPayload:
    refund: Refund | None
    payment_intent: PaymentIntent | None
    user_errors: list[UserError]
    idempotent_replayed: bool = False

    @classmethod
    def failed(cls, error: DomainError) -> RefundPayload:
        return cls(refund=None, payment_intent=None, user_errors=[UserError.from_domain(error)])

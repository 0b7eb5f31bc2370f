"""PaymentIntent and what hangs off it: attempts, refunds, errors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from nexus.db.repositories.attempts import AttemptRecord
from nexus.db.repositories.refunds import RefundRecord
from nexus.db.uow import UnitOfWork
from nexus.domain.payment_intent import PaymentIntent as DomainIntent
from nexus.domain.status import CaptureMethod as DomainCaptureMethod
from nexus.domain.status import PaymentIntentStatus as DomainStatus
from nexus.domain.status import RiskLevel as DomainRiskLevel
from nexus.schema.context import Context
from nexus.schema.plain_selections import SHORTCUT, GiveUp
from nexus.schema.types.node import Node
from nexus.schema.types.pagination import PageInfo

if TYPE_CHECKING:
    from nexus.schema.types.event import EventConnection

PaymentIntentStatus = strawberry.enum(DomainStatus, name="PaymentIntentStatus")
CaptureMethod = strawberry.enum(DomainCaptureMethod, name="CaptureMethod")
RiskLevel = strawberry.enum(DomainRiskLevel, name="RiskLevel")


@strawberry.type
class PaymentError:
    code: str
    decline_code: str | None
    message: str


@strawberry.type
class PaymentAttempt:
    id: strawberry.ID
    card_brand: str
    card_last4: str
    outcome: str
    decline_code: str | None
    risk_score: int
    risk_level: RiskLevel  # type: ignore[valid-type]
    risk_reasons: list[str]
    network_status: str
    created_at: datetime

    @classmethod
    def from_record(cls, r: AttemptRecord) -> PaymentAttempt:
        return cls(
            id=strawberry.ID(r.id),
            card_brand=r.card_brand,
            card_last4=r.card_last4,
            outcome=r.outcome,
            decline_code=r.decline_code,
            risk_score=r.risk_score,
            risk_level=DomainRiskLevel(r.risk_level),
            risk_reasons=r.risk_reasons,
            network_status=r.network_status,
            created_at=r.created_at,
        )


@strawberry.type
class Refund(Node):
    amount: int
    currency: str
    reason: str | None
    status: str
    created_at: datetime
    payment_intent_id: strawberry.ID

    @classmethod
    def from_record(cls, r: RefundRecord) -> Refund:
        return cls(
            id=strawberry.ID(r.id),
            amount=r.amount,
            currency=r.currency,
            reason=r.reason,
            status=r.status,
            created_at=r.created_at,
            payment_intent_id=strawberry.ID(r.payment_intent_id),
        )


def _cleared_client_secret(intent: PaymentIntent) -> str:
    """clientSecret on the plain path: the secret already cleared for this response's caller."""
    if intent.cleared_client_secret is None:
        raise GiveUp  # the resolver decides, from the principal and the row
    return intent.cleared_client_secret


@strawberry.type
class PaymentIntent(Node):
    pi: strawberry.Private[DomainIntent]
    # Set only by a mutation whose caller the resolver below would show the secret to (the
    # intent's merchant's secret key), so plain_selections can answer without `info` and
    # without awaiting: ~20 µs of a create's CPU through graphql-core's general path.
    cleared_client_secret: strawberry.Private[str | None] = None

    @classmethod
    def from_domain(cls, pi: DomainIntent, *, cleared_client_secret: str | None = None) -> PaymentIntent:
        return cls(id=strawberry.ID(pi.id), pi=pi, cleared_client_secret=cleared_client_secret)

    @strawberry.field
    def amount(self) -> int:
        return self.pi.amount

    @strawberry.field
    def currency(self) -> str:
        return self.pi.currency

    @strawberry.field
    def status(self) -> PaymentIntentStatus:  # type: ignore[valid-type]
        return self.pi.status

    @strawberry.field
    def capture_method(self) -> CaptureMethod:  # type: ignore[valid-type]
        return self.pi.capture_method

    @strawberry.field
    def amount_capturable(self) -> int:
        return self.pi.amount_capturable

    @strawberry.field
    def amount_received(self) -> int:
        return self.pi.amount_received

    @strawberry.field
    def amount_refunded(self) -> int:
        return self.pi.amount_refunded

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Only shown to the secret key; hand it to your frontend.",
        metadata={SHORTCUT: _cleared_client_secret},
    )
    async def client_secret(self, info: Info[Context, None]) -> str | None:
        principal = await info.context.principal()
        if not principal.is_secret or principal.merchant_id != self.pi.merchant_id:
            return None
        if self.pi.client_secret:
            return self.pi.client_secret
        async with UnitOfWork(info.context.state.sessions, driver_only=True) as uow:
            return await uow.intents.client_secret(self.pi.merchant_id, self.pi.id)

    @strawberry.field
    def description(self) -> str | None:
        return self.pi.description

    @strawberry.field
    def metadata(self) -> JSON | None:
        return cast(JSON, self.pi.metadata)

    @strawberry.field
    def last_payment_error(self) -> PaymentError | None:
        error = self.pi.last_payment_error
        if error is None:
            return None
        return PaymentError(code=error["code"], decline_code=error.get("decline_code"), message=error["message"])

    @strawberry.field
    def cancellation_reason(self) -> str | None:
        return self.pi.cancellation_reason

    @strawberry.field
    async def attempts(self, info: Info[Context, None]) -> list[PaymentAttempt]:
        rows = await info.context.loaders.attempts.load(self.pi.id)
        return [PaymentAttempt.from_record(r) for r in rows]

    @strawberry.field
    async def refunds(self, info: Info[Context, None]) -> list[Refund]:
        rows = await info.context.loaders.refunds.load(self.pi.id)
        return [Refund.from_record(r) for r in rows]

    @strawberry.field
    async def events(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Annotated[EventConnection, strawberry.lazy("nexus.schema.types.event")]:
        from nexus.schema.types.event import events_connection

        principal = await info.context.principal()
        if not principal.is_secret:
            from nexus.domain.errors import Forbidden

            raise Forbidden("events need the secret key")
        return await events_connection(info, self.pi.merchant_id, first, after, None, self.pi.id)

    @strawberry.field
    def version(self) -> int:
        return self.pi.version

    @strawberry.field
    def created_at(self) -> datetime:
        return self.pi.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.pi.updated_at


@strawberry.type
class PaymentIntentEdge:
    cursor: str
    node: PaymentIntent


@strawberry.type
class PaymentIntentConnection:
    edges: list[PaymentIntentEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[PaymentIntent]:
        return [edge.node for edge in self.edges]

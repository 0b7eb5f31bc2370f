"""Single-transaction payment intent use cases: create, capture, cancel, refund.

Every change locks the intent row (SELECT … FOR UPDATE) for its transaction,
so racing requests serialize and the loser sees the winner's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories.refunds import RefundRecord
from nexus.db.uow import UnitOfWork
from nexus.domain.errors import NotFound
from nexus.domain.ids import new_id
from nexus.domain.payment_intent import PaymentIntent, new_payment_intent, validate_metadata
from nexus.domain.status import CaptureMethod
from nexus.services.events import record_intent_events
from nexus.services.idempotency import run_once
from nexus.services.records import intent_from_record, intent_record, now

Sessions = async_sessionmaker[AsyncSession]
# Stripe's limit on refund/cancellation reasons is similar; keeps rows bounded.
MAX_REASON = 200


@dataclass(frozen=True)
class IntentResult:
    intent: PaymentIntent
    replayed: bool
    client_secret: str | None = None


@dataclass(frozen=True)
class RefundResult:
    refund: RefundRecord
    intent: PaymentIntent
    replayed: bool


def _not_found(intent_id: str) -> NotFound:
    return NotFound(f"no payment intent {intent_id!r}", ["input", "id"])


def _reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    from nexus.domain.errors import InvalidInput

    if len(reason) > MAX_REASON or "\x00" in reason:
        raise InvalidInput(f"reason must be at most {MAX_REASON} characters", ["input", "reason"])
    return reason


async def create(
    sessions: Sessions,
    merchant_id: str,
    amount: int,
    currency: str,
    capture_method: CaptureMethod,
    description: str | None,
    metadata: dict[str, Any] | None,
    idempotency_key: str,
) -> IntentResult:
    # Validated before the request is fingerprinted: a pathological value (metadata nested
    # hundreds deep) must be refused as INVALID_INPUT, not recursed into.
    metadata = validate_metadata(metadata)
    arguments = {
        "amount": amount,
        "currency": currency,
        "captureMethod": capture_method.value,
        "description": description,
        "metadata": metadata,
    }
    created: list[PaymentIntent] = []

    async def execute(uow: UnitOfWork) -> dict[str, Any]:
        pi = new_payment_intent(merchant_id, amount, currency, capture_method, description, metadata, now())
        created.append(pi)
        await uow.intents.add(pi)
        # One record for the event's snapshot and the stored response: the same intent, made once.
        record = intent_record(pi)
        await record_intent_events(uow, pi, idempotency_key, snapshot=record)
        return {"intent": record}

    response, replayed = await run_once(
        sessions,
        merchant_id,
        idempotency_key,
        "createPaymentIntent",
        arguments,
        execute,
        driver_only=True,
        writes_only=True,
    )
    if replayed:
        return IntentResult(intent_from_record(response["intent"]), True)
    # The intent just made and committed is what its record says, and the client secret too.
    pi = created[-1]
    return IntentResult(pi, False, pi.client_secret)


async def _change(
    sessions: Sessions,
    merchant_id: str,
    intent_id: str,
    idempotency_key: str | None,
    operation: str,
    arguments: dict[str, Any],
    apply: Any,
) -> tuple[dict[str, Any], bool]:
    async def execute(uow: UnitOfWork) -> dict[str, Any]:
        pi = await uow.intents.get(merchant_id, intent_id, lock=True)
        if pi is None:
            raise _not_found(intent_id)
        extra = await apply(uow, pi)
        await uow.intents.save(pi)
        record = intent_record(pi)  # the event's snapshot and the stored response, made once
        await record_intent_events(uow, pi, idempotency_key, extra, snapshot=record)
        response: dict[str, Any] = {"intent": record}
        if isinstance(extra, RefundRecord):
            response["refund"] = {**extra.__dict__, "created_at": extra.created_at.isoformat()}
        return response

    return await run_once(sessions, merchant_id, idempotency_key, operation, arguments, execute, driver_only=True)


async def capture(
    sessions: Sessions, merchant_id: str, intent_id: str, amount_to_capture: int | None, idempotency_key: str
) -> IntentResult:
    async def apply(uow: UnitOfWork, pi: PaymentIntent) -> None:
        pi.capture(amount_to_capture, now())

    response, replayed = await _change(
        sessions,
        merchant_id,
        intent_id,
        idempotency_key,
        "capturePaymentIntent",
        {"id": intent_id, "amountToCapture": amount_to_capture},
        apply,
    )
    return IntentResult(intent_from_record(response["intent"]), replayed)


async def cancel(
    sessions: Sessions, merchant_id: str, intent_id: str, reason: str | None, idempotency_key: str | None
) -> IntentResult:
    reason = _reason(reason)

    async def apply(uow: UnitOfWork, pi: PaymentIntent) -> None:
        pi.cancel(reason, now())
        # A canceled 3-D Secure attempt will never be authorized: its encrypted card goes now.
        await uow.attempts.abandon_for_intent(pi.id)

    response, replayed = await _change(
        sessions,
        merchant_id,
        intent_id,
        idempotency_key,
        "cancelPaymentIntent",
        {"id": intent_id, "reason": reason},
        apply,
    )
    return IntentResult(intent_from_record(response["intent"]), replayed)


async def refund(
    sessions: Sessions,
    merchant_id: str,
    intent_id: str,
    amount: int | None,
    reason: str | None,
    idempotency_key: str,
) -> RefundResult:
    reason = _reason(reason)

    async def apply(uow: UnitOfWork, pi: PaymentIntent) -> RefundRecord:
        at = now()
        refunded = pi.refund(amount, at)
        record = RefundRecord(
            id=new_id("re"),
            merchant_id=merchant_id,
            payment_intent_id=pi.id,
            amount=refunded,
            currency=pi.currency,
            reason=reason,
            status="succeeded",
            created_at=at,
        )
        await uow.refunds.add(record)
        return record

    response, replayed = await _change(
        sessions,
        merchant_id,
        intent_id,
        idempotency_key,
        "refundPaymentIntent",
        {"id": intent_id, "amount": amount, "reason": reason},
        apply,
    )
    stored = dict(response["refund"])
    stored["created_at"] = datetime.fromisoformat(stored["created_at"])
    return RefundResult(RefundRecord(**stored), intent_from_record(response["intent"]), replayed)


async def cancel_expired_authorizations(sessions: Sessions, window_s: int, batch: int) -> int:
    """Cancel uncaptured authorizations older than the window (reason AUTOMATIC); returns how many."""
    async with UnitOfWork(sessions) as uow:
        intents = await uow.intents.expired_authorizations(now() - timedelta(seconds=window_s), batch)
        for pi in intents:
            pi.cancel("AUTOMATIC", now())
            await uow.intents.save(pi)
            await record_intent_events(uow, pi, None)
        await uow.commit()
    return len(intents)

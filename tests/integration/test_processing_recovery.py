"""Atomic phases: a crash between phases is recovered, by the job or by a retry with the key."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.domain.status import CaptureMethod, PaymentIntentStatus
from nexus.services import merchants, payment_intents
from nexus.services.auth import Principal
from nexus.services.processing import Processor

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


async def _merchant(sessions: async_sessionmaker[AsyncSession]) -> Principal:
    signup = await merchants.signup(sessions, "Crash Shop", f"{uuid.uuid4().hex[:6]}@x.test", None)
    return Principal(merchant_id=signup.merchant.id, kind="secret", key_id="test")


async def _crash_after_phase_one(
    sessions: async_sessionmaker[AsyncSession], processor: Processor, principal: Principal, key: str
) -> str:
    """Run only tx 1 (PROCESSING + attempt), as if the process died before asking the bank."""
    created = await payment_intents.create(
        sessions, principal.merchant_id, 1500, "usd", CaptureMethod.AUTOMATIC, None, None, uuid.uuid4().hex
    )
    from nexus.domain.cards import validate_card
    from nexus.domain.idempotency import request_fingerprint
    from nexus.services.records import now

    card = validate_card(CARD["number"], 12, 2034, "123", now().date())
    fp = request_fingerprint(
        "processPaymentIntent",
        {"id": created.intent.id, "card": {"number": card.number, "cvc": card.cvc, "expMonth": 12, "expYear": 2034}},
        key=processor.cipher.fingerprint_key,
    )
    started = await processor._start(principal.merchant_id, created.intent.id, card, key, fp)
    assert isinstance(started, tuple)
    return created.intent.id


async def _age(sessions: async_sessionmaker[AsyncSession], intent_id: str, by: timedelta) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE payment_attempts SET created_at = created_at - CAST(:d AS interval) "
                "WHERE payment_intent_id = :id"
            ),
            {"d": by, "id": intent_id},
        )
        await session.execute(
            text(
                "UPDATE idempotency_keys SET locked_at = locked_at - CAST(:d AS interval) "
                "WHERE recovery_data->>'attempt_id' IN (SELECT id FROM payment_attempts WHERE payment_intent_id = :id)"
            ),
            {"d": by, "id": intent_id},
        )


async def _status(sessions: async_sessionmaker[AsyncSession], intent_id: str) -> str:
    async with sessions() as session:
        return str(
            (
                await session.execute(text("SELECT status FROM payment_intents WHERE id = :id"), {"id": intent_id})
            ).scalar_one()
        )


async def test_recovery_job_finishes_an_attempt_left_in_flight(
    sessions: async_sessionmaker[AsyncSession], processor: Processor
) -> None:
    principal = await _merchant(sessions)
    key = uuid.uuid4().hex
    intent_id = await _crash_after_phase_one(sessions, processor, principal, key)
    assert await _status(sessions, intent_id) == "PROCESSING"

    # Fresh attempts are left alone: their request may still be running.
    await processor.recover_stuck(batch=1000)
    assert await _status(sessions, intent_id) == "PROCESSING"

    await _age(sessions, intent_id, timedelta(minutes=5))
    assert await processor.recover_stuck(batch=1000) >= 1
    assert await _status(sessions, intent_id) == "SUCCEEDED"

    # The client's retry with its key replays the recovered result, with no second bank decision.
    replay = await processor.process(principal, intent_id, None, CARD, key)
    assert replay.replayed and replay.intent.status is PaymentIntentStatus.SUCCEEDED
    async with sessions() as session:
        decisions = (
            await session.execute(
                text(
                    "SELECT count(*) FROM bank_authorizations b JOIN payment_attempts a ON a.id = b.attempt_id "
                    "WHERE a.payment_intent_id = :id"
                ),
                {"id": intent_id},
            )
        ).scalar_one()
        card_left = (
            await session.execute(
                text(
                    "SELECT count(*) FROM payment_attempts "
                    "WHERE payment_intent_id = :id AND card_ciphertext IS NOT NULL"
                ),
                {"id": intent_id},
            )
        ).scalar_one()
    assert decisions == 1
    assert card_left == 0  # the encrypted card is purged once the attempt resolves


async def test_retry_with_the_same_key_resumes_a_crashed_request(
    sessions: async_sessionmaker[AsyncSession], processor: Processor
) -> None:
    principal = await _merchant(sessions)
    key = uuid.uuid4().hex
    intent_id = await _crash_after_phase_one(sessions, processor, principal, key)

    # While the first request's lock is fresh, a repeat is refused rather than run twice.
    from nexus.domain.errors import IdempotencyKeyInUse

    try:
        await processor.process(principal, intent_id, None, CARD, key)
        raise AssertionError("expected IDEMPOTENCY_KEY_IN_USE")
    except IdempotencyKeyInUse:
        pass

    await _age(sessions, intent_id, timedelta(minutes=5))
    resumed = await processor.process(principal, intent_id, None, CARD, key)
    assert resumed.intent.status is PaymentIntentStatus.SUCCEEDED
    async with sessions() as session:
        attempts = (
            await session.execute(
                text("SELECT count(*) FROM payment_attempts WHERE payment_intent_id = :id"), {"id": intent_id}
            )
        ).scalar_one()
    assert attempts == 1  # resumed the crashed attempt, did not start another


async def test_expired_authorizations_are_canceled_automatically(
    sessions: async_sessionmaker[AsyncSession], processor: Processor
) -> None:
    principal = await _merchant(sessions)
    created = await payment_intents.create(
        sessions, principal.merchant_id, 2500, "eur", CaptureMethod.MANUAL, None, None, uuid.uuid4().hex
    )
    result = await processor.process(principal, created.intent.id, None, CARD, uuid.uuid4().hex)
    assert result.intent.status is PaymentIntentStatus.REQUIRES_CAPTURE
    window = 7 * 24 * 3600

    await payment_intents.cancel_expired_authorizations(sessions, window, 1000)
    assert await _status(sessions, created.intent.id) == "REQUIRES_CAPTURE"

    async with sessions() as session, session.begin():
        await session.execute(
            text("UPDATE payment_intents SET updated_at = updated_at - interval '8 days' WHERE id = :id"),
            {"id": created.intent.id},
        )
    await payment_intents.cancel_expired_authorizations(sessions, window, 1000)
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT status, cancellation_reason, amount_capturable, version FROM payment_intents WHERE id = :id"
                ),
                {"id": created.intent.id},
            )
        ).one()
        types = (
            (
                await session.execute(
                    text("SELECT type FROM events WHERE payment_intent_id = :id ORDER BY payment_intent_version"),
                    {"id": created.intent.id},
                )
            )
            .scalars()
            .all()
        )
    assert tuple(row) == ("CANCELED", "AUTOMATIC", 0, 4)
    assert types[-1] == "payment_intent.canceled"


async def test_unanswered_three_d_secure_challenges_fail_and_purge_the_card(
    sessions: async_sessionmaker[AsyncSession], processor: Processor
) -> None:
    from nexus.services.jobs import CHALLENGE_TTL

    principal = await _merchant(sessions)
    created = await payment_intents.create(
        sessions, principal.merchant_id, 1800, "usd", CaptureMethod.AUTOMATIC, None, None, uuid.uuid4().hex
    )
    card = {**CARD, "number": "4000002760003184"}
    result = await processor.process(principal, created.intent.id, None, card, uuid.uuid4().hex)
    assert result.intent.status is PaymentIntentStatus.REQUIRES_ACTION

    await processor.expire_challenges(CHALLENGE_TTL, 1000)
    assert await _status(sessions, created.intent.id) == "REQUIRES_ACTION"  # a fresh challenge waits

    async with sessions() as session, session.begin():
        await session.execute(
            text("UPDATE payment_intents SET updated_at = updated_at - interval '2 hours' WHERE id = :id"),
            {"id": created.intent.id},
        )
    assert await processor.expire_challenges(CHALLENGE_TTL, 1000) >= 1
    async with sessions() as session:
        intent = (
            await session.execute(
                text("SELECT status, last_payment_error->>'code' AS code FROM payment_intents WHERE id = :id"),
                {"id": created.intent.id},
            )
        ).one()
        attempt = (
            await session.execute(
                text(
                    "SELECT outcome, card_ciphertext IS NULL AS purged FROM payment_attempts "
                    "WHERE payment_intent_id = :id"
                ),
                {"id": created.intent.id},
            )
        ).one()
    assert tuple(intent) == ("FAILED", "payment_intent_authentication_failure")
    assert tuple(attempt) == ("declined", True)


async def test_an_expired_key_runs_again_as_new_for_another_payment(
    sessions: async_sessionmaker[AsyncSession], processor: Processor
) -> None:
    """Past KEY_TTL a key may be used for a new request: phase 1 rewrites the old row (restart)."""
    principal = await _merchant(sessions)
    key = uuid.uuid4().hex
    intents = [
        (
            await payment_intents.create(
                sessions, principal.merchant_id, amount, "usd", CaptureMethod.AUTOMATIC, None, None, uuid.uuid4().hex
            )
        ).intent.id
        for amount in (1500, 2500)
    ]
    first = await processor.process(principal, intents[0], None, CARD, key)
    assert first.intent.status is PaymentIntentStatus.SUCCEEDED and not first.replayed
    async with sessions() as session, session.begin():
        await session.execute(
            text("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' WHERE key = :k"),
            {"k": key},
        )
    second = await processor.process(principal, intents[1], None, CARD, key)
    assert not second.replayed and second.intent.id == intents[1]
    assert second.intent.status is PaymentIntentStatus.SUCCEEDED and second.intent.amount_received == 2500
    async with sessions() as session:
        row = (
            await session.execute(
                text("SELECT recovery_point, response->'intent'->>'id' AS id FROM idempotency_keys WHERE key = :k"),
                {"k": key},
            )
        ).one()
    assert (row.recovery_point, row.id) == ("finished", intents[1])

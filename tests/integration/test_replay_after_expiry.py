"""A retry of a payment made on its card's last valid day replays; a new payment is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.uow import UnitOfWork
from nexus.domain.errors import InvalidCard
from nexus.domain.status import CaptureMethod
from nexus.services import merchants, payment_intents, processing
from nexus.services.auth import Principal
from nexus.services.processing import Processor

# Expires at the end of November 2026; paid a minute before midnight, retried a minute after.
CARD = {"number": "4242424242424242", "exp_month": 11, "exp_year": 2026, "cvc": "123"}
LAST_VALID_MINUTE = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
FIRST_EXPIRED_MINUTE = datetime(2026, 12, 1, 0, 1, tzinfo=UTC)


async def test_a_retry_after_the_card_expired_replays_the_payment(
    sessions: async_sessionmaker[AsyncSession], processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    signup = await merchants.signup(sessions, "Month End", f"{uuid.uuid4().hex[:6]}@x.test", None)
    p = Principal(merchant_id=signup.merchant.id, kind="secret", key_id="test")

    async def new_intent() -> str:
        created = await payment_intents.create(
            sessions, p.merchant_id, 1500, "usd", CaptureMethod.AUTOMATIC, None, None, uuid.uuid4().hex
        )
        return created.intent.id

    intent_id, key = await new_intent(), uuid.uuid4().hex
    monkeypatch.setattr(processing, "now", lambda: LAST_VALID_MINUTE)
    first = await processor.process(p, intent_id, None, CARD, key)
    assert (first.intent.status.value, first.replayed) == ("SUCCEEDED", False)

    monkeypatch.setattr(processing, "now", lambda: FIRST_EXPIRED_MINUTE)
    retry = await processor.process(p, intent_id, None, CARD, key)
    assert (retry.intent.status.value, retry.replayed) == ("SUCCEEDED", True)
    assert retry.intent.version == first.intent.version

    # A new payment (another key) with the now-expired card is refused, and changes nothing.
    other = await new_intent()
    with pytest.raises(InvalidCard, match="expired"):
        await processor.process(p, other, None, CARD, uuid.uuid4().hex)
    async with UnitOfWork(sessions) as uow:
        untouched = await uow.intents.get(p.merchant_id, other)
        assert untouched is not None and untouched.status.value == "CREATED"
        assert await uow.attempts.for_intents([other]) == []

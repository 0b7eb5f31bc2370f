"""Processing a payment as atomic phases with recovery points (rocket-rides).

  tx 1  mark PROCESSING, record the attempt (card encrypted), key at `attempt_created`
  bank  asked keyed by attempt id, with no transaction open: a slow bank holds no
        connection and no row lock
  tx 2  record the bank's decision (the first recorded for an attempt stands), apply
        it, purge the card, store the response on the key

A crash between phases leaves the attempt `pending`: a retry with the same key
resumes from the attempt, and the recovery job re-drives attempts nobody
retried, so no intent stays PROCESSING. Two drivers of one attempt (a retry and
the job) both may ask the bank; the decision recorded first is the one applied.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nexus.crypto import Cipher
from nexus.db.repositories.attempts import AttemptRecord
from nexus.db.uow import UnitOfWork
from nexus.domain import bank
from nexus.domain.cards import Card, check_card_dates, fingerprint, parse_card
from nexus.domain.errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidState, NotFound
from nexus.domain.idempotency import LOCK_TIMEOUT, Decision, decide, request_fingerprint, validate_key
from nexus.domain.ids import new_id
from nexus.domain.payment_intent import PaymentIntent
from nexus.domain.status import PaymentIntentStatus
from nexus.services.acquirer import Acquirer
from nexus.services.auth import Principal
from nexus.services.events import record_intent_events
from nexus.services.payment_intents import IntentResult, Sessions
from nexus.services.records import intent_from_record, intent_record, now

ATTEMPT_CREATED = "attempt_created"
# A repeat of an in-flight request waits this long for it to finish, then gets IDEMPOTENCY_KEY_IN_USE:
# longer than a processing request takes (bank latency included), shorter than client timeouts.
IN_USE_WAIT_S = 5.0
# How often the waiting repeat looks again: small against a request's ~10 ms, cheap for the database.
IN_USE_POLL_S = 0.05


@dataclass(frozen=True)
class BankCall:
    """What asking the bank needs for one attempt; phase 1 has it all in hand."""

    card: Card
    amount: int
    currency: str
    recent_declines: int


@dataclass(frozen=True)
class Processor:
    sessions: Sessions
    cipher: Cipher
    acquirer: Acquirer
    # When an unfinished attempt counts as a crashed request's: its key may be resumed, the job re-drives it.
    recover_after: timedelta = LOCK_TIMEOUT

    async def process(
        self,
        principal: Principal,
        intent_id: str,
        client_secret: str | None,
        card_input: dict[str, Any],
        key: str,
    ) -> IntentResult:
        validate_key(key)
        # The day-dependent checks (expiry) wait until the key is known not to be a replay:
        # a retry of a payment made on its card's last valid day replays, as Stripe's would.
        card = parse_card(card_input["number"], card_input["exp_month"], card_input["exp_year"], card_input["cvc"])
        merchant_id = await self._merchant_of(principal, intent_id, client_secret)
        arguments = {
            "id": intent_id,
            "card": {
                "number": card.number,
                "cvc": card.cvc,
                "expMonth": card.exp_month,
                "expYear": card.exp_year,
            },
        }
        fp = request_fingerprint("processPaymentIntent", arguments, key=self.cipher.fingerprint_key)
        started = await self._start_or_wait(merchant_id, intent_id, card, key, fp)
        if isinstance(started, dict):
            return IntentResult(intent_from_record(started["intent"]), True)
        attempt_id, call = started
        pi = await self.drive(attempt_id, merchant_id, key, authenticated=False, call=call)
        return IntentResult(pi, False)

    async def _merchant_of(self, principal: Principal, intent_id: str, client_secret: str | None) -> str:
        """Publishable keys reach one intent through its client secret; a mismatch is NOT_FOUND."""
        if principal.is_secret:
            return principal.merchant_id
        async with UnitOfWork(self.sessions) as uow:
            pi = await uow.intents.get_with_secret(intent_id, client_secret or "")
        if pi is None or pi.merchant_id != principal.merchant_id:
            raise NotFound(f"no payment intent {intent_id!r}", ["input", "id"])
        return pi.merchant_id

    async def _start_or_wait(
        self, merchant_id: str, intent_id: str, card: Card, key: str, fp: str
    ) -> tuple[str, BankCall | None] | dict[str, Any]:
        """A repeat of a request still running waits for it and replays its response."""
        deadline = time.monotonic() + IN_USE_WAIT_S
        while True:
            try:
                return await self._start(merchant_id, intent_id, card, key, fp)
            except IdempotencyKeyInUse:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(IN_USE_POLL_S)

    async def _start(
        self, merchant_id: str, intent_id: str, card: Card, key: str, fp: str
    ) -> tuple[str, BankCall | None] | dict[str, Any]:
        """Phase 1. Returns the attempt to drive (with the bank call when this request made
        the attempt; a resumed one is read back), or a stored response to replay."""
        at = now()
        attempt_id = new_id("pa")
        recovery = {"attempt_id": attempt_id}
        op = "processPaymentIntent"
        async with UnitOfWork(self.sessions, driver_only=True) as uow:
            if not await uow.idempotency.claim(
                merchant_id, key, op, fp, at, locked=True, recovery_point=ATTEMPT_CREATED, recovery_data=recovery
            ):
                stored = await uow.idempotency.get(merchant_id, key, lock=True)
                decision = decide(stored, fp, at, self.recover_after)
                if decision is Decision.REPLAY:
                    assert stored is not None and stored.response is not None
                    return stored.response
                if decision is Decision.REUSED:
                    raise IdempotencyKeyReused(
                        "this idempotency key was already used with a different request; use a new key",
                        ["idempotencyKey"],
                    )
                if decision is Decision.IN_USE:
                    raise IdempotencyKeyInUse(
                        "a request with this idempotency key is still in progress; retry shortly",
                        ["idempotencyKey"],
                    )
                if decision is Decision.RESUME:
                    data = await uow.idempotency.recovery_data(merchant_id, key)
                    if data and "attempt_id" in data:
                        # Take the lock over from the crashed request, then continue from its attempt.
                        await uow.idempotency.set_recovery_point(merchant_id, key, ATTEMPT_CREATED, data, at)
                        await uow.commit()
                        return str(data["attempt_id"]), None
                await uow.idempotency.restart(merchant_id, key, fp, op, at, ATTEMPT_CREATED, recovery)
            check_card_dates(card, at.date())
            card_fingerprint = fingerprint(card.number, self.cipher.fingerprint_key)
            found = await uow.intents.get_for_processing(
                merchant_id, intent_id, card_fingerprint, at - bank.VELOCITY_WINDOW
            )
            if found is None:
                raise NotFound(f"no payment intent {intent_id!r}", ["input", "id"])
            pi, declines = found
            pi.start_processing(at)
            await uow.attempts.add_pending(
                {
                    "id": attempt_id,
                    "merchant_id": merchant_id,
                    "payment_intent_id": pi.id,
                    "card_brand": card.brand,
                    "card_last4": card.last4,
                    "card_fingerprint": card_fingerprint,
                    "card_exp_month": card.exp_month,
                    "card_exp_year": card.exp_year,
                    "card_ciphertext": self.cipher.encrypt(_card_blob(card), attempt_id.encode()),
                    "idempotency_key": key,
                    "created_at": at,
                }
            )
            await uow.intents.save(pi)
            await record_intent_events(uow, pi, key)
            await uow.commit()
        return attempt_id, BankCall(card, pi.amount, pi.currency, declines)

    async def drive(
        self,
        attempt_id: str,
        merchant_id: str,
        key: str | None,
        *,
        authenticated: bool,
        call: BankCall | None = None,
    ) -> PaymentIntent:
        """The bank, then phase 2, for one in-flight attempt; safe to run any number of times."""
        decision: dict[str, Any] | None = None
        if call is None:
            call, decision = await self._read_back(attempt_id, authenticated)
        if decision is None:
            assert call is not None
            asked = await self.acquirer.authorize(
                call.card, call.amount, call.currency, call.recent_declines, authenticated
            )
            decision = _decision_to(asked)
        return await self._apply(attempt_id, merchant_id, key, authenticated, decision)

    async def _read_back(self, attempt_id: str, authenticated: bool) -> tuple[BankCall | None, dict[str, Any] | None]:
        """A resumed or re-driven attempt: the decision already recorded, else the bank call."""
        async with UnitOfWork(self.sessions, driver_only=True) as uow:
            request = await uow.attempts.bank_request(attempt_id, authenticated)
            if request is not None and request.decision is not None:
                return None, request.decision
            if request is None or request.card_ciphertext is None:
                raise InvalidState("this payment attempt can no longer be authorized")
            declines = await uow.attempts.recent_declines(
                request.merchant_id, request.card_fingerprint, now() - bank.VELOCITY_WINDOW
            )
        card = _card_from(self.cipher.decrypt(request.card_ciphertext, attempt_id.encode()))
        return BankCall(card, request.amount, request.currency, declines), None

    async def _apply(
        self, attempt_id: str, merchant_id: str, key: str | None, authenticated: bool, asked: dict[str, Any]
    ) -> PaymentIntent:
        async with UnitOfWork(self.sessions, driver_only=True) as uow:
            # If another driver recorded first, its decision stands (this insert waits for its commit).
            decision = _decision_from(await uow.attempts.record_bank_decision(attempt_id, authenticated, asked))
            found = await uow.intents.get_for_attempt(merchant_id, attempt_id)
            assert found is not None
            pi, outcome = found
            # The event's snapshot and the stored response share one record of the intent.
            record: dict[str, Any] | None = None
            if outcome in ("pending", "authenticating") and pi.status is PaymentIntentStatus.PROCESSING:
                pi.apply_decision(decision, now())
                await uow.attempts.resolve(
                    attempt_id,
                    _decision_to(decision),
                    keep_card=decision.outcome == "requires_action",
                )
                await uow.intents.save(pi)
                record = intent_record(pi)
                await record_intent_events(uow, pi, key, snapshot=record)
            if key is not None:
                await uow.idempotency.finish(merchant_id, key, {"intent": record or intent_record(pi)})
            await uow.commit()
        return pi

    async def authenticate(
        self, principal: Principal, intent_id: str, client_secret: str | None, succeed: bool
    ) -> PaymentIntent:
        """The cardholder's answer to a 3-D Secure challenge."""
        merchant_id = await self._merchant_of(principal, intent_id, client_secret)
        async with UnitOfWork(self.sessions) as uow:
            pi = await uow.intents.get(merchant_id, intent_id, lock=True)
            if pi is None:
                raise NotFound(f"no payment intent {intent_id!r}", ["input", "id"])
            attempt = await self._answer_challenge(uow, pi, succeed)
            await uow.commit()
        if not succeed:
            return pi
        # No key: the processing request's stored response stays what it answered (REQUIRES_ACTION).
        return await self.drive(attempt.id, merchant_id, None, authenticated=True)

    async def _answer_challenge(self, uow: UnitOfWork, pi: PaymentIntent, succeed: bool) -> AttemptRecord:
        """Apply a challenge's answer to the locked intent and its waiting attempt."""
        pi.authenticate(succeed, now())
        attempt = await uow.attempts.latest_for_intent(pi.id)
        assert attempt is not None
        if succeed:
            await uow.attempts.resolve(attempt.id, {"outcome": "authenticating"}, keep_card=True)
        else:
            await uow.attempts.resolve(
                attempt.id,
                {"outcome": "declined", "network_status": "declined_by_network", "decline_code": None},
                keep_card=False,
            )
        await uow.intents.save(pi)
        await record_intent_events(uow, pi, None)
        return attempt

    async def expire_challenges(self, older_than: timedelta, batch: int) -> int:
        """Unanswered 3-D Secure challenges fail (and their encrypted card goes); returns how many."""
        async with UnitOfWork(self.sessions) as uow:
            intents = await uow.intents.expired_challenges(now() - older_than, batch)
            for pi in intents:
                await self._answer_challenge(uow, pi, succeed=False)
            await uow.commit()
        return len(intents)

    async def recover_stuck(self, batch: int) -> int:
        """Re-drive attempts left in flight by a crash; returns how many."""
        async with UnitOfWork(self.sessions) as uow:
            stuck = await uow.attempts.stuck(now() - self.recover_after, batch)
        for attempt in stuck:
            authenticating = attempt.outcome == "authenticating"
            # A first authorization also finishes its request's key, so a client retry replays it.
            key = None if authenticating else attempt.idempotency_key
            await self.drive(attempt.id, attempt.merchant_id, key, authenticated=authenticating)
        return len(stuck)


def _card_blob(card: Card) -> bytes:
    # The CVC is never stored: only what the bank needs again (number and expiry).
    return f"{card.number}|{card.exp_month}|{card.exp_year}".encode()


def _card_from(blob: bytes) -> Card:
    number, month, year = blob.decode().split("|")
    return Card(number=number, exp_month=int(month), exp_year=int(year), cvc="")


def _decision_to(decision: bank.BankDecision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "decline_code": decision.decline_code,
        "risk_score": decision.risk_score,
        "risk_level": decision.risk_level.value,
        "risk_reasons": list(decision.risk_reasons),
        "network_status": decision.network_status,
    }


def _decision_from(data: dict[str, Any]) -> bank.BankDecision:
    from nexus.domain.status import RiskLevel

    return bank.BankDecision(
        outcome=data["outcome"],
        decline_code=data["decline_code"],
        risk_score=data["risk_score"],
        risk_level=RiskLevel(data["risk_level"]),
        risk_reasons=tuple(data["risk_reasons"]),
        network_status=data["network_status"],
    )

"""Payment attempts and the simulated bank's record of its decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.prepared import Prepared, fetch_one, write

_A = models.PaymentAttempt


@dataclass(frozen=True)
class AttemptRecord:
    id: str
    merchant_id: str
    payment_intent_id: str
    card_brand: str
    card_last4: str
    card_fingerprint: str
    card_exp_month: int
    card_exp_year: int
    outcome: str
    decline_code: str | None
    risk_score: int
    risk_level: str
    risk_reasons: list[str]
    network_status: str
    idempotency_key: str | None
    created_at: datetime


@dataclass(frozen=True)
class BankRequest:
    merchant_id: str
    card_fingerprint: str
    card_ciphertext: bytes | None
    amount: int
    currency: str
    decision: dict[str, Any] | None


def _record(row: models.PaymentAttempt | Row[Any]) -> AttemptRecord:
    return AttemptRecord(
        id=row.id,
        merchant_id=row.merchant_id,
        payment_intent_id=row.payment_intent_id,
        card_brand=row.card_brand,
        card_last4=row.card_last4,
        card_fingerprint=row.card_fingerprint,
        card_exp_month=row.card_exp_month,
        card_exp_year=row.card_exp_year,
        outcome=row.outcome,
        decline_code=row.decline_code,
        risk_score=row.risk_score,
        risk_level=row.risk_level,
        risk_reasons=list(row.risk_reasons or []),
        network_status=row.network_status,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
    )


_B = models.BankAuthorization
_PI = models.PaymentIntent

# Built once; the values come as parameters (see prepared.Prepared).
_INSERT_PENDING = Prepared(insert(_A))
_RESOLVE = Prepared(update(_A).where(_A.id == bindparam("w_id")))
_RESOLVE_PURGING = Prepared(
    update(_A).where(_A.id == bindparam("w_id")).values(card_ciphertext=None, resolved_at=func.now())
)
# What asking the bank needs, in one round-trip: the attempt's card, the intent's amount, and
# the decision already recorded for this attempt (if any).
_BANK_REQUEST = Prepared(
    select(_A.merchant_id, _A.card_fingerprint, _A.card_ciphertext, _PI.amount, _PI.currency, _B.decision)
    .join(_PI, _PI.id == _A.payment_intent_id)
    .outerjoin(_B, (_B.attempt_id == _A.id) & (_B.authenticated == bindparam("w_authenticated")))
    .where(_A.id == bindparam("w_id"))
)
_RECORD_DECISION = Prepared(pg_insert(_B).on_conflict_do_nothing().returning(_B.decision))
_DECISION = Prepared(
    select(_B.decision).where(_B.attempt_id == bindparam("w_id"), _B.authenticated == bindparam("w_authenticated"))
)


# Declines of one card at one merchant since a time: answered from the partial index alone.
def recent_declines_count(merchant_id: Any, fingerprint: Any, since: Any) -> Select[int]:
    """The velocity rule's count: declines of one card at one merchant since a time, answered
    from the partial index ix_attempt_declines alone. The one definition of that predicate:
    processing's phase 1 embeds it as a subquery (payment_intents.get_for_processing)."""
    return select(func.count()).where(
        _A.merchant_id == merchant_id,
        _A.card_fingerprint == fingerprint,
        _A.created_at >= since,
        models.DECLINED_OUTCOMES,
    )


_RECENT_DECLINES = Prepared(recent_declines_count(bindparam("m"), bindparam("f"), bindparam("since")))
_ABANDON = Prepared(
    update(_A)
    .where(_A.payment_intent_id == bindparam("w_intent"), _A.outcome == "requires_action")
    .values(outcome="canceled", card_ciphertext=None, resolved_at=func.now())
)


class AttemptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_pending(self, values: dict[str, Any]) -> None:
        pending = {"outcome": "pending", "network_status": "pending", "risk_reasons": [], **values}
        await write(self.session, _INSERT_PENDING, pending)

    async def latest_for_intent(self, intent_id: str) -> AttemptRecord | None:
        row = (
            await self.session.execute(
                select(_A).where(_A.payment_intent_id == intent_id).order_by(_A.created_at.desc()).limit(1)
            )
        ).scalar_one_or_none()
        return _record(row) if row else None

    async def for_intents(self, intent_ids: list[str]) -> list[AttemptRecord]:
        rows = await self.session.execute(
            select(_A).where(_A.payment_intent_id.in_(intent_ids)).order_by(_A.created_at, _A.id)
        )
        return [_record(r) for r in rows.scalars()]

    async def resolve(self, attempt_id: str, values: dict[str, Any], *, keep_card: bool) -> None:
        """Record the outcome; the card number is purged unless a 3-D Secure step still needs it."""
        await write(self.session, _RESOLVE if keep_card else _RESOLVE_PURGING, {"w_id": attempt_id, **values})

    async def abandon_for_intent(self, intent_id: str) -> None:
        """The intent was canceled: attempts still waiting (3-D Secure) end, their card purged."""
        await write(self.session, _ABANDON, {"w_intent": intent_id})

    async def recent_declines(self, merchant_id: str, fingerprint: str, since: datetime) -> int:
        row = await fetch_one(self.session, _RECENT_DECLINES, {"m": merchant_id, "f": fingerprint, "since": since})
        assert row is not None  # count(*) always answers one row
        return int(row[0])

    async def stuck(self, before: datetime, limit: int) -> list[AttemptRecord]:
        """Attempts still pending since before `before`: a crash left them in flight."""
        rows = await self.session.execute(
            select(_A)
            .where(_A.outcome.in_(("pending", "authenticating")), _A.created_at < before)
            .order_by(_A.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_record(r) for r in rows.scalars()]

    async def bank_request(self, attempt_id: str, authenticated: bool) -> BankRequest | None:
        """What asking the bank needs (see _BANK_REQUEST), or None for an unknown attempt."""
        row = await fetch_one(self.session, _BANK_REQUEST, {"w_id": attempt_id, "w_authenticated": authenticated})
        if row is None:
            return None
        return BankRequest(
            merchant_id=row.merchant_id,
            card_fingerprint=row.card_fingerprint,
            card_ciphertext=row.card_ciphertext,
            amount=row.amount,
            currency=row.currency,
            decision=row.decision,
        )

    async def record_bank_decision(
        self, attempt_id: str, authenticated: bool, decision: dict[str, Any]
    ) -> dict[str, Any]:
        """Record the bank's decision; if another driver recorded one first, that one stands and is returned."""
        values = {"attempt_id": attempt_id, "authenticated": authenticated, "decision": decision}
        inserted = await fetch_one(self.session, _RECORD_DECISION, values)
        if inserted is not None:
            return dict(inserted.decision)
        stored = await fetch_one(self.session, _DECISION, {"w_id": attempt_id, "w_authenticated": authenticated})
        assert stored is not None
        return dict(stored.decision)

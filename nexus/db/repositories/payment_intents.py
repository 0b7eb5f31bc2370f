"""Payment intents: load with a row lock, save a changed intent, page through them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, any_, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.attempts import recent_declines_count
from nexus.db.repositories.prepared import Prepared, fetch, fetch_one, write
from nexus.domain.payment_intent import PaymentIntent
from nexus.domain.status import CaptureMethod, PaymentIntentStatus

_T = models.PaymentIntent
# Every column but the client secret: it is read only when a secret key asks for it.
_COLUMNS = (
    _T.id,
    _T.merchant_id,
    _T.amount,
    _T.currency,
    _T.status,
    _T.capture_method,
    _T.amount_capturable,
    _T.amount_received,
    _T.amount_refunded,
    _T.description,
    _T.metadata_.label("meta"),
    _T.last_payment_error,
    _T.cancellation_reason,
    _T.version,
    _T.created_at,
    _T.updated_at,
)


def _to_domain(row: Row[Any]) -> PaymentIntent:
    return PaymentIntent(
        id=row.id,
        merchant_id=row.merchant_id,
        amount=row.amount,
        currency=row.currency,
        status=PaymentIntentStatus(row.status),
        capture_method=CaptureMethod(row.capture_method),
        amount_capturable=row.amount_capturable,
        amount_received=row.amount_received,
        amount_refunded=row.amount_refunded,
        client_secret="",
        description=row.description,
        metadata=row.meta,
        last_payment_error=row.last_payment_error,
        cancellation_reason=row.cancellation_reason,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _mutable_values(pi: PaymentIntent) -> dict[str, Any]:
    return {
        "status": pi.status.value,
        "amount_capturable": pi.amount_capturable,
        "amount_received": pi.amount_received,
        "amount_refunded": pi.amount_refunded,
        "last_payment_error": pi.last_payment_error,
        "cancellation_reason": pi.cancellation_reason,
        "version": pi.version,
        "updated_at": pi.updated_at,
    }


# Built once: a statement made per call with .values(...) has its cache key recomputed over
# every value on each execution; these carry bind parameters and a memoized key instead.
_INSERT = Prepared(insert(_T))
_SAVE = Prepared(update(_T).where(_T.id == bindparam("w_id"), _T.merchant_id == bindparam("w_merchant_id")))
_SELECT = select(*_COLUMNS).where(_T.id == bindparam("w_id"), _T.merchant_id == bindparam("w_merchant_id"))
_GET = Prepared(_SELECT)
_GET_LOCKED = Prepared(_SELECT.with_for_update())
_A = models.PaymentAttempt
# Processing's phase 1 in one round-trip: the intent, locked, and the velocity rule's count of
# the card's recent declines at this merchant (answered from the partial index ix_attempt_declines).
_RECENT_DECLINES = recent_declines_count(
    bindparam("w_merchant_id"), bindparam("w_fingerprint"), bindparam("w_since")
).scalar_subquery()
_GET_FOR_PROCESSING = Prepared(_SELECT.add_columns(_RECENT_DECLINES.label("declines")).with_for_update(of=_T))
# Phase 2 in one round-trip: the attempt's intent, locked, and the attempt's outcome so far.
_GET_FOR_ATTEMPT = Prepared(
    select(*_COLUMNS, _A.outcome.label("attempt_outcome"))
    .join(_A, _A.payment_intent_id == _T.id)
    .where(_A.id == bindparam("w_attempt_id"), _T.merchant_id == bindparam("w_merchant_id"))
    .with_for_update(of=_T)
)
_GET_WITH_SECRET = Prepared(
    select(*_COLUMNS).where(_T.id == bindparam("w_id"), _T.client_secret == bindparam("w_secret"))
)
_CLIENT_SECRET = Prepared(
    select(_T.client_secret).where(_T.id == bindparam("w_id"), _T.merchant_id == bindparam("w_merchant_id"))
)


# One prepared statement per combination of filters (at most 16), built on first use: a page
# read is one SQL text per shape, its values all parameters (the statuses as one array).
_PAGES: dict[tuple[bool, bool, bool, bool], Prepared] = {}


def _page_statement(shape: tuple[bool, bool, bool, bool]) -> Prepared:
    prepared = _PAGES.get(shape)
    if prepared is None:
        after, statuses, gte, lt = shape
        stmt = select(*_COLUMNS).where(_T.merchant_id == bindparam("w_merchant_id"))
        if after:
            stmt = stmt.where(tuple_(_T.created_at, _T.id) < tuple_(bindparam("after_at"), bindparam("after_id")))
        if statuses:
            stmt = stmt.where(_T.status == any_(bindparam("statuses", type_=ARRAY(String))))
        if gte:
            stmt = stmt.where(_T.created_at >= bindparam("gte"))
        if lt:
            stmt = stmt.where(_T.created_at < bindparam("lt"))
        stmt = stmt.order_by(_T.created_at.desc(), _T.id.desc()).limit(bindparam("limit"))
        prepared = _PAGES[shape] = Prepared(stmt)
    return prepared


class PaymentIntentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, pi: PaymentIntent) -> None:
        values = {
            "id": pi.id,
            "merchant_id": pi.merchant_id,
            "amount": pi.amount,
            "currency": pi.currency,
            "capture_method": pi.capture_method.value,
            "client_secret": pi.client_secret,
            "description": pi.description,
            "metadata": pi.metadata,  # the column's key (the attribute is metadata_)
            "created_at": pi.created_at,
            **_mutable_values(pi),
        }
        await write(self.session, _INSERT, values)

    async def get(self, merchant_id: str, intent_id: str, *, lock: bool = False) -> PaymentIntent | None:
        """The intent of this merchant, row-locked for the transaction when `lock`."""
        params = {"w_id": intent_id, "w_merchant_id": merchant_id}
        row = await fetch_one(self.session, _GET_LOCKED if lock else _GET, params)
        return _to_domain(row) if row else None

    async def get_for_processing(
        self, merchant_id: str, intent_id: str, fingerprint: str, since: datetime
    ) -> tuple[PaymentIntent, int] | None:
        """The intent, row-locked, and how often this card was declined here since `since`."""
        params = {"w_id": intent_id, "w_merchant_id": merchant_id, "w_fingerprint": fingerprint, "w_since": since}
        row = await fetch_one(self.session, _GET_FOR_PROCESSING, params)
        return (_to_domain(row), int(row.declines)) if row else None

    async def get_for_attempt(self, merchant_id: str, attempt_id: str) -> tuple[PaymentIntent, str] | None:
        """The intent an attempt is for, row-locked, and the attempt's outcome so far."""
        row = await fetch_one(
            self.session, _GET_FOR_ATTEMPT, {"w_attempt_id": attempt_id, "w_merchant_id": merchant_id}
        )
        return (_to_domain(row), row.attempt_outcome) if row else None

    async def get_with_secret(self, intent_id: str, client_secret: str) -> PaymentIntent | None:
        """For publishable keys: the intent only if the client secret matches (any merchant's
        publishable key is checked against the intent's merchant by the caller)."""
        row = await fetch_one(self.session, _GET_WITH_SECRET, {"w_id": intent_id, "w_secret": client_secret})
        return _to_domain(row) if row else None

    async def client_secret(self, merchant_id: str, intent_id: str) -> str | None:
        row = await fetch_one(self.session, _CLIENT_SECRET, {"w_id": intent_id, "w_merchant_id": merchant_id})
        return row.client_secret if row else None

    async def save(self, pi: PaymentIntent) -> None:
        """Write a changed intent; the caller holds its row lock, so versions never race."""
        await write(self.session, _SAVE, {"w_id": pi.id, "w_merchant_id": pi.merchant_id, **_mutable_values(pi)})

    async def page(
        self,
        merchant_id: str,
        limit: int,
        after: tuple[datetime, str] | None,
        statuses: list[str] | None,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
    ) -> list[PaymentIntent]:
        """Newest first; keyset pagination on (created_at, id) so deep pages stay cheap."""
        params: dict[str, Any] = {"w_merchant_id": merchant_id, "limit": limit}
        if after is not None:
            params["after_at"], params["after_id"] = after
        if statuses:
            params["statuses"] = statuses
        if created_gte is not None:
            params["gte"] = created_gte
        if created_lt is not None:
            params["lt"] = created_lt
        shape = (after is not None, bool(statuses), created_gte is not None, created_lt is not None)
        return [_to_domain(r) for r in await fetch(self.session, _page_statement(shape), params)]

    async def expired_authorizations(self, before: datetime, limit: int) -> list[PaymentIntent]:
        """Uncaptured authorizations older than the window, locked, skipping ones others hold."""
        return await self._waiting_since(PaymentIntentStatus.REQUIRES_CAPTURE, before, limit)

    async def expired_challenges(self, before: datetime, limit: int) -> list[PaymentIntent]:
        """3-D Secure challenges left unanswered since before `before`, locked like the above."""
        return await self._waiting_since(PaymentIntentStatus.REQUIRES_ACTION, before, limit)

    async def _waiting_since(self, status: PaymentIntentStatus, before: datetime, limit: int) -> list[PaymentIntent]:
        stmt = (
            select(*_COLUMNS)
            .where(_T.status == status.value, _T.updated_at < before)
            .order_by(_T.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_to_domain(r) for r in await self.session.execute(stmt)]

"""Events: immutable, written in the transaction of the change they record.

Inserting an event fires the `events_fanout` trigger (see the migrations): it
writes the outbox rows for matching endpoints and `pg_notify`s the ids, all in
the same transaction and with no extra round-trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, insert, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.prepared import Prepared, fetch, write

_E = models.Event


@dataclass(frozen=True)
class NewEvent:
    id: str
    merchant_id: str
    type: str
    api_version: str
    data: dict[str, Any]
    payment_intent_id: str | None
    payment_intent_version: int | None
    intent_snapshot: dict[str, Any] | None
    idempotency_key: str | None
    created_at: datetime


@dataclass(frozen=True)
class EventRecord(NewEvent):
    """A stored event: what was written, plus the sequence number the database gave it."""

    seq: int


def _record(row: models.Event) -> EventRecord:
    return EventRecord(
        id=row.id,
        seq=row.seq,
        merchant_id=row.merchant_id,
        type=row.type,
        api_version=row.api_version,
        data=row.data,
        payment_intent_id=row.payment_intent_id,
        payment_intent_version=row.payment_intent_version,
        intent_snapshot=row.intent_snapshot,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
    )


_INSERT = Prepared(insert(_E))
# Events by id (the dispatcher's claimed batch, a stream's catch-up): one SQL text whatever the
# number of ids (= ANY of an array, not an IN list that is a new statement per length).
_BY_IDS = Prepared(
    select(*(getattr(_E, name) for name in EventRecord.__dataclass_fields__))
    .where(_E.id == any_(bindparam("ids", type_=ARRAY(String))))
    .order_by(_E.seq)
)


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, events: list[NewEvent]) -> None:
        if not events:
            return
        for e in events:  # almost always one: a change records one event, rarely two
            await write(self.session, _INSERT, e.__dict__)

    async def get(self, merchant_id: str, event_id: str) -> EventRecord | None:
        row = (
            await self.session.execute(select(_E).where(_E.id == event_id, _E.merchant_id == merchant_id))
        ).scalar_one_or_none()
        return _record(row) if row else None

    async def get_by_ids(self, ids: list[str]) -> list[EventRecord]:
        return [_record(r) for r in await fetch(self.session, _BY_IDS, {"ids": ids})]

    async def page(
        self,
        merchant_id: str,
        limit: int,
        after: tuple[datetime, str] | None,
        types: list[str] | None,
        payment_intent_id: str | None = None,
    ) -> list[EventRecord]:
        stmt = select(_E).where(_E.merchant_id == merchant_id)
        if after is not None:
            stmt = stmt.where(tuple_(_E.created_at, _E.id) < tuple_(after[0], after[1]))
        if types:
            stmt = stmt.where(_E.type.in_(types))
        if payment_intent_id is not None:
            stmt = stmt.where(_E.payment_intent_id == payment_intent_id)
        stmt = stmt.order_by(_E.created_at.desc(), _E.id.desc()).limit(limit)
        return [_record(r) for r in (await self.session.execute(stmt)).scalars()]

    async def intent_versions_after(self, intent_id: str, version: int) -> list[EventRecord]:
        """Events of one intent after a version, in version order (subscription catch-up)."""
        rows = await self.session.execute(
            select(_E)
            .where(_E.payment_intent_id == intent_id, _E.payment_intent_version > version)
            .order_by(_E.payment_intent_version)
        )
        return [_record(r) for r in rows.scalars()]

    async def merchant_events_since(
        self, merchant_id: str, since: datetime, after_seq: int, limit: int
    ) -> list[EventRecord]:
        """Events created at or after `since`, in seq order from `after_seq` (subscription resync)."""
        rows = await self.session.execute(
            select(_E)
            .where(_E.merchant_id == merchant_id, _E.created_at >= since, _E.seq > after_seq)
            .order_by(_E.seq)
            .limit(limit)
        )
        return [_record(r) for r in rows.scalars()]

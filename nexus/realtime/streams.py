"""What a subscription streams, read from committed rows whenever the broker signals.

Both streams register with the broker *before* they read the database, so anything that
commits after the read produces a notification they will see: no window is lost between
"current state" and "later changes".
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.repositories.events import EventRecord
from nexus.db.uow import UnitOfWork
from nexus.domain.errors import NotFound
from nexus.domain.payment_intent import PaymentIntent
from nexus.realtime.broker import Broker
from nexus.realtime.subscriber import Batch, Subscriber
from nexus.services.auth import Principal
from nexus.services.records import intent_from_record

# A resync re-reads events created this long before the gap began: an event's created_at is
# stamped inside its transaction, before it commits, and our transactions are short (no
# network call inside one), so 30 s covers the slowest commit plus clock skew between hosts.
RESYNC_LOOKBACK = timedelta(seconds=30)
# Rows per resync query: one page is a few hundred KB of JSON at most.
RESYNC_PAGE = 200
# Event ids an events stream remembers, to drop the duplicates a resync re-reads. A resync
# window (30 s) of one merchant's events fits in 10,000 for anything short of a flood; past
# that a client may see a repeat, which it handles anyway (delivery is at-least-once by id).
SEEN_CAPACITY = 10_000


class Watch:
    """A subscriber's batches, with the subscription's key re-checked on the broker's interval."""

    def __init__(self, broker: Broker, subscriber: Subscriber, api_key: str | None, principal: Principal) -> None:
        self.broker = broker
        self.subscriber = subscriber
        self.api_key = api_key
        self.principal = principal

    async def batches(self) -> AsyncIterator[Batch]:
        interval = self.broker.keys.interval
        next_check = time.monotonic() + interval
        while True:
            batch = await self.subscriber.next_batch(max(0.0, next_check - time.monotonic()))
            if time.monotonic() >= next_check:
                await self.broker.keys.require_valid(self.api_key, self.principal)
                next_check = time.monotonic() + interval
            if batch is not None:
                yield batch


async def load_visible_intent(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, intent_id: str, client_secret: str | None
) -> PaymentIntent:
    """The intent if this caller may see it; NOT_FOUND otherwise (foreign looks like missing)."""
    async with UnitOfWork(sessions) as uow:
        if principal.is_secret:
            pi = await uow.intents.get(principal.merchant_id, intent_id)
        else:
            pi = await uow.intents.get_with_secret(intent_id, client_secret or "")
    if pi is None or pi.merchant_id != principal.merchant_id:
        raise NotFound("no such payment intent", ["id"])
    return pi


async def intent_versions(
    broker: Broker,
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    api_key: str | None,
    intent_id: str,
    client_secret: str | None,
) -> AsyncIterator[PaymentIntent]:
    """The intent now, then each later version once, in version order, as it was then."""
    async with broker.subscribe(merchant_id=principal.merchant_id, intent_id=intent_id) as subscriber:
        current = await load_visible_intent(sessions, principal, intent_id, client_secret)
        yield current
        last = current.version
        async for batch in Watch(broker, subscriber, api_key, principal).batches():
            if batch.resync_since is None and all(
                n.version is not None and n.version <= last for n in batch.notifications
            ):
                continue  # already sent: notifications for versions the first read included
            async with UnitOfWork(sessions) as uow:
                rows = await uow.events.intent_versions_after(intent_id, last)
            for row in rows:
                version = row.payment_intent_version
                # Several events can share a version (refund.created with its intent change).
                if row.intent_snapshot is None or version is None or version <= last:
                    continue
                yield intent_from_record(row.intent_snapshot)
                last = version


def type_matches(event_type: str, patterns: list[str] | None) -> bool:
    """Exact types, `*`, or `payment_intent.*` — the same patterns webhook endpoints take."""
    if not patterns:
        return True
    group = event_type.split(".", 1)[0] + ".*"
    return any(p in ("*", event_type, group) for p in patterns)


async def merchant_events(
    broker: Broker,
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    api_key: str | None,
    types: list[str] | None,
) -> AsyncIterator[EventRecord]:
    """Every event of the merchant committed from now on, in commit order, filtered by type."""
    principal.require_secret()
    merchant_id = principal.merchant_id
    seen: OrderedDict[str, None] = OrderedDict()
    # A resync never reaches back before the subscription began: it streams "from now on".
    started = datetime.now(UTC)
    async with broker.subscribe(merchant_id=merchant_id) as subscriber:
        async for batch in Watch(broker, subscriber, api_key, principal).batches():
            async with UnitOfWork(sessions) as uow:
                rows: list[EventRecord] = []
                if batch.resync_since is not None:
                    since = max(batch.resync_since - RESYNC_LOOKBACK, started)
                    rows.extend(await _since(uow, merchant_id, since))
                ids = [n.event_id for n in batch.notifications if n.merchant_id == merchant_id]
                if ids:
                    found = {r.id: r for r in await uow.events.get_by_ids(ids)}
                    # Notification order is commit order; seq order is not.
                    rows.extend(found[i] for i in ids if i in found)
            for row in rows:
                if row.id in seen:
                    continue
                seen[row.id] = None
                if len(seen) > SEEN_CAPACITY:
                    seen.popitem(last=False)
                if type_matches(row.type, types):
                    yield row


async def _since(uow: UnitOfWork, merchant_id: str, since: datetime) -> list[EventRecord]:
    rows: list[EventRecord] = []
    after_seq = 0
    while True:
        page = await uow.events.merchant_events_since(merchant_id, since, after_seq, RESYNC_PAGE)
        rows.extend(page)
        if len(page) < RESYNC_PAGE:
            return rows
        after_seq = page[-1].seq

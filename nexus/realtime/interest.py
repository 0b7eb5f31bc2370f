"""Which merchants this process streams events for, kept in `realtime_listeners`.

The events trigger notifies only while a live row names the event's merchant (migration
0006): `pg_notify` serializes every notifying COMMIT on the server, so merchants nobody
watches should not pay for it. A process registers a merchant before its first stream of
that merchant reads the database, renews its rows while streams are open, and forgets
them when the last one closes. A row that lapsed (renewals failed for a whole TTL, or a
forget raced a new stream) is registered again, and that merchant's streams re-read what
may have committed unannounced in between: nothing is lost, only late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.db.uow import UnitOfWork

log = logging.getLogger("nexus.realtime")

# How long a row stays live without renewal. Renewals run every RENEW_INTERVAL_S, so three
# can fail in a row (a database blip, a stalled process) before a watched merchant lapses;
# a crashed process's rows cost extra notifications for at most this long.
TTL = timedelta(seconds=60)
RENEW_INTERVAL_S = 15.0
# A new stream trusts a row registered or renewed earlier only while it has at least this
# long to live, so the row cannot lapse between the check and the stream's first read.
TRUST_MARGIN_S = 10.0
# Rows of other processes that lapsed are deleted by any renewal; the trigger already
# ignores them, so no grace period is needed.
PURGE_AFTER = timedelta(0)
# stop() spends at most this long forgetting its rows; a row left behind just expires.
FORGET_TIMEOUT_S = 2.0


class MerchantInterest:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_lapse: Callable[[str, datetime], None],
        renew_interval_s: float = RENEW_INTERVAL_S,
    ) -> None:
        self._sessions = sessions
        self._on_lapse = on_lapse  # (merchant, since): its streams must re-read from `since`
        self._renew_interval_s = renew_interval_s
        self.listener = "rl_" + secrets.token_hex(12)
        self._watching: Counter[str] = Counter()
        # merchant -> (monotonic deadline the row is known live until, wall time it was last made live)
        self._live: dict[str, tuple[float, datetime]] = {}
        # One registration in flight per merchant: a burst of new streams (a page of checkouts
        # opening at once) waits for it rather than each taking the merchant's lock in turn.
        self._registering: dict[str, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew_forever(), name="realtime-interest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        mine = list(self._live)
        self._live.clear()
        with contextlib.suppress(Exception):  # best effort: a row left behind expires after TTL
            async with asyncio.timeout(FORGET_TIMEOUT_S):
                async with UnitOfWork(self._sessions) as uow:
                    await uow.listeners.forget(self.listener, mine)
                    await uow.commit()

    async def watch(self, merchant_id: str) -> None:
        """Count one more stream of this merchant; return once its events are notified."""
        self._watching[merchant_id] += 1
        try:
            live = self._live.get(merchant_id)
            if live is None or live[0] < time.monotonic() + TRUST_MARGIN_S:
                await asyncio.shield(self._registration(merchant_id))
        except BaseException:
            self.unwatch(merchant_id)
            raise

    def unwatch(self, merchant_id: str) -> None:
        """One stream fewer; the row goes at the next renewal once no stream is left."""
        self._watching[merchant_id] -= 1
        if self._watching[merchant_id] <= 0:
            del self._watching[merchant_id]

    def _registration(self, merchant_id: str) -> asyncio.Future[None]:
        pending = self._registering.get(merchant_id)
        if pending is None:
            pending = asyncio.ensure_future(self._register(merchant_id))
            self._registering[merchant_id] = pending
            pending.add_done_callback(lambda done: self._settled(merchant_id, done))
        return pending

    def _settled(self, merchant_id: str, done: asyncio.Future[None]) -> None:
        self._registering.pop(merchant_id, None)
        if not done.cancelled():
            done.exception()  # retrieved here too: every stream that awaited it may have gone

    async def _register(self, merchant_id: str) -> None:
        lapsed_since = self._live.get(merchant_id, (0.0, None))[1]
        started, started_at = time.monotonic(), _now()
        async with UnitOfWork(self._sessions) as uow:
            await uow.listeners.register(merchant_id, self.listener, TTL)
            await uow.commit()
        self._live[merchant_id] = (started + TTL.total_seconds(), started_at)
        if lapsed_since is not None:
            # The row had been live, then was not: streams already open may have missed events.
            self._on_lapse(merchant_id, lapsed_since)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._renew_interval_s)
            try:
                await self.renew_once()
            except Exception as error:  # a failed renewal is retried; a lapse is repaired then
                log.warning("realtime interest renewal failed (%s); retrying", type(error).__name__)

    async def renew_once(self) -> None:
        started, started_at = time.monotonic(), _now()
        watched = set(self._watching)
        gone = set(self._live) - watched
        async with UnitOfWork(self._sessions) as uow:
            renewed = await uow.listeners.renew(self.listener, watched, TTL)
            await uow.listeners.forget(self.listener, gone)
            await uow.listeners.purge_expired(PURGE_AFTER)
            await uow.commit()
        for merchant_id in gone:
            previous = self._live.pop(merchant_id, None)
            if merchant_id in self._watching and previous is not None:
                # A stream opened while its row was being forgotten: it was trusted, now it is gone.
                self._live[merchant_id] = (0.0, previous[1])
        for merchant_id in renewed:
            self._live[merchant_id] = (started + TTL.total_seconds(), started_at)
        for merchant_id in set(self._watching) - renewed:
            # Shared with a new stream's registration of the same merchant, if one is in flight.
            await self._registration(merchant_id)


def _now() -> datetime:
    return datetime.now(UTC)

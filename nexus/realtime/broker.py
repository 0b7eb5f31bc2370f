"""The per-process broker: one LISTEN connection, fan-out to local subscribers.

Events are notified only for merchants some process is streaming (`interest`): a stream
registers its merchant before it reads, and the broker re-syncs a merchant's streams if
that registration ever lapsed.

The connection is asyncpg's own, not one from the SQLAlchemy pool: a pooled connection
can be reset or recycled under us, and LISTEN needs a session-mode connection even when
the pool goes through a transaction pooler. When it drops (PostgreSQL restart,
pg_terminate_backend, network), the broker reconnects with backoff and then tells every
subscriber to resync from the database, since notifications sent meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from nexus.db.dsn import asyncpg_dsn
from nexus.realtime.interest import MerchantInterest
from nexus.realtime.keys import KeyChecker
from nexus.realtime.subscriber import Notification, Subscriber
from nexus.state import AppState

log = logging.getLogger("nexus.realtime")

CHANNEL = "nexus_events"
# Shown in pg_stat_activity, so operators (and tests) can find the LISTEN session.
APPLICATION_NAME = "nexus-listen"
# Reconnect backoff: first retry almost at once (a terminated backend is back in ms), then
# doubling to 5 s so a PostgreSQL that is down is not hammered by every API process.
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0
# A half-open TCP connection raises no error: ping it this often, and give up on it when a
# ping takes longer than the timeout. 10 s bounds how stale a silent gap can get unnoticed.
HEALTH_INTERVAL_S = 10.0
HEALTH_TIMEOUT_S = 5.0
# connect() timeout for the LISTEN connection; matches the pool's wait for a connection.
CONNECT_TIMEOUT_S = 10.0
# start() waits this long for the first LISTEN so a fresh server streams at once; after that
# the broker keeps trying in the background and the server starts anyway.
START_WAIT_S = 5.0


@dataclass(frozen=True)
class BrokerStats:
    subscribers: int
    connected: bool
    reconnects: int


class Broker:
    def __init__(self, state: AppState) -> None:
        url = state.settings.database_url
        if url is None:
            raise RuntimeError("DATABASE_URL is not set: the realtime broker needs PostgreSQL")
        self._dsn = asyncpg_dsn(url)
        self.keys = KeyChecker(state.sessions)
        self.interest = MerchantInterest(state.sessions, self._resync_merchant)
        self._by_intent: dict[str, set[Subscriber]] = {}
        self._by_merchant: dict[str, set[Subscriber]] = {}
        self._count = 0
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._reconnects = 0
        self._task: asyncio.Task[None] | None = None
        # Last moment the LISTEN session was known alive: a resync re-reads from here.
        self._alive_at = _now()

    async def start(self) -> None:
        from nexus.realtime.metrics import register_broker

        register_broker(self)
        self.interest.start()
        self._task = asyncio.create_task(self._run(), name="realtime-broker")
        try:
            async with asyncio.timeout(START_WAIT_S):
                await self._connected.wait()
        except TimeoutError:
            log.warning("realtime LISTEN connection not up after %.0f s; retrying in the background", START_WAIT_S)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.interest.stop()

    @property
    def stats(self) -> BrokerStats:
        return BrokerStats(self._count, self._connected.is_set(), self._reconnects)

    @contextlib.asynccontextmanager
    async def subscribe(self, *, merchant_id: str, intent_id: str | None = None) -> AsyncIterator[Subscriber]:
        """A subscriber for the block, to one intent or else to all of the merchant's events; it is
        removed however the block ends. Its merchant's events are notified once this yields, so
        read the current state after entering, never before."""
        subscriber = Subscriber(intent_id=intent_id, merchant_id=merchant_id)
        index, key = (self._by_intent, intent_id) if intent_id is not None else (self._by_merchant, merchant_id)
        index.setdefault(key, set()).add(subscriber)
        self._count += 1
        try:
            await self.interest.watch(merchant_id)
            try:
                yield subscriber
            finally:
                self.interest.unwatch(merchant_id)
        finally:
            self._count -= 1
            members = index.get(key)
            if members is not None:
                members.discard(subscriber)
                if not members:
                    del index[key]

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        received = _now()
        self._alive_at = received
        if not self._count:
            # Every API process hears every event; most have no subscriber at that moment.
            return
        try:
            notification = Notification.parse(payload, received)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed %s notification", CHANNEL)
            return
        if notification.intent_id is not None:
            for subscriber in self._by_intent.get(notification.intent_id, ()):
                subscriber.offer(notification)
        for subscriber in self._by_merchant.get(notification.merchant_id, ()):
            subscriber.offer(notification)

    def _resync_all(self, since: datetime) -> None:
        for index in (self._by_intent, self._by_merchant):
            for members in index.values():
                for subscriber in members:
                    subscriber.resync(since)

    def _resync_merchant(self, merchant_id: str, since: datetime) -> None:
        for index in (self._by_intent, self._by_merchant):
            for members in index.values():
                for subscriber in members:
                    if subscriber.merchant_id == merchant_id:
                        subscriber.resync(since)

    async def _run(self) -> None:
        delay = BACKOFF_FIRST_S
        while True:
            try:
                conn = await self._connect()
            except Exception as error:  # any failure to connect is retried: realtime must come back
                log.warning("realtime LISTEN connect failed (%s); retrying in %.1f s", type(error).__name__, delay)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # jitter only, not security
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            delay = BACKOFF_FIRST_S
            try:
                await self._serve(conn)
            except Exception:  # a bug here must not end realtime for the process: log, reconnect
                log.exception("realtime LISTEN loop failed")
                await asyncio.sleep(BACKOFF_FIRST_S)
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=1))
            self._reconnects += 1
            log.warning("realtime LISTEN connection lost; reconnecting")

    async def _connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            self._dsn,
            timeout=CONNECT_TIMEOUT_S,
            server_settings={"application_name": APPLICATION_NAME},
        )
        self._lost.clear()
        conn.add_termination_listener(lambda _conn: self._lost.set())
        try:
            await conn.add_listener(CHANNEL, self._on_notify)
        except BaseException:
            conn.terminate()  # never leave a half-set-up connection behind
            raise
        return conn

    async def _serve(self, conn: asyncpg.Connection) -> None:
        """Resync (anything committed while not listening), then watch the connection."""
        since = self._alive_at
        self._alive_at = _now()
        self._connected.set()
        self._resync_all(since)
        log.info("realtime LISTEN on %s", CHANNEL)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HEALTH_INTERVAL_S):
                    await self._lost.wait()
            if self._lost.is_set() or conn.is_closed():
                return
            try:
                await conn.fetchval("SELECT 1", timeout=HEALTH_TIMEOUT_S)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                return
            self._alive_at = _now()


def _now() -> datetime:
    return datetime.now(UTC)

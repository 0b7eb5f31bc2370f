"""Wake the dispatcher the moment an event (or a resend) commits: LISTEN on a dedicated connection.

The connection is asyncpg's own, outside the SQLAlchemy pool: a LISTEN must stay
on one session for its whole life, which a pooled connection cannot promise.
A lost connection is re-opened with backoff; meanwhile the dispatcher's polling
still finds every due row, only a little later.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from nexus.db.dsn import asyncpg_dsn
from nexus.db.repositories.webhooks import DELIVERIES_CHANNEL

log = logging.getLogger("nexus.dispatcher")

# The events_fanout trigger notifies `nexus_events` for events of merchants someone streams
# (the subscriptions' feed, migration 0006) and DELIVERIES_CHANNEL only when it wrote outbox
# rows (migration 0003): listening to the latter alone spares a claim per event nobody
# subscribed to.
EVENTS_CHANNEL = "nexus_events"
CHANNELS = (DELIVERIES_CHANNEL,)
# Reconnect backoff: fast after a blip, capped so a long outage costs one attempt per 10 s.
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
# How often to check that the LISTEN connection is alive: a dead one only means
# polling latency, so a slow check is enough.
HEALTH_CHECK_S = 10.0


async def listen_forever(database_url: str, wake: asyncio.Event) -> None:
    """Set `wake` on every notification; reconnect on failure until cancelled."""
    backoff = RECONNECT_MIN_S
    dsn = asyncpg_dsn(database_url)
    while True:
        conn: Any = None
        try:
            conn = await asyncpg.connect(dsn, server_settings={"application_name": "nexus-dispatcher-listen"})
            for channel in CHANNELS:
                await conn.add_listener(channel, lambda *_: wake.set())
            # Anything committed while we were not listening is found by this pass.
            wake.set()
            backoff = RECONNECT_MIN_S
            while not conn.is_closed():
                await asyncio.sleep(HEALTH_CHECK_S)
                await conn.execute("SELECT 1")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any connection failure: retry after a pause
            log.warning("dispatcher LISTEN connection lost (%s); reconnecting in %.1f s", type(exc).__name__, backoff)
        finally:
            if conn is not None:
                conn.terminate()
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, RECONNECT_MAX_S)

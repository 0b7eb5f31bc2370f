"""The broker's resync after a LISTEN gap, made deterministic: the broker cannot reconnect
while the changes commit, so only the resync from the database can deliver them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from nexus.db.dsn import asyncpg_dsn
from nexus.realtime.broker import APPLICATION_NAME, Broker
from nexus.realtime.streams import intent_versions, merchant_events
from nexus.services.auth import authenticate
from nexus.state import AppState
from tests.api.flows import create_intent, process_intent
from tests.realtime.clients import RECEIVE_GUARD_S, wait_until

UNREACHABLE_DSN = "postgresql://nexus@127.0.0.1:1/nowhere"


async def test_changes_committed_during_a_gap_arrive_after_reconnect(
    state: AppState, merchant: dict[str, Any], database_url: str
) -> None:
    broker = Broker(state)
    await broker.start()
    try:
        intent = await create_intent(merchant["client"])
        secret = merchant["secretKey"]
        principal = await authenticate(state.sessions, secret)
        versions = intent_versions(broker, state.sessions, principal, secret, intent["id"], None)
        events = merchant_events(broker, state.sessions, principal, secret, ["payment_intent.succeeded"])
        assert (await anext(versions)).version == 1
        first_event = asyncio.create_task(anext(events))
        await wait_until(lambda: broker.stats.subscribers == 2)

        good_dsn = broker._dsn
        broker._dsn = UNREACHABLE_DSN  # reconnects now fail (with backoff) until restored
        await _terminate_listeners(database_url)
        await wait_until(lambda: not broker.stats.connected)
        await process_intent(merchant["client"], intent["id"])  # commits v2 and v3 in the gap
        assert not broker.stats.connected
        broker._dsn = good_dsn

        later = [await asyncio.wait_for(anext(versions), RECEIVE_GUARD_S) for _ in range(2)]
        assert [(pi.status.value, pi.version) for pi in later] == [("PROCESSING", 2), ("SUCCEEDED", 3)]
        event = await asyncio.wait_for(first_event, RECEIVE_GUARD_S)
        assert (event.type, event.payment_intent_id) == ("payment_intent.succeeded", intent["id"])
        assert broker.stats.reconnects >= 1
        await versions.aclose()
        await events.aclose()
        assert broker.stats.subscribers == 0
    finally:
        await broker.stop()


def test_listen_dsn_handles_every_accepted_url_form() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p@db:5432/nexus?ssl=require") == (
        "postgresql://u:p@db:5432/nexus?sslmode=require"
    )
    unix = asyncpg_dsn("postgresql+asyncpg://u:@/nexus?host=/var/run/postgresql&prepared_statement_cache_size=0")
    assert unix == "postgresql://u:@/nexus?host=%2Fvar%2Frun%2Fpostgresql"


async def _terminate_listeners(database_url: str) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
    finally:
        await conn.close()

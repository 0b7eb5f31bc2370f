"""`nexus_events` is sent only for merchants some process streams (migration 0006), and
registering a merchant can never let a change slip between "notified" and "read"."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from nexus.db.dsn import asyncpg_dsn
from nexus.realtime.broker import CHANNEL, Broker
from nexus.realtime.interest import MerchantInterest
from nexus.realtime.streams import merchant_events
from nexus.services.auth import authenticate
from nexus.state import AppState
from tests.api.flows import create_intent
from tests.realtime.clients import RECEIVE_GUARD_S


class Heard:
    """A raw LISTEN session on `nexus_events`, outside the gateway."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.merchants: list[str] = []
        self.event_ids: list[str] = []

    def on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        body = json.loads(payload)
        self.merchants.append(body["m"])
        self.event_ids.append(body["id"])

    async def settle(self) -> None:
        # Notifications reach asyncpg before the answer to a later query on the same session.
        await self.conn.fetchval("SELECT 1")


@pytest.fixture
async def heard(database_url: str) -> AsyncIterator[Heard]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    heard = Heard(conn)
    await conn.add_listener(CHANNEL, heard.on_notify)
    yield heard
    await conn.close()


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


INSERT_EVENT = (
    "INSERT INTO events (id, merchant_id, type, api_version, data)"
    " VALUES ($1, $2, 'payment_intent.created', '2026-11-28', '{}'::jsonb)"
)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


async def rows_of(sql: asyncpg.Connection, merchant_id: str) -> list[asyncpg.Record]:
    return await sql.fetch(
        "SELECT listener, expires_at > now() AS live FROM realtime_listeners WHERE merchant_id = $1", merchant_id
    )


async def poll_rows(sql: asyncpg.Connection, merchant_id: str) -> list[asyncpg.Record]:
    deadline = time.monotonic() + RECEIVE_GUARD_S
    rows = await rows_of(sql, merchant_id)
    while not rows:
        assert time.monotonic() < deadline, "the merchant was never registered"
        await asyncio.sleep(0.02)
        rows = await rows_of(sql, merchant_id)
    return rows


async def test_a_merchant_nobody_streams_is_not_notified(merchant: dict[str, Any], heard: Heard) -> None:
    await create_intent(merchant["client"])
    await heard.settle()
    assert merchant["id"] not in heard.merchants


async def test_a_stream_registers_its_merchant_and_the_last_one_out_forgets_it(
    state: AppState, merchant: dict[str, Any], heard: Heard, sql: asyncpg.Connection
) -> None:
    broker = Broker(state)
    await broker.start()
    try:
        secret = merchant["secretKey"]
        principal = await authenticate(state.sessions, secret)
        events = merchant_events(broker, state.sessions, principal, secret, None)
        first = asyncio.create_task(anext(events))
        # The stream registers its merchant before it waits for anything.
        rows = await poll_rows(sql, merchant["id"])
        assert [tuple(r) for r in rows] == [(broker.interest.listener, True)]

        intent = await create_intent(merchant["client"])
        event = await asyncio.wait_for(first, RECEIVE_GUARD_S)
        assert event.payment_intent_id == intent["id"]
        await heard.settle()
        assert heard.merchants.count(merchant["id"]) == 1

        await events.aclose()
        assert broker.stats.subscribers == 0
        await broker.interest.renew_once()  # the renewal forgets merchants nobody streams any more
        assert await rows_of(sql, merchant["id"]) == []
        await create_intent(merchant["client"])
        await heard.settle()
        assert heard.merchants.count(merchant["id"]) == 1
    finally:
        await broker.stop()


async def test_registering_waits_for_a_writer_that_did_not_notify(
    state: AppState, merchant: dict[str, Any], heard: Heard, sql: asyncpg.Connection, database_url: str
) -> None:
    """An event written (unnotified) before the registration but committed after it would be
    missed by a stream that read before that commit: so the registration waits for it."""
    lapses: list[tuple[str, datetime]] = []
    interest = MerchantInterest(state.sessions, lambda m, since: lapses.append((m, since)))
    writer = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        early = new_event_id()
        tx = writer.transaction()
        await tx.start()
        await writer.execute(INSERT_EVENT, early, merchant["id"])  # nobody watches yet: no notification

        registering = asyncio.create_task(interest.watch(merchant["id"]))
        await wait_until_waiting_on_advisory_lock(sql)
        assert not registering.done()

        await tx.commit()
        await asyncio.wait_for(registering, RECEIVE_GUARD_S)
        later = new_event_id()
        await writer.execute(INSERT_EVENT, later, merchant["id"])
        await heard.settle()
        assert early not in heard.event_ids
        assert later in heard.event_ids
        assert lapses == []  # a first registration has nothing to re-read
    finally:
        await writer.close()
        interest.unwatch(merchant["id"])
        await interest.stop()
    assert await rows_of(sql, merchant["id"]) == []  # stop() forgets its rows


async def wait_until_waiting_on_advisory_lock(sql: asyncpg.Connection) -> None:
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND mode = 'ExclusiveLock'"
    deadline = time.monotonic() + RECEIVE_GUARD_S
    while not await sql.fetchval(query):
        assert time.monotonic() < deadline, "the registration never waited on the merchant's lock"
        await asyncio.sleep(0.02)


async def test_a_lapsed_row_is_registered_again_and_its_streams_resync(
    state: AppState, merchant: dict[str, Any], heard: Heard, sql: asyncpg.Connection
) -> None:
    lapses: list[tuple[str, datetime]] = []
    interest = MerchantInterest(state.sessions, lambda m, since: lapses.append((m, since)))
    try:
        await interest.watch(merchant["id"])
        # The row lapses behind the process's back (renewals failed for a whole TTL, or it was purged).
        await sql.execute(
            "UPDATE realtime_listeners SET expires_at = now() - interval '1 second' WHERE merchant_id = $1",
            merchant["id"],
        )
        unseen = new_event_id()
        await sql.execute(INSERT_EVENT, unseen, merchant["id"])
        await heard.settle()
        assert unseen not in heard.event_ids  # an expired row notifies nobody

        await interest.renew_once()
        assert [m for m, _ in lapses] == [merchant["id"]]  # its streams re-read from the database
        assert [r["live"] for r in await rows_of(sql, merchant["id"])] == [True]
        seen = new_event_id()
        await sql.execute(INSERT_EVENT, seen, merchant["id"])
        await heard.settle()
        assert seen in heard.event_ids
    finally:
        interest.unwatch(merchant["id"])
        await interest.stop()


async def test_a_renewal_purges_rows_other_processes_left_behind(
    state: AppState, merchant: dict[str, Any], sql: asyncpg.Connection
) -> None:
    await sql.execute(
        "INSERT INTO realtime_listeners (merchant_id, listener, expires_at)"
        " VALUES ($1, 'rl_crashed', now() - interval '1 second')",
        merchant["id"],
    )
    interest = MerchantInterest(state.sessions, lambda m, since: None)
    await interest.renew_once()
    assert await rows_of(sql, merchant["id"]) == []


async def test_a_burst_of_new_streams_shares_one_registration(
    state: AppState, merchant: dict[str, Any], sql: asyncpg.Connection, database_url: str
) -> None:
    interest = MerchantInterest(state.sessions, lambda m, since: None)
    writer = await asyncpg.connect(asyncpg_dsn(database_url))
    watches: list[asyncio.Task[None]] = []
    try:
        tx = writer.transaction()
        await tx.start()
        await writer.execute(INSERT_EVENT, new_event_id(), merchant["id"])  # holds the merchant's lock shared
        watches = [asyncio.create_task(interest.watch(merchant["id"])) for _ in range(20)]
        await wait_until_waiting_on_advisory_lock(sql)
        await asyncio.sleep(0.2)  # time for any second registration to queue on the lock too
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        assert await sql.fetchval(query) == 1
        await tx.commit()
        await asyncio.wait_for(asyncio.gather(*watches), RECEIVE_GUARD_S)
        assert len(await rows_of(sql, merchant["id"])) == 1
    finally:
        await writer.close()
        for _ in watches:
            interest.unwatch(merchant["id"])
        await interest.stop()

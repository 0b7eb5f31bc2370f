"""Crash safety: SIGKILL the API under load, restart PostgreSQL under load; nothing is lost or doubled.

Clients retry every request with its idempotency key until answered (some give
up after a failed try, leaving their payments to the recovery job). Afterwards
the database must show exactly one intent per create key, exactly one bank
decision per process key, nothing left PROCESSING, and every intent's status
following from its attempts.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import asyncpg
import httpx

from nexus.db.embedded import EmbeddedPostgres
from tests.api.gql import PROCESS
from tests.chaos.conftest import LONG, SERVER_ENV
from tests.chaos.databases import PostgresControl, fresh_database
from tests.chaos.invariants import dsn, money_violations, status_violations
from tests.chaos.load import LoadClient, LoadStats
from tests.conftest import SIGNUP, ServerProcess
from tests.webhooks.receiver import Receiver

# Kills per run: several by default, many under `make chaos`.
KILLS = 10 if LONG else 3
# Concurrent clients: enough to keep both cores busy and requests in flight at every kill.
CLIENTS = 4
# Share of clients that vanish after a failed try (their payments need the recovery job).
ABANDON_RATE = 0.15
# The recovery job runs every NEXUS_RECOVERY_AFTER_SECONDS (2 s): 30 s is many rounds of it.
RECOVERY_WINDOW_S = 30.0
# PostgreSQL stays down this long: several retry rounds of every client fall inside the outage.
PG_OUTAGE_S = 3.0
PG_RESTARTS = 3 if LONG else 1
# Deliveries cut by a kill come due again after their lease (webhook timeout + 5 s): a 2 s timeout and
# short retries let every event reach the receiver within the delivery window.
HOOK_ENV = {"NEXUS_WEBHOOK_TIMEOUT": "2", "NEXUS_WEBHOOK_RETRY_DELAYS": "0.5,0.5,0.5,0.5"}
DELIVERY_WINDOW_S = 60.0
ENDPOINT = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { userErrors { code } } }"


async def _subscribe_receiver(url: str, secret: str, receiver: Receiver) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        variables = {"i": {"url": receiver.endpoint("chaos")}}
        body = (
            await http.post(
                "/graphql",
                json={"query": ENDPOINT, "variables": variables},
                headers={"authorization": f"Bearer {secret}"},
            )
        ).json()
    assert body["data"]["createWebhookEndpoint"]["userErrors"] == [], body


async def _wait_all_delivered(conn: asyncpg.Connection, merchant_id: str, receiver: Receiver) -> int:
    """Every committed event reached the receiver at least once; returns how many events."""
    events = {r["id"] for r in await conn.fetch("SELECT id FROM events WHERE merchant_id=$1", merchant_id)}
    deadline = time.monotonic() + DELIVERY_WINDOW_S
    while True:
        missing = events - {r.webhook_id for r in receiver.received("chaos")}
        if not missing:
            return len(events)
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(missing)} of {len(events)} events never delivered, e.g. {sorted(missing)[:3]}")
        await asyncio.sleep(0.5)


async def _signup(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        body = (
            await http.post(
                "/graphql", json={"query": SIGNUP, "variables": {"input": {"name": "Chaos", "email": "c@x.test"}}}
            )
        ).json()
    payload: dict[str, Any] = body["data"]["signupMerchant"]
    return payload


async def _run_load(
    server: ServerProcess, secret: str, stats: LoadStats, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    clients = [LoadClient(server.url, secret, stats) for _ in range(CLIENTS)]
    return [asyncio.create_task(c.run(stop, seed=i, abandon_rate=ABANDON_RATE)) for i, c in enumerate(clients)]


async def _wait_recovered(conn: asyncpg.Connection, merchant_id: str) -> None:
    deadline = time.monotonic() + RECOVERY_WINDOW_S
    while time.monotonic() < deadline:
        left = await conn.fetchval(
            "SELECT count(*) FROM payment_intents WHERE merchant_id=$1 AND status='PROCESSING'", merchant_id
        )
        if left == 0:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{left} intents still PROCESSING {RECOVERY_WINDOW_S} s after the load stopped")


async def _finish_abandoned(server: ServerProcess, secret: str, stats: LoadStats) -> None:
    """Clients that gave up come back with their key: a recovered payment replays, an unstarted one runs."""
    client = LoadClient(server.url, secret, stats)
    async with httpx.AsyncClient(timeout=30) as http:
        for key in stats.abandoned:
            payload = await client.send(
                http, PROCESS, {"input": {"id": stats.process_intent[key], "card": _card_of(key, stats)}, "key": key}
            )
            assert payload["userErrors"] == [], payload
            stats.processes[key] = payload


def _card_of(key: str, stats: LoadStats) -> dict[str, Any]:
    card: dict[str, Any] = stats.cards[key]
    return card


async def _verify(conn: asyncpg.Connection, merchant_id: str, stats: LoadStats) -> None:
    # Exactly one intent per create key, and it is the one the client was told about.
    intents = await conn.fetchval("SELECT count(*) FROM payment_intents WHERE merchant_id=$1", merchant_id)
    assert intents == len(stats.creates), f"{intents} intents for {len(stats.creates)} create keys"
    for key, payload in stats.creates.items():
        stored = await conn.fetchval(
            "SELECT response FROM idempotency_keys WHERE scope=$1 AND key=$2", merchant_id, key
        )
        assert json.loads(stored)["intent"]["id"] == payload["paymentIntent"]["id"]
    # Exactly one attempt (so one bank decision) per process key, and the status the client got is the row's.
    for key, intent_id in stats.process_intent.items():
        rows = await conn.fetch(
            "SELECT a.id, (SELECT count(*) FROM bank_authorizations b WHERE b.attempt_id = a.id) AS decisions "
            "FROM payment_attempts a WHERE a.merchant_id=$1 AND a.idempotency_key=$2",
            merchant_id,
            key,
        )
        assert len(rows) == 1 and rows[0]["decisions"] == 1, (key, [dict(r) for r in rows])
        status = await conn.fetchval("SELECT status FROM payment_intents WHERE id=$1", intent_id)
        assert stats.processes[key]["paymentIntent"]["status"] == status, key
    assert await status_violations(conn, merchant_id) == []
    assert await money_violations(conn, merchant_id) == []
    # No in-flight attempt still holds an encrypted card number: recovery purged them all.
    held = await conn.fetchval(
        "SELECT count(*) FROM payment_attempts WHERE merchant_id=$1 AND card_ciphertext IS NOT NULL", merchant_id
    )
    assert held == 0


async def test_sigkill_api_under_load_loses_nothing(chaos_database: str, chaos_receiver: Receiver) -> None:
    server = ServerProcess(chaos_database, env={**SERVER_ENV, **HOOK_ENV}).start()
    rng = random.Random(8)
    stats = LoadStats()
    try:
        merchant = await _signup(server.url)
        await _subscribe_receiver(server.url, merchant["secretKey"], chaos_receiver)
        stop = asyncio.Event()
        tasks = await _run_load(server, merchant["secretKey"], stats, stop)
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            server.kill()  # SIGKILL: no shutdown hooks, transactions cut mid-flight
            stats.faults += 1
            await asyncio.to_thread(server.start)
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*tasks)
        conn = await asyncpg.connect(dsn(chaos_database))
        try:
            await _wait_recovered(conn, merchant["merchant"]["id"])
            await _finish_abandoned(server, merchant["secretKey"], stats)
            await _verify(conn, merchant["merchant"]["id"], stats)
            delivered = await _wait_all_delivered(conn, merchant["merchant"]["id"], chaos_receiver)
        finally:
            await conn.close()
        assert stats.bad_errors == []
        print(f"\nsigkill: {stats.summary()}; {delivered} events all delivered")
    finally:
        server.stop()


async def test_postgres_restart_under_load_recovers_without_app_restart(private_pg: EmbeddedPostgres) -> None:
    database = await asyncio.to_thread(fresh_database, private_pg)
    control = PostgresControl(private_pg)
    server = ServerProcess(database, env=SERVER_ENV).start()
    stats = LoadStats()
    try:
        merchant = await _signup(server.url)
        stop = asyncio.Event()
        tasks = await _run_load(server, merchant["secretKey"], stats, stop)
        for _ in range(PG_RESTARTS):
            await asyncio.sleep(1.0)
            await asyncio.to_thread(control.stop)
            stats.faults += 1
            await asyncio.sleep(PG_OUTAGE_S)
            await asyncio.to_thread(control.start)
            answered = stats.answered
            await asyncio.sleep(2.0)
            assert server.proc is not None and server.proc.poll() is None, "the API process died with its database"
        stop.set()
        await asyncio.gather(*tasks)
        # Requests kept being answered after the restart, by the same API process.
        assert stats.answered > answered
        # Requests during the outage were refused with the coded, retryable error, never a masked 500.
        assert stats.retries["SERVICE_UNAVAILABLE"] > 0, stats.retries
        assert stats.bad_errors == []
        conn = await asyncpg.connect(dsn(database))
        try:
            await _wait_recovered(conn, merchant["merchant"]["id"])
            await _finish_abandoned(server, merchant["secretKey"], stats)
            await _verify(conn, merchant["merchant"]["id"], stats)
        finally:
            await conn.close()
        assert "Traceback" not in server.log()
        print(f"\npostgres restart: {stats.summary()}")
    finally:
        server.stop()

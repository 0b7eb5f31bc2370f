"""The limit: the gateway's SQL for each request, sent straight to PostgreSQL.

Each transaction below is the list of statements `bench.sqltrace` logs for one
request of the scenario (run.py prints both counts side by side so a drift
shows), with the same round-trips: BEGIN, each statement, COMMIT/ROLLBACK.
No HTTP, no GraphQL, no ORM: only asyncpg with prepared statements. The same
statements also go to pgbench as custom scripts (`pgbench_script`).

Intents for the processing scenario are pre-made rows `bl_<n>` of a baseline
merchant, so both baselines can address them without a round-trip of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from bench.loadgen import RunResult, run_closed_loop
from nexus.db.repositories.prepared import combine_writes

# What the baseline's sessions call themselves, so bench.sqltrace can read their statements apart.
APPLICATION_NAME = "nexus-baseline"
# The gateway holds at most workers × pool 20 = 40 connections; give the baseline as many.
MAX_POOL = 40
BASELINE_INTENTS = 200_000  # enough pre-made intents that random picks in (b) rarely collide

AUTH = (
    "SELECT api_keys.id, api_keys.merchant_id, api_keys.kind FROM api_keys "
    "WHERE api_keys.key_hash = $1 AND (api_keys.expires_at IS NULL OR api_keys.expires_at > $2)"
)
CLAIM = (
    "INSERT INTO idempotency_keys (scope, key, operation, fingerprint, locked_at, recovery_point, created_at) "
    "VALUES ($1, $2, $3, $4, $5, 'started', $6) ON CONFLICT (scope, key) DO NOTHING RETURNING idempotency_keys.id"
)
FINISH = (
    "UPDATE idempotency_keys SET locked_at = NULL, recovery_point = 'finished', response = $3::jsonb "
    "WHERE scope = $1 AND key = $2"
)
# processPaymentIntent claims its key with its first recovery point already written.
CLAIM_PROCESSING = (
    "INSERT INTO idempotency_keys (scope, key, operation, fingerprint, locked_at, recovery_point, recovery_data, "
    "created_at) VALUES ($1, $2, 'processPaymentIntent', $3, $4, 'attempt_created', $5::jsonb, $4) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING idempotency_keys.id"
)
INSERT_INTENT = (
    "INSERT INTO payment_intents (id, merchant_id, amount, currency, status, capture_method, amount_capturable, "
    "amount_received, amount_refunded, client_secret, description, metadata, last_payment_error, "
    "cancellation_reason, version, created_at, updated_at) "
    "VALUES ($1, $2, 2000, 'usd', 'CREATED', 'AUTOMATIC', 0, 0, 0, $3, NULL, NULL, NULL, NULL, 1, $4, $4)"
)
INSERT_EVENT = (
    "INSERT INTO events (id, merchant_id, type, api_version, data, payment_intent_id, payment_intent_version, "
    "intent_snapshot, idempotency_key, created_at) "
    "VALUES ($1, $2, $3, '2026-11-28', $4::jsonb, $5, $6, $7::jsonb, $8, $9)"
)
INTENT_COLUMNS = (
    "id, merchant_id, amount, currency, status, capture_method, amount_capturable, amount_received, "
    "amount_refunded, description, metadata, last_payment_error, cancellation_reason, version, created_at, updated_at"
)
GET_INTENT = f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE id = $1 AND merchant_id = $2"
# Phase 1: the intent, locked, with the card's recent declines.
GET_INTENT_FOR_PROCESSING = (
    f"SELECT {INTENT_COLUMNS}, (SELECT count(*) FROM payment_attempts WHERE merchant_id = $2 "
    "AND card_fingerprint = $3 AND created_at >= $4 AND outcome IN ('declined', 'blocked')) AS declines "
    "FROM payment_intents WHERE id = $1 AND merchant_id = $2 FOR UPDATE OF payment_intents"
)
# Phase 2: the attempt's intent, locked, with the attempt's outcome.
GET_INTENT_FOR_ATTEMPT = (
    f"SELECT {', '.join('pi.' + c for c in INTENT_COLUMNS.split(', '))}, a.outcome FROM payment_intents pi "
    "JOIN payment_attempts a ON a.payment_intent_id = pi.id WHERE a.id = $1 AND pi.merchant_id = $2 "
    "FOR UPDATE OF pi"
)
SAVE_INTENT = (
    "UPDATE payment_intents SET status = $3, amount_capturable = 0, amount_received = $4, amount_refunded = 0, "
    "last_payment_error = NULL, cancellation_reason = NULL, version = version + 1, updated_at = $5 "
    "WHERE id = $1 AND merchant_id = $2"
)
INSERT_ATTEMPT = (
    "INSERT INTO payment_attempts (id, merchant_id, payment_intent_id, card_brand, card_last4, card_fingerprint, "
    "card_exp_month, card_exp_year, card_ciphertext, outcome, risk_score, risk_level, risk_reasons, network_status, "
    "idempotency_key, created_at) VALUES ($1, $2, $3, 'visa', '4242', $4, 12, 2034, $5, 'pending', 0, 'NORMAL', "
    "'{}', 'pending', $6, $7)"
)
RECORD_DECISION = (
    "INSERT INTO bank_authorizations (attempt_id, authenticated, decision) VALUES ($1, false, $2::jsonb) "
    "ON CONFLICT DO NOTHING RETURNING decision"
)
RESOLVE_ATTEMPT = (
    "UPDATE payment_attempts SET card_ciphertext = NULL, outcome = 'approved', decline_code = NULL, risk_score = 8, "
    "risk_level = 'NORMAL', risk_reasons = '{}', network_status = 'approved_by_network', resolved_at = now() "
    "WHERE id = $1"
)
# The gateway holds back a unit of work's writes and sends them as one statement before its
# next read or its COMMIT (nexus.db.repositories.prepared.write); the baselines do the same.
CREATE_WRITES = combine_writes([INSERT_INTENT, INSERT_EVENT, FINISH])
PHASE1_WRITES = combine_writes([INSERT_ATTEMPT, SAVE_INTENT, INSERT_EVENT])
PHASE2_WRITES = combine_writes([RESOLVE_ATTEMPT, SAVE_INTENT, INSERT_EVENT, FINISH])
LIST = f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE merchant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 51"

DECISION = {
    "outcome": "approved",
    "decline_code": None,
    "risk_score": 8,
    "risk_level": "NORMAL",
    "risk_reasons": [],
    "network_status": "approved_by_network",
}


@dataclass(frozen=True)
class Target:
    """Who the baseline acts as: the gateway's merchant (reads) and a baseline merchant (writes)."""

    key_hash: str
    merchant_id: str  # writes go here, so the gateway's merchant keeps its own rows
    read_merchant_id: str  # (e) reads the same page the gateway serves


def now() -> datetime:
    return datetime.now(UTC)


def _event_json(intent_id: str, status: str, version: int) -> str:
    # Smaller than the gateway's documents: 9 fields of the intent against its 16, and the gateway sends its
    # full intent record as the snapshot and the key's response (bench/README.md, "PostgreSQL spends more CPU").
    return json.dumps(
        {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": 2000,
                "currency": "usd",
                "status": status,
                "version": version,
                "metadata": {},
                "livemode": False,
                "capture_method": "automatic",
            }
        }
    )


async def _auth(conn: asyncpg.Connection, t: Target) -> None:
    tx = conn.transaction()
    await tx.start()
    await conn.fetchrow(AUTH, t.key_hash, now())
    await tx.rollback()


def _event_args(
    t: Target, intent_id: str, status: str, version: int, event: str, key: str, at: datetime
) -> tuple[object, ...]:
    """INSERT_EVENT's parameters: the event row a change writes (its trigger fans out and notifies)."""
    evt_id = "evt_" + secrets.token_hex(10)
    return (evt_id, t.merchant_id, f"payment_intent.{status}", event, intent_id, version, event, key, at)


async def create(conn: asyncpg.Connection, t: Target, n: int, auth: bool) -> None:
    if auth:
        await _auth(conn, t)
    key, intent_id, at = f"blk-{os.getpid()}-{n}-{secrets.token_hex(4)}", "bl_c" + secrets.token_hex(10), now()
    async with conn.transaction():
        await conn.fetchrow(CLAIM, t.merchant_id, key, "createPaymentIntent", secrets.token_hex(32), None, at)
        event = _event_json(intent_id, "created", 1)
        # The intent, its event and the key's response: one statement, as the gateway sends them.
        await conn.execute(
            CREATE_WRITES,
            *(intent_id, t.merchant_id, "pi_secret_" + secrets.token_hex(12), at),
            *_event_args(t, intent_id, "created", 1, event, key, at),
            *(t.merchant_id, key, event),
        )


async def process(conn: asyncpg.Connection, t: Target, n: int, auth: bool) -> None:
    if auth:
        await _auth(conn, t)
    key, attempt_id, at = f"blp-{os.getpid()}-{n}-{secrets.token_hex(4)}", "pa_" + secrets.token_hex(10), now()
    intent_id = f"bl_{random.randrange(BASELINE_INTENTS)}"
    fp = hashlib.sha256(b"4242424242424242").hexdigest()
    async with conn.transaction():  # phase 1
        recovery = json.dumps({"attempt_id": attempt_id})
        await conn.fetchrow(CLAIM_PROCESSING, t.merchant_id, key, secrets.token_hex(32), at, recovery)
        await conn.fetchrow(GET_INTENT_FOR_PROCESSING, intent_id, t.merchant_id, fp, at)
        event = _event_json(intent_id, "processing", 2)
        await conn.execute(
            PHASE1_WRITES,
            *(attempt_id, t.merchant_id, intent_id, fp, secrets.token_bytes(60), key, at),
            *(intent_id, t.merchant_id, "PROCESSING", 0, at),
            *_event_args(t, intent_id, "processing", 2, event, key, at),
        )
    # the bank is asked here, with no transaction open
    async with conn.transaction():  # phase 2
        await conn.fetchval(RECORD_DECISION, attempt_id, json.dumps(DECISION))
        await conn.fetchrow(GET_INTENT_FOR_ATTEMPT, attempt_id, t.merchant_id)
        event = _event_json(intent_id, "succeeded", 3)
        await conn.execute(
            PHASE2_WRITES,
            attempt_id,
            *(intent_id, t.merchant_id, "SUCCEEDED", 2000, at),
            *_event_args(t, intent_id, "succeeded", 3, event, key, at),
            *(t.merchant_id, key, event),
        )


async def read_page(conn: asyncpg.Connection, t: Target, n: int, auth: bool) -> None:
    if auth:
        await _auth(conn, t)
    tx = conn.transaction()
    await tx.start()
    await conn.fetch(LIST, t.read_merchant_id)
    await tx.rollback()


# Statements per request, BEGIN/COMMIT included, as the transactions above send them;
# run.py compares these with what PostgreSQL logged for the gateway and warns on drift.
# A replay (d) sends none: the gateway answers it from the stored response
# (nexus.schema.replay_responses), so there is no SQL to give the baselines.
STATEMENTS = {"a": 4, "b": 10, "d": 0, "e": 3}

Transaction = Callable[[asyncpg.Connection, Target, int, bool], Awaitable[None]]
TRANSACTIONS: dict[str, Transaction] = {"a": create, "b": process, "e": read_page}


async def prepare(dsn: str, target: Target) -> None:
    """Baseline rows: `bl_<n>` intents to process."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO payment_intents (id, merchant_id, amount, currency, status, capture_method, "
            "amount_capturable, amount_received, amount_refunded, client_secret, version, created_at, updated_at) "
            "SELECT 'bl_' || n, $1, 2000, 'usd', 'CREATED', 'AUTOMATIC', 0, 0, 0, 'pi_secret_bl', 1, now(), now() "
            "FROM generate_series(0, $2 - 1) AS n ON CONFLICT DO NOTHING",
            target.merchant_id,
            BASELINE_INTENTS,
        )
        await conn.execute("ANALYZE payment_intents")
    finally:
        await conn.close()


async def run(dsn: str, target: Target, scenario: str, count: int, concurrency: int, auth: bool) -> RunResult:
    transaction = TRANSACTIONS[scenario]
    size = min(concurrency, MAX_POOL)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=size,
        max_size=size,
        reset=_no_reset_query,
        server_settings={"application_name": APPLICATION_NAME},
    )
    assert pool is not None
    try:

        def make_step(worker: int) -> Callable[[int], Awaitable[str | None]]:
            async def step(n: int) -> str | None:
                async with pool.acquire() as conn:
                    await transaction(conn, target, n, auth)
                return None

            return step

        return await run_closed_loop(count, concurrency, make_step)
    finally:
        await pool.close()


async def _no_reset_query(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's reset query (`SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;`): a round trip per request that the gateway does not make (SQLAlchemy's
    pool only rolls back a transaction left open, as asyncpg's pool still does before calling this).
    With it, the baseline sent one statement more per request than the gateway."""


def timed(fn: Callable[[], Awaitable[RunResult]]) -> RunResult:
    start = time.perf_counter()
    result = asyncio.run(fn())
    result.extra["wall"] = time.perf_counter() - start
    return result

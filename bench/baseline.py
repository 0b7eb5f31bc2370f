"""The limit: the gateway's SQL for each request, sent straight to PostgreSQL.

Each request replays the statements the gateway's own services sent for one request
of the scenario, recorded by `bench.recorded` (same SQL text, same parameters and
documents, fresh ids): BEGIN, each statement, COMMIT/ROLLBACK, with the same
round-trips. No HTTP, no GraphQL, no ORM: only asyncpg with prepared statements.
run.py also counts, in PostgreSQL's log, what each side really sent, so a drift
shows. The same statements go to pgbench as custom scripts (`bench.pgbench`).

Intents for the processing scenario are pre-made rows `pi_bl<n>` of a baseline
merchant, so both baselines can address them without a round-trip of their own.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from bench import recorded
from bench.loadgen import RunResult, run_closed_loop
from nexus.db.dsn import asyncpg_dsn

# What the baseline's sessions call themselves, so bench.sqltrace can read their statements apart.
APPLICATION_NAME = "nexus-baseline"
# The gateway holds at most workers × pool 20 = 40 connections; give the baseline as many.
MAX_POOL = 40
BASELINE_INTENTS = 200_000  # enough pre-made intents that random picks in (b) rarely collide

AUTH = (
    "SELECT api_keys.id, api_keys.merchant_id, api_keys.kind FROM api_keys "
    "WHERE api_keys.key_hash = $1 AND (api_keys.expires_at IS NULL OR api_keys.expires_at > $2)"
)


@dataclass(frozen=True)
class Target:
    """Who the baseline acts as: the gateway's merchant (reads) and a baseline merchant (writes)."""

    key_hash: str
    merchant_id: str  # writes go here, so the gateway's merchant keeps its own rows
    read_merchant_id: str  # (e) reads the same page the gateway serves
    # The gateway's statements per scenario, recorded from its services by `prepare`.
    scripts: dict[str, recorded.Script] = field(default_factory=dict)


def baseline_intent(n: int) -> str:
    """The n-th pre-made intent to process: an id as long as the gateway's (`pi_` and 24 characters)."""
    return f"pi_bl{n:022d}"


def baseline_intent_sql(n: str) -> str:
    """`baseline_intent` spelled in SQL, for an integer expression `n` (prepare's rows, pgbench's picks)."""
    return f"('pi_bl' || lpad(({n})::text, 22, '0'))"


async def _auth(conn: asyncpg.Connection, t: Target) -> None:
    tx = conn.transaction()
    await tx.start()
    await conn.fetchrow(AUTH, t.key_hash, datetime.now(UTC))
    await tx.rollback()


async def create(conn: asyncpg.Connection, t: Target, n: int, auth: bool) -> None:
    if auth:
        await _auth(conn, t)
    script = t.scripts["a"]
    await script.replay(conn, script.fresh())


async def process(conn: asyncpg.Connection, t: Target, n: int, auth: bool) -> None:
    if auth:
        await _auth(conn, t)
    script = t.scripts["b"]
    await script.replay(conn, script.fresh(intent=baseline_intent(random.randrange(BASELINE_INTENTS))))


async def read_page(conn: asyncpg.Connection, t: Target, n: int, auth: bool) -> None:
    if auth:
        await _auth(conn, t)
    await t.scripts["e"].replay(conn, {})


# Statements per request, BEGIN/COMMIT included, as the transactions above send them;
# run.py compares these with what PostgreSQL logged for the gateway and warns on drift.
# A replay (d) sends none: the gateway answers it from the stored response
# (nexus.schema.replay_responses), so there is no SQL to give the baselines.
STATEMENTS = {"a": 1, "b": 10, "d": 0, "e": 3}

Transaction = Callable[[asyncpg.Connection, Target, int, bool], Awaitable[None]]
TRANSACTIONS: dict[str, Transaction] = {"a": create, "b": process, "e": read_page}


async def prepare(url: str, target: Target) -> None:
    """The gateway's statements (recorded from its services on the database at `url`, its
    SQLAlchemy URL) and the baseline's rows: `pi_bl<n>` intents to process."""
    target.scripts.update(await recorded.record(url, target.merchant_id, target.read_merchant_id))
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO payment_intents (id, merchant_id, amount, currency, status, capture_method, "
            "amount_capturable, amount_received, amount_refunded, client_secret, version, created_at, updated_at) "
            f"SELECT {baseline_intent_sql('n')}, $1, 2000, 'usd', 'CREATED', 'AUTOMATIC', 0, 0, 0, "
            "'pi_secret_bl', 1, now(), now() "
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
        init=lambda conn: _warm(conn, target.scripts.get(scenario)),
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


async def _warm(conn: asyncpg.Connection, script: recorded.Script | None) -> None:
    """A new connection's first use of some types (the attempts' text[] reasons) makes asyncpg look
    them up, with queries of its own inside that request's transaction. The gateway's pooled
    connections did so long before they are measured; so do these, before the clock starts."""
    for statement in script.statements if script else ():
        if statement.args:
            await conn.prepare(statement.sql)


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

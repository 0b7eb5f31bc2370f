"""The baselines replay the gateway's own statements (bench.recorded): a replay writes what the
gateway's services write, with fresh ids, and pgbench's scripts spell the same values."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from bench import baseline, pgbench, recorded
from nexus.config import Settings
from nexus.db.dsn import asyncpg_dsn
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.domain.status import CaptureMethod
from nexus.services import merchants, payment_intents


@dataclass
class Recorded:
    target: baseline.Target
    conn: asyncpg.Connection
    # An intent the gateway's own service made, beside the replays, to compare rows with.
    gateway_intent: str
    gateway_key: str
    database_url: str


@pytest.fixture
async def rec(database_url: str) -> AsyncIterator[Recorded]:
    engine = create_engine(database_url, Settings())
    sessions = create_sessionmaker(engine)
    try:
        m = await merchants.signup(sessions, "Recorded", f"rec-{uuid.uuid4().hex[:8]}@x.test", None)
        key = uuid.uuid4().hex[:20]
        made = await payment_intents.create(
            sessions, m.merchant.id, 2000, "usd", CaptureMethod.AUTOMATIC, None, None, key
        )
    finally:
        await engine.dispose()
    target = baseline.Target(key_hash="unused", merchant_id=m.merchant.id, read_merchant_id=m.merchant.id)
    target.scripts.update(await recorded.record(database_url, m.merchant.id, m.merchant.id))
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        yield Recorded(target, conn, made.intent.id, key, database_url)
    finally:
        await conn.close()


def _shape(sql: str) -> str:
    return sql.split("(", 1)[0].split()[0].upper()


async def test_each_request_is_the_gateways_transaction(rec: Recorded) -> None:
    scripts = rec.target.scripts
    # A create: its writes and its key as one statement, a transaction by itself, as PostgreSQL logs the gateway's.
    assert [_shape(s.sql) for s in scripts["a"].statements] == ["WITH"]
    assert [_shape(s.sql) for s in scripts["b"].statements] == [
        *["BEGIN", "INSERT", "SELECT", "WITH", "COMMIT"],
        *["BEGIN", "INSERT", "SELECT", "WITH", "COMMIT"],
    ]
    assert [_shape(s.sql) for s in scripts["e"].statements] == ["BEGIN", "SELECT", "ROLLBACK"]
    assert [s.statement_count for s in scripts.values()] == [baseline.STATEMENTS[k] for k in "abe"]


def _without(value: Any, *ids: str) -> Any:
    """Rows with what differs between any two requests spelled alike: their own ids (and key), and
    the times inside their documents (a replay's documents carry the recording's)."""
    text = json.dumps(value, default=str, sort_keys=True)
    for n, token in enumerate(ids):
        text = text.replace(token, f"<{n}>")
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "<time>", text)
    text = re.sub(r'(created\\?"): \d+', r"\1: <epoch>", text)
    return json.loads(text)


async def _rows(conn: asyncpg.Connection, intent_id: str, key: str) -> dict[str, Any]:
    intent = await conn.fetchrow("SELECT * FROM payment_intents WHERE id = $1", intent_id)
    events = await conn.fetch("SELECT * FROM events WHERE payment_intent_id = $1 ORDER BY seq", intent_id)
    stored = await conn.fetchrow("SELECT * FROM idempotency_keys WHERE key = $1", key)
    assert intent is not None and stored is not None and len(events) == 1
    skip = {"id", "seq", "created_at", "updated_at", "client_secret", "key", "fingerprint"}
    rows = {"intent": dict(intent), "event": dict(events[0]), "key": dict(stored)}
    return {name: {k: v for k, v in row.items() if k not in skip} for name, row in rows.items()}


async def test_a_replayed_create_writes_what_the_gateways_create_writes(rec: Recorded) -> None:
    script = rec.target.scripts["a"]
    replays = [script.fresh() for _ in range(2)]
    for values in replays:
        await script.replay(rec.conn, values)
    intents = [next(v for k, v in values.items() if k.startswith("pi_")) for values in replays]
    keys = [next(v for k, v in values.items() if not recorded.is_id(k)) for values in replays]
    assert len(set(intents)) == 2 and all(len(i) == len(rec.gateway_intent) for i in intents)

    gateway = await _rows(rec.conn, rec.gateway_intent, rec.gateway_key)
    gateway_event = await rec.conn.fetchval("SELECT id FROM events WHERE payment_intent_id = $1", rec.gateway_intent)
    for intent, key in zip(intents, keys, strict=True):
        replayed = await _rows(rec.conn, intent, key)
        event = await rec.conn.fetchval("SELECT id FROM events WHERE payment_intent_id = $1", intent)
        assert _without(replayed, intent, key, event) == _without(
            gateway, rec.gateway_intent, rec.gateway_key, gateway_event
        )


async def test_a_replayed_payment_succeeds_the_intent_it_is_given(rec: Recorded) -> None:
    intent = baseline.baseline_intent(7)
    # prepare's rows and pgbench's picks spell the same id in SQL.
    assert await rec.conn.fetchval(f"SELECT {baseline.baseline_intent_sql('3 + 4')}") == intent
    await rec.conn.execute(
        "INSERT INTO payment_intents (id, merchant_id, amount, currency, status, capture_method, amount_capturable, "
        "amount_received, amount_refunded, client_secret, version, created_at, updated_at) "
        "VALUES ($1, $2, 2000, 'usd', 'CREATED', 'AUTOMATIC', 0, 0, 0, 's', 1, now(), now())",
        intent,
        rec.target.merchant_id,
    )
    script = rec.target.scripts["b"]
    await script.replay(rec.conn, script.fresh(intent=intent))
    row = await rec.conn.fetchrow("SELECT status, amount_received, version FROM payment_intents WHERE id = $1", intent)
    assert dict(row) == {"status": "SUCCEEDED", "amount_received": 2000, "version": 3}
    kinds = await rec.conn.fetch("SELECT type FROM events WHERE payment_intent_id = $1 ORDER BY seq", intent)
    assert [k["type"] for k in kinds] == ["payment_intent.processing", "payment_intent.succeeded"]
    attempt = await rec.conn.fetchrow(
        "SELECT outcome, card_ciphertext FROM payment_attempts WHERE payment_intent_id = $1", intent
    )
    assert attempt["outcome"] == "approved" and attempt["card_ciphertext"] is None


async def test_the_recorder_is_not_taken_for_the_gateway(rec: Recorded) -> None:
    """bench.sqltrace reads the gateway's statements by application name: the recorder has its own."""
    recorder = recorded._Recorder(rec.database_url)
    try:
        async with recorder.engine.connect() as conn:
            name = await conn.scalar(text("SELECT current_setting('application_name')"))
    finally:
        await recorder.engine.dispose()
    assert name == recorded.APPLICATION_NAME != "nexus"


async def test_a_replayed_page_reads_the_merchants_intents(rec: Recorded) -> None:
    seen: list[asyncpg.Record] = []
    for statement in rec.target.scripts["e"].statements:
        if statement.args:
            seen = await rec.conn.fetch(statement.sql, *statement.args)
    assert rec.gateway_intent in {r["id"] for r in seen}


async def test_pgbench_scripts_use_only_their_own_variables(rec: Recorded) -> None:
    for scenario in "abe":
        text = pgbench.script(scenario, rec.target, False)
        # `:name` is a pgbench variable everywhere in a script, literals included (`::type` is a cast).
        assert set(re.findall(r"(?<!:):(\w+)", text)) <= {"client_id", "r", "i"}, scenario


def test_a_document_spelled_for_pgbench_is_the_same_json() -> None:
    doc = {"created_at": "2026-11-28T19:45:28.0917+00:00", "livemode": False, "n": [1, {"a": None}]}
    literal = pgbench._value(json.dumps(doc, separators=(",", ":")), None, {}, True)
    assert re.search(r":\w", literal) is None
    assert json.loads(literal[1:-1].replace("''", "'")) == doc
